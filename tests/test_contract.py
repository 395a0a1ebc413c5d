"""The contract every graph in GRAPHS keeps, checked the same way for each.

Each graph runs to an answer with scripted models, stores its settings with the thread,
pauses at an approval and resumes (in memory, on SQLite, and in a new process through the
CLI), and its diagram in the README is current (tests/test_diagrams.py). A new graph is
covered by adding one line to tests/contracts.py; the first test fails until it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from agent_graphs.graphs import GRAPHS, compile_graph, run_config, saved_context
from tests.contracts import CONTRACTS, case, context_for, register

ROOT = Path(__file__).resolve().parents[1]
GRAPH_IDS = sorted(GRAPHS)


def _sent(dirs: dict[str, str]) -> int:
    path = Path(dirs["outbox"])
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_every_graph_has_contract_cases():
    assert set(CONTRACTS) == set(GRAPHS)
    for graph_id in GRAPH_IDS:
        assert {"answer", "approval"} <= set(
            __import__(CONTRACTS[graph_id], fromlist=["CASES"]).CASES)


@pytest.mark.parametrize("graph_id", GRAPH_IDS)
def test_runs_to_an_answer_and_stores_its_settings(graph_id, checkpointer, dirs):
    c = case(graph_id, "answer")
    register()
    context = context_for(graph_id, "answer", **dirs)
    graph = compile_graph(graph_id, checkpointer)
    # No settings in the config's metadata: as from Studio or plain Python, the graph
    # itself must store them with the thread.
    config = {"configurable": {"thread_id": "t1"}, "recursion_limit": 500}
    graph.invoke(c["input"], config, context=context, durability="sync")
    values = graph.get_state(config).values
    assert values["status"] == "done", values.get("final_answer")
    assert values["final_answer"].strip()
    stored = saved_context(checkpointer.get_tuple(config))
    assert stored["outbox"] == dirs["outbox"]
    assert all(stored[k] == v for k, v in context.items())


@pytest.mark.parametrize("graph_id", GRAPH_IDS)
def test_pauses_for_approval_and_resumes(graph_id, checkpointer, dirs):
    c = case(graph_id, "approval")
    register()
    graph = compile_graph(graph_id, checkpointer)
    config = run_config("t1", graph_id=graph_id)
    context = context_for(graph_id, "approval", **dirs)
    graph.invoke(c["input"], config, context=context, durability="sync")
    paused = 0
    while (pending := graph.get_state(config).interrupts) and paused < 10:
        paused += 1
        assert _sent(dirs) == 0  # nothing irreversible before a person said yes
        graph.invoke(Command(resume={i.id: "approve" for i in pending}), config,
                     context=context, durability="sync")
    assert paused >= 1, "the approval case never paused"
    assert graph.get_state(config).values["status"] == "done"
    assert _sent(dirs) == c.get("sends", 1)


def _cli(db: Path | str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "AGENT_GRAPHS_MODEL_PLUGINS": "tests.procs.case_models"}
    return subprocess.run(
        [sys.executable, "-m", "agent_graphs.cli", "--db", str(db), *argv],
        cwd=os.getcwd(), env=env, capture_output=True, text=True, timeout=300,
    )


def _flags(context: dict[str, Any]) -> list[str]:
    """The CLI flags that pass ``context`` (flags are generated from Context's fields)."""
    flags: list[str] = []
    for key, value in context.items():
        flag = key.replace("_", "-")
        if isinstance(value, bool):
            flags.append(f"--{flag}" if value else f"--no-{flag}")
        else:
            flags += [f"--{flag}", json.dumps(value) if isinstance(value, dict | list)
                      else str(value)]
    return flags


@pytest.mark.parametrize("graph_id", GRAPH_IDS)
def test_resumes_an_approval_in_a_new_process(graph_id, database, dirs):
    c = case(graph_id, "approval")
    db = database  # a SQLite file, then a PostgreSQL URL
    extra = {k: v for k, v in c["input"].items() if k != "goal"}
    started = _cli(db, "run", c["input"]["goal"], "--graph", graph_id,
                   "--thread", "contract", "--input", json.dumps(extra),
                   *_flags(context_for(graph_id, "approval", **dirs)))
    assert started.returncode == 3, started.stdout + started.stderr
    for _ in range(10):  # each new process answers whatever waits, with stored settings
        resumed = _cli(db, "resume", "contract", "--approve")
        if resumed.returncode != 3:
            break
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "=== DONE" in resumed.stdout
    assert _sent(dirs) == c.get("sends", 1)
