"""A search killed mid-way (SIGKILL of a real process) resumes from its SQLite file in a
new process: the same tree, and no model call of a finished phase is made again.

Each case kills the child at one model call: the process dies inside that phase, before
the call is answered. A second process resumes the thread from the file alone. The
result must equal a clean run's tree node for node, and the call log across both
processes may repeat only calls of the phase that was cut short (LangGraph re-runs the
interrupted node; every node before it stored its writes).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from checkpoints import open_saver

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def child(folder: Path, *kill: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.lats.lats_child", str(folder / "db.sqlite"), "t",
         str(folder / "calls.jsonl"), *kill],
        cwd=folder, env=ENV, capture_output=True, text=True, timeout=180,
    )


def calls(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "calls.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("clean")
    done = child(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return {**json.loads(done.stdout.splitlines()[-1]), "calls": calls(folder)}


def test_the_clean_run_solves_the_puzzle(clean):
    assert clean["status"] == "done"
    assert clean["final_answer"] == "((5 - (1 / 5)) * 5) = 24"
    roles = Counter(c["role"] for c in clean["calls"])
    # three expansions, two of them scored (one value call each, all candidates at once;
    # the last one's moves finish the puzzle and are verified, not judged)
    assert roles == {"policy": 3, "value": 2}
    assert clean["model_calls"] == 5


@pytest.mark.parametrize(("kill", "role", "phase"), [
    ("policy:2", "policy", slice(1, 2)),  # inside the second expansion
    ("value:2", "value", slice(1, 2)),  # inside the second evaluation (one batched call)
])
def test_killed_mid_search_resumes_with_the_same_tree(tmp_path, clean, kill, role, phase):
    first = child(tmp_path, kill)
    assert first.returncode == -signal.SIGKILL, first.stdout + first.stderr
    with open_saver(tmp_path / "db.sqlite") as saver:
        from agent_graphs.lats.graph import builder

        state = builder.compile(checkpointer=saver).get_state(
            {"configurable": {"thread_id": "t"}})
    stored = state.values["tree"]
    assert 1 < len(stored) < len(clean["tree"]) and "final_answer" not in state.values
    assert state.next  # the interrupted node is still to run
    killed_log = calls(tmp_path)

    second = child(tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    resumed = json.loads(second.stdout.splitlines()[-1])
    assert resumed["status"] == "done"
    assert resumed["tree"] == clean["tree"]  # node for node: ids, actions, values, visits
    for nid, node in stored.items():  # the search went on from the stored tree
        assert resumed["tree"][nid]["action"] == node["action"]

    everything = calls(tmp_path)
    after = everything[len(killed_log):]
    assert {c["pid"] for c in after}.isdisjoint({c["pid"] for c in killed_log})
    # every call of the clean run was made; only the call cut short was made twice
    made = Counter((c["role"], c["prompt"]) for c in everything)
    assert set(made) == {(c["role"], c["prompt"]) for c in clean["calls"]}
    repeated = {key for key, n in made.items() if n > 1}
    cut_short = {(role, c["prompt"]) for c in
                 [c for c in clean["calls"] if c["role"] == role][phase]}
    assert repeated and repeated <= cut_short
    assert all(n <= 2 for n in made.values())
