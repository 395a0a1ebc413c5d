"""SIGKILL in the middle of the planning agent's DAG, resumed from SQLite in a new process.

The first process dies while some tasks are finished (on disk in the journal) and one is
still running; a fresh interpreter resumes the thread: no finished task runs again, each
task gets its own dependencies' values, and the report states every right result.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from agent_graphs.planning_agent.report import trace_figures
from tests.llm_compiler.test_compiler_crash import ENV, ROOT, _calls
from tests.planning_agent.agent_child import DAG, HELD, expected_values


def _child(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tests.planning_agent.agent_child", "dag",
                           *argv], cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("kill_after", [1, 3, 5])
def test_a_sigkill_mid_dag_resumes_without_rerunning_finished_tasks(tmp_path, kill_after):
    first = _child(str(tmp_path), str(kill_after))
    assert first.returncode == -signal.SIGKILL, first.stdout + first.stderr[-3000:]
    journaled = json.loads((tmp_path / "journaled.json").read_text())
    assert len(journaled) >= kill_after and HELD not in journaled
    calls = _calls(tmp_path)
    pid_a = calls[0][0]
    assert ("start", HELD) in [(kind, label) for _, kind, label in calls]  # killed mid-task
    assert ("end", HELD) not in [(kind, label) for _, kind, label in calls]

    second = _child(str(tmp_path), "0")  # a fresh interpreter resumes from the file
    assert second.returncode == 0, second.stdout + second.stderr[-3000:]
    final = json.loads((tmp_path / "final.json").read_text())
    assert final["status"] == "done", final.get("final_answer")
    in_b = [(kind, label) for pid, kind, label in _calls(tmp_path) if pid != pid_a]
    assert ("planner", "") not in in_b  # the plan came from the checkpoint
    started_b = [label for kind, label in in_b if kind == "start"]
    assert sorted(started_b) == sorted({t["id"] for t in DAG} - set(journaled))  # once each

    right = expected_values()
    assert {sid: float(r["output"]) for sid, r in final["results"].items()} == right
    assert final["results"]["s7"]["args"]["given"] == f"{right['s4']:g} {right['s5']:g}"
    traces = {t.figure: t.step for t in trace_figures(final["report"], final["results"])}
    assert traces == {f"{v:g}": sid for sid, v in right.items()}  # each from its own step
    for sid, value in right.items():
        assert f"- {sid} = {value:g}" in final["final_answer"]
