"""Shared fixtures: an isolated working directory and checkpointers to run graphs on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent_graphs import models
from checkpoints import open_saver

pytest_plugins = ["tests.pg"]  # the session's PostgreSQL server, `database`, `pg_database`


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in its own folder with no provider configured and no tracing."""
    monkeypatch.chdir(tmp_path)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LANGSMITH_API_KEY", "AGENT_GRAPHS_MODEL",
                "AGENT_GRAPHS_DB", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def _no_leftover_fakes() -> Iterator[None]:
    """Scripted models registered by a test do not answer for the next one."""
    yield
    models.unregister_provider("fake")


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def checkpointer(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """Every durable test runs three times: in memory, on a real SQLite file and on a real
    PostgreSQL database (whose URL is also ``$AGENT_GRAPHS_DB``, so the audit goes there)."""
    if request.param == "memory":
        yield InMemorySaver()
    elif request.param == "sqlite":
        with open_saver(tmp_path / "checkpoints.sqlite") as saver:
            yield saver
    else:
        with open_saver(request.getfixturevalue("pg_database")) as saver:
            yield saver


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, str]:
    """Context values that keep the workspace and outbox inside the test's folder."""
    return {"workspace": str(tmp_path / "ws"), "outbox": str(tmp_path / "outbox.jsonl")}
