"""An approved HIGH-risk action runs exactly once, whenever the process is SIGKILLed.

LangGraph re-runs a node from its start on resume, so the email's idempotency key (made
in ``execute``, kept in the state) and the outbox's check of it are what stop a second
send. The sweep kills the real CLI at every checkpoint write (the saver's ``put`` /
``put_writes``), every audit write, and inside the email tool (before the outbox line,
after it but before fsync, after fsync before returning), each before and after the
call, in the process that starts the run and in the one that approves it. After each
kill it restarts the CLI until the run is done, then counts the side effects on disk.
Every test runs on SQLite and on PostgreSQL (``database``; a fresh schema per run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from checkpoints import audit, get_thread, is_postgres, open_saver
from tests.procs.crash_child import DB_ENV, EMAIL, MODELS, THREAD
from tools.email import read_outbox

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("AGENT_GRAPHS_SMTP_HOST", None)


def side_effects(workdir: Path, db: str) -> dict:
    """What a run left on disk: emails by key, audit records by kind, final status."""
    sent = read_outbox(workdir / "outbox.jsonl")
    with open_saver(db) as saver:
        info = get_thread(saver, THREAD)
    return {
        "emails": Counter(m["idempotency_key"] for m in sent),
        "audit": Counter(r.kind for r in audit.read(thread_id=THREAD, path=db)),
        "status": info.values.get("status") if info else None,
        "waiting": bool(info and info.interrupts),
    }


EXPECTED_AUDIT = {"approval_requested": 1, "approval_decided": 1, "tool_executed": 1}


def test_sigkill_at_every_write_never_sends_twice_and_never_loses_the_email(tmp_path, database):
    results = tmp_path / "results.json"
    env = {**ENV, DB_ENV: database} if is_postgres(database) else ENV
    proc = subprocess.run(
        [sys.executable, "-m", "tests.procs.crash_child", "sweep", str(tmp_path), str(results)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(results.read_text())

    clean = report["clean"]
    assert clean["finished"] and not clean["killed"]
    assert [s["code"] for s in clean["steps"]] == [3, 0]  # waits, then approved: done
    [key] = side_effects(Path(clean["workdir"]), clean["db"])["emails"]
    assert key.startswith(f"{THREAD}:s1:")

    points = report["results"]
    assert len(points) == report["points"] >= 20
    covered = {(r["phase"], r["kill"]["hook"]) for r in points}
    assert covered >= {(0, "put"), (0, "put_writes"), (0, "audit"), (1, "put"),
                       (1, "put_writes"), (1, "audit"), (1, "append"), (1, "fsync")}
    problems, restarts = [], Counter()
    for r in points:
        found = side_effects(Path(r["workdir"]), r["db"])
        label = f"phase {r['phase']} {r['kill']} codes {[s['code'] for s in r['steps']]}"
        restarts[len(r["steps"])] += 1
        if not r["killed"]:
            problems.append(f"{label}: the kill point was never reached")
        if not r["finished"] or found["status"] != "done" or found["waiting"]:
            problems.append(f"{label}: the run did not finish: {found}")
        if found["emails"] != Counter({key: 1}):  # same key in every run: same thread/step
            problems.append(f"{label}: emails sent {dict(found['emails'])}")
        if found["audit"] != EXPECTED_AUDIT:
            problems.append(f"{label}: audit {dict(found['audit'])}")
    assert not problems, "\n".join(problems)
    # the runs really were cut short and restarted, not run straight through
    assert all(r["steps"][r["phase"]]["code"] == -signal.SIGKILL for r in points)
    assert sum(restarts.values()) == len(points) and min(restarts) >= 3


def _once(tmp_path: Path, db: str, kill: str, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.procs.crash_child", "once", kill, "--", "--db", db, *argv],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120,
    )


def test_killed_after_the_send_in_fresh_interpreters(tmp_path, database):
    """The same property with nothing shared but the disk: three separate interpreters."""
    outbox = tmp_path / "outbox.jsonl"
    first = _once(tmp_path, database, "none", "run", "Email the VP", "--thread", THREAD, *MODELS,
                  "--outbox", str(outbox), "--workspace", str(tmp_path / "ws"))
    assert first.returncode == 3, first.stdout + first.stderr
    assert "WAITING FOR APPROVAL" in first.stdout
    # approved, the email written and fsynced, then killed before the tool returns
    second = _once(tmp_path, database, "append:1:after", "resume", THREAD, "--approve",
                   "--by", "erin")
    assert second.returncode == -signal.SIGKILL, second.stdout + second.stderr
    assert len(read_outbox(outbox)) == 1
    third = _once(tmp_path, database, "none", "resume", THREAD, "--json")
    assert third.returncode == 0, third.stdout + third.stderr
    final = json.loads(third.stdout.splitlines()[-1])
    assert final["status"] == "done"
    assert "Email already sent" in final["state"]["results"]["s1"]["output"]
    [sent] = read_outbox(outbox)
    assert {k: sent[k] for k in EMAIL} == EMAIL
    assert sent["idempotency_key"] == final["state"]["results"]["s1"]["key"]
    found = side_effects(tmp_path, database)
    assert found["audit"] == EXPECTED_AUDIT
    executed = [r for r in audit.read(thread_id=THREAD, path=database)
                if r.kind == "tool_executed"]
    assert [r.actor for r in executed] == ["erin"]
