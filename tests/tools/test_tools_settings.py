"""ToolSettings: passed value > environment > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import ToolSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SMTP_HOST", "SMTP_PORT", "SMTP_FROM", "WORKSPACE", "CORPUS_DIR", "OUTBOX"):
        monkeypatch.delenv(f"AGENT_GRAPHS_{var}", raising=False)
    settings = ToolSettings.from_env()
    assert settings.workspace == Path("./workspace")
    assert settings.corpus_dir is None
    assert settings.outbox == Path("./.agent_graphs/outbox.jsonl")
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_from) == (
        None,
        25,
        "agent@localhost",
    )


def test_environment_then_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENT_GRAPHS_SMTP_HOST", "mail.internal")
    monkeypatch.setenv("AGENT_GRAPHS_SMTP_PORT", "2525")
    monkeypatch.setenv("AGENT_GRAPHS_SMTP_FROM", "bot@acme.example")
    monkeypatch.setenv("AGENT_GRAPHS_CORPUS_DIR", str(tmp_path))
    settings = ToolSettings.from_env()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_from) == (
        "mail.internal",
        2525,
        "bot@acme.example",
    )
    assert settings.corpus_dir == tmp_path
    # A passed value wins even when it equals the default.
    passed = ToolSettings.from_env(smtp_port=25, workspace=str(tmp_path / "ws"), corpus_dir="")
    assert passed.smtp_port == 25
    assert passed.workspace == tmp_path / "ws"
    assert passed.corpus_dir is None  # "" (as Context spells "bundled") means bundled


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(TypeError, match="smtp_hots"):
        ToolSettings.from_env(smtp_hots="x")
