"""The CLI in real processes: pause at an approval, resume in another process, survive
SIGKILL, list and show threads. Every test runs on a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["--planner-model", "fake:planner", "--executor-model", "fake:executor",
          "--critic-model", "fake:critic"]


@pytest.fixture(autouse=True)
def _db(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The child processes find the database through $AGENT_GRAPHS_DB."""
    monkeypatch.setenv("AGENT_GRAPHS_DB", database)


def cli(tmp_path: Path, scenario: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tests.procs.cli_child", scenario, "--", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_approval_pauses_then_resumes_in_a_new_process(tmp_path):
    outbox = tmp_path / "outbox.jsonl"
    common = [*MODELS, "--outbox", str(outbox)]
    first = cli(tmp_path, "email_start", "run", "Email the VP", "--thread", "t-email", *common)
    assert first.returncode == 3, first.stdout + first.stderr
    assert "WAITING FOR APPROVAL" in first.stdout
    assert "agent-graphs resume t-email" in first.stdout and "--approve" in first.stdout
    assert not outbox.exists()

    listed = cli(tmp_path, "email_resume", "threads", "--json")
    threads = json.loads(listed.stdout)["threads"]
    assert [(t["thread_id"], t["status"]) for t in threads] == [("t-email", "waiting")]
    assert threads[0]["interrupts"][0]["value"]["tool"] == "send_email"

    # the second process gets its settings back from the checkpoint: no flags needed
    second = cli(tmp_path, "email_resume", "resume", "t-email", "--approve")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Email sent to the VP." in second.stdout
    lines = outbox.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["to"] == "vp@acme.example"

    shown = cli(tmp_path, "email_resume", "show", "t-email", "--history")
    assert shown.returncode == 0 and "done" in shown.stdout and "send_email" in shown.stdout


def test_sigkill_mid_run_then_resume_redoes_nothing_finished(tmp_path):
    first = cli(tmp_path, "crash_start", "run", "Compute", "--thread", "t-crash", *MODELS)
    assert first.returncode == -signal.SIGKILL, first.stdout + first.stderr
    assert "> s1 calculator" in first.stdout and "ok 42" in first.stdout  # died in s2

    second = cli(tmp_path, "crash_resume", "resume", "t-crash", "--json")
    assert second.returncode == 0, second.stdout + second.stderr
    final = json.loads(second.stdout.splitlines()[-1])
    assert final["status"] == "done"
    assert final["state"]["results"]["s2"]["output"] == "43"
    assert final["state"]["final_answer"] == "43"


def test_json_mode_streams_events_and_usage_errors(tmp_path):
    bad = cli(tmp_path, "crash_resume", "resume", "no-such-thread")
    assert bad.returncode == 2 and "no thread" in bad.stderr
