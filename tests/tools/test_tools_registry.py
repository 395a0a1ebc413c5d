"""Toolbox: names, risk, descriptions, validation, timeouts and error wrapping."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.tools import BaseTool, tool

from tools import (
    RISKS,
    Risk,
    ToolArgsError,
    Toolbox,
    ToolError,
    ToolFailed,
    ToolSettings,
    ToolTimeout,
    UnknownToolError,
)
from tools.email import read_outbox

release = threading.Event()


@tool
def slow(seconds: float) -> str:
    """Wait until released by the test.

    Args:
        seconds: Ignored; the tool waits for the test's event.
    """
    release.wait(timeout=10)
    return "done"


@tool
def broken(reason: str) -> str:
    """Always fail.

    Args:
        reason: What to complain about.
    """
    raise RuntimeError(reason)


@tool
def timing_out(host: str) -> str:
    """Fail the way a socket does.

    Args:
        host: Where to pretend to connect.
    """
    raise TimeoutError(f"connect to {host} timed out")


@pytest.fixture
def settings(tmp_path: Path) -> ToolSettings:
    return ToolSettings(
        workspace=tmp_path / "ws", corpus_dir=None, outbox=tmp_path / "outbox.jsonl"
    )


@pytest.fixture
def toolbox(settings: ToolSettings) -> Iterator[Toolbox]:
    release.clear()
    extras: dict[str, tuple[BaseTool, Risk]] = {
        "slow": (slow, Risk.LOW),
        "broken": (broken, Risk.MEDIUM),
        "timing_out": (timing_out, Risk.LOW),
    }
    yield Toolbox(settings, extra_tools=extras)
    release.set()  # let a timed-out worker thread finish


def test_names_and_declared_risks(toolbox: Toolbox) -> None:
    assert toolbox.names()[:5] == ["search", "calculator", "read_file", "write_file", "send_email"]
    for name, risk in RISKS.items():
        assert toolbox.risk(name) is risk
    assert toolbox.risk("send_email") is Risk.HIGH
    assert toolbox.risk("broken") is Risk.MEDIUM
    assert Risk.HIGH == "high"


def test_unknown_tool(toolbox: Toolbox) -> None:
    assert toolbox.risk("rm_rf") is Risk.HIGH
    with pytest.raises(UnknownToolError, match="unknown tool 'rm_rf'; known tools: search, "):
        toolbox.get("rm_rf")
    with pytest.raises(UnknownToolError):
        toolbox.run("rm_rf", {})
    with pytest.raises(UnknownToolError):
        toolbox.validate_args("rm_rf", {})


def test_describe_has_one_line_per_tool(toolbox: Toolbox) -> None:
    lines = toolbox.describe().splitlines()
    assert len(lines) == len(toolbox.names())
    assert lines[0] == (
        "- search (low): Search the company documents and return the best matching ones; "
        "args: {query: string, k: integer = 3}"
    )
    assert lines[4] == (
        "- send_email (high): Send an email to one recipient; "
        "args: {to: string, subject: string, body: string}"
    )


def test_validate_args_cleans_and_fills_defaults(toolbox: Toolbox) -> None:
    assert toolbox.validate_args("search", {"query": "revenue"}) == {"query": "revenue", "k": 3}
    assert toolbox.validate_args("search", {"query": "x", "k": "2", "junk": 1}) == {
        "query": "x",
        "k": 2,
    }
    # The model cannot forge the injected key.
    cleaned = toolbox.validate_args(
        "send_email", {"to": "a@b.example", "subject": "s", "body": "b", "idempotency_key": "x"}
    )
    assert "idempotency_key" not in cleaned


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("search", {}, "invalid arguments for search: query: Field required"),
        ("search", {"query": "x", "k": 50}, "k: Input should be less than or equal to 10"),
        ("search", {"query": "x", "k": "many"}, "k: Input should be a valid integer"),
        ("write_file", {"path": "a.txt"}, "content: Field required"),
        ("calculator", ["1+1"], "must be an object"),
    ],
)
def test_validate_args_errors_are_readable(
    toolbox: Toolbox, name: str, args: dict, message: str
) -> None:
    with pytest.raises(ToolArgsError, match="expected {") as err:
        toolbox.validate_args(name, args)
    assert message in str(err.value)
    with pytest.raises(ToolArgsError):
        toolbox.run(name, args)


def test_run_returns_tool_output(toolbox: Toolbox, settings: ToolSettings) -> None:
    assert toolbox.run("calculator", {"expression": "(13.00 - 9.20) / 9.20 * 100"}) == (
        "41.30434783"
    )
    assert "Wrote 2 bytes" in toolbox.run("write_file", {"path": "r.md", "content": "hi"})
    assert toolbox.run("read_file", {"path": "r.md"}) == "hi"
    assert "$13.00 million" in toolbox.run("search", {"query": "Q2 2026 revenue", "k": 1})


def test_run_times_out(toolbox: Toolbox) -> None:
    with pytest.raises(ToolTimeout, match="slow timed out after 0.05 seconds"):
        toolbox.run("slow", {"seconds": 1}, timeout=0.05)


def test_run_wraps_tool_exceptions(toolbox: Toolbox) -> None:
    with pytest.raises(ToolFailed, match="broken failed: RuntimeError: disk on fire") as err:
        toolbox.run("broken", {"reason": "disk on fire"})
    assert isinstance(err.value.__cause__, RuntimeError)
    with pytest.raises(ToolFailed, match="calculator failed: ValueError: .*division by zero"):
        toolbox.run("calculator", {"expression": "1/0"})
    with pytest.raises(ToolFailed, match="read_file failed: .*outside the workspace"):
        toolbox.run("read_file", {"path": "../etc/passwd"})


def test_run_inline_calls_the_tool_in_this_thread_with_the_same_errors(
    toolbox: Toolbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # timeout=None: the caller enforces its own deadline (the LLM Compiler's scheduler)
    assert toolbox.run("calculator", {"expression": "2*21"}, timeout=None) == "42"
    with pytest.raises(ToolFailed, match="broken failed: RuntimeError: disk on fire"):
        toolbox.run("broken", {"reason": "disk on fire"}, timeout=None)
    with pytest.raises(ToolFailed, match="timing_out failed: TimeoutError"):
        toolbox.run("timing_out", {"host": "mail"}, timeout=None)
    spawned: list[str] = []
    monkeypatch.setattr("tools.registry.spawn", lambda job, name="tool": spawned.append(name))
    assert toolbox.run("calculator", {"expression": "1+1"}, timeout=None) == "2"
    assert spawned == []


def test_a_timeout_raised_by_the_tool_is_a_failure_not_our_timeout(toolbox: Toolbox) -> None:
    with pytest.raises(ToolFailed, match="timing_out failed: TimeoutError"):
        toolbox.run("timing_out", {"host": "mail"})


def test_all_errors_share_a_base() -> None:
    for cls in (UnknownToolError, ToolArgsError, ToolFailed, ToolTimeout):
        assert issubclass(cls, ToolError)


def test_idempotency_key_reaches_send_email_only(toolbox: Toolbox, settings: ToolSettings) -> None:
    args = {"to": "elena.vasquez@acme.example", "subject": "Q2", "body": "Revenue $13.00M"}
    toolbox.run("send_email", args, idempotency_key="run-1:step-3")
    again = toolbox.run("send_email", args, idempotency_key="run-1:step-3")
    assert "already sent, key=run-1:step-3" in again
    assert len(read_outbox(settings.outbox)) == 1
    # Tools without the injected argument simply ignore the key.
    assert toolbox.run("calculator", {"expression": "1+1"}, idempotency_key="k") == "2"


def test_missing_corpus_is_a_tool_failure(tmp_path: Path) -> None:
    settings = ToolSettings(
        workspace=tmp_path / "ws", corpus_dir=tmp_path / "nope", outbox=tmp_path / "o.jsonl"
    )
    with pytest.raises(ToolFailed, match="search failed: FileNotFoundError: corpus folder"):
        Toolbox(settings).run("search", {"query": "revenue"})


def test_extra_tool_name_must_match(settings: ToolSettings) -> None:
    with pytest.raises(ValueError, match="is named 'broken'"):
        Toolbox(settings, extra_tools={"other": (broken, Risk.LOW)})
