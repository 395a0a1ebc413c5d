"""Resume mid-loop in a new process: a real process is SIGKILLed while the critic judges
draft 2; another process continues from the SQLite file and redoes nothing finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child(tmp_path: Path, mode: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AGENT_GRAPHS_DB": str(tmp_path / "db.sqlite")}
    return subprocess.run(
        [sys.executable, "-m", "tests.reflection.resume_child", mode, str(tmp_path / "db.sqlite")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )


def test_killed_mid_loop_then_resumed_in_a_new_process(tmp_path):
    first = child(tmp_path, "start")
    assert first.returncode == -signal.SIGKILL, first.stdout + first.stderr

    second = child(tmp_path, "resume")
    assert second.returncode == 0, second.stdout + second.stderr
    out = json.loads(second.stdout.splitlines()[-1])
    values = out["values"]
    assert values["status"] == "done" and values["approved"] is True
    assert [r["score"] for r in values["rounds"]] == [0.5, 0.7, 0.9]
    assert values["final_answer"].startswith("Draft 3:")
    # the new process judged draft 2 again (its critique was cut off) and wrote draft 3:
    # drafts 1 and 2 and round 1 came from the file
    assert out["critic_calls"] == 2 and out["writer_calls"] == 1
    assert len(values["drafts"]) == 3
