"""Many worker processes on one database (SQLite and PostgreSQL), with real processes.

- Threads of a process killed mid-run are continued by four racing ``agent-graphs worker``
  processes, each thread by exactly one of them.
- Four processes racing to answer the same approval (``resume --approve``, released
  together) run the tool once: the thread lock lets one run the thread; the others wait,
  then find it done (or give up: exit 4). The tool is counted where the graph calls it
  (``Toolbox.run``), before the outbox's idempotency key could hide a second call.
- An approval answered through one process that is SIGKILLed inside the tool is
  finished by whichever of three racing workers gets the thread: one email, one audit
  record, the approver's name on it. While the killed process still held the thread, a
  worker left it alone.
- The async saver (the dev server's) continues a thread the sync one started.

This module is also the child process: ``python -m tests.test_workers ...`` (see _child).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from langgraph.types import Command

from agent_graphs import cli
from agent_graphs.context import context_from
from agent_graphs.graphs import compile_graph, run_config, saved_context
from checkpoints import audit, list_threads, open_async_saver, open_saver, thread_lock
from tests.procs.crash_child import EMAIL, MODELS, install_models
from tools.email import read_outbox

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("AGENT_GRAPHS_SMTP_HOST", None)


# --- the child process ---------------------------------------------------------------------


def _child(argv: list[str]) -> int:
    """``killed DB DIR THREAD...``: start each thread in a fork SIGKILLed mid-run.
    ``cli TOOLLOG HOOK -- ARGS``: the CLI with scripted models; each ``Toolbox.run`` is
    logged to TOOLLOG; HOOK ``barrier`` waits for a line on stdin before starting,
    ``hold`` stops inside send_email until a line comes, ``die`` SIGKILLs itself there.
    """
    if argv[0] == "killed":
        from tests.procs.crash_child import _cli_in_fork

        db, workdir, *threads = argv[1:]
        codes = [_cli_in_fork(Path(workdir), ["--db", db, *_run_args(workdir, t)],
                              {"hook": "put", "n": 2, "when": "after"}, f"killed-{t}")[0]
                 for t in threads]
        return 0 if codes == [-signal.SIGKILL] * len(threads) else 1
    _, log, hook, sep, *args = argv
    assert sep == "--", "usage: cli TOOLLOG HOOK -- ARGS"
    install_models()
    _log_tool_calls(log, hook)
    if hook == "barrier":
        print("READY", flush=True)
        sys.stdin.readline()
    return cli.main(args)


def _log_tool_calls(log: str, hook: str) -> None:
    from tools import Toolbox

    real = Toolbox.run

    def run(self: Toolbox, name: str, args: dict[str, Any], **kwargs: Any) -> str:
        with open(log, "a", encoding="utf-8") as f:  # one short O_APPEND write per call
            f.write(json.dumps({"pid": os.getpid(), "tool": name,
                                "key": kwargs.get("idempotency_key")}) + "\n")
        if name == "send_email" and hook == "hold":
            print("IN_TOOL", flush=True)
            sys.stdin.readline()
        if name == "send_email" and hook == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, name, args, **kwargs)

    Toolbox.run = run  # type: ignore[method-assign]


def _run_args(workdir: str | Path, thread: str) -> list[str]:
    return ["run", "Email the VP the Q2 revenue", "--thread", thread, *MODELS,
            "--outbox", str(Path(workdir) / "outbox.jsonl"), "--workspace",
            str(Path(workdir) / "ws")]


# --- helpers -------------------------------------------------------------------------------


def _spawn(tmp_path: Path, hook: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.test_workers", "cli", str(tmp_path / "tools.jsonl"),
         hook, "--", *args],
        cwd=tmp_path, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def _wait_for(proc: subprocess.Popen[str], word: str) -> None:
    assert proc.stdout is not None and proc.stderr is not None
    for line in proc.stdout:  # blocks on the child's output: no sleeping
        # NOTE: "in": the tool thread's print can land inside a progress line the CLI's
        # main thread is writing at the same moment (seen: a run hung waiting here).
        if word in line:
            return
    raise AssertionError(f"child exited before {word}: {proc.wait()} {proc.stderr.read()}")


def _race(tmp_path: Path, n: int, *args: str) -> list[tuple[int, str, str]]:
    """Start ``n`` CLI processes, hold each at the barrier, release them together."""
    procs = [_spawn(tmp_path, "barrier", *args) for _ in range(n)]
    for proc in procs:
        _wait_for(proc, "READY")
    for proc in procs:  # all imported and waiting: they now start within a millisecond
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    done = [proc.communicate(timeout=240) for proc in procs]
    return [(proc.returncode, out, err) for proc, (out, err) in zip(procs, done, strict=True)]


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _tool_calls(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "tools.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _statuses(database: str) -> dict[str, str]:
    with open_saver(database) as saver:
        return {info.thread_id: info.status for info in list_threads(saver)}


def _start_waiting(database: str, tmp_path: Path, thread: str, capsys: Any) -> None:
    """Run a thread in this process until it waits for approval of the email."""
    install_models()
    assert cli.main(["--db", database, *_run_args(tmp_path, thread)]) == cli.EXIT_APPROVAL
    capsys.readouterr()


def _released(database: str, *threads: str) -> None:
    """Wait until no process holds these threads (a killed one's session may linger)."""
    for thread in threads:
        with thread_lock(thread, db=database, wait=60):
            pass


def _executed(database: str, thread: str) -> list[audit.AuditRecord]:
    return [r for r in audit.read(thread_id=thread, path=database) if r.kind == "tool_executed"]


# --- tests ---------------------------------------------------------------------------------


def test_threads_of_a_killed_process_are_continued_once_by_four_workers(
        tmp_path, database, capsys):
    threads = [f"w{i}" for i in range(6)]
    killed = subprocess.run([sys.executable, "-m", "tests.test_workers", "killed", database,
                             str(tmp_path), *threads], cwd=tmp_path, env=ENV,
                            capture_output=True, text=True, timeout=240)
    assert killed.returncode == 0, killed.stdout + killed.stderr
    assert _statuses(database) == dict.fromkeys(threads, "pending")
    _released(database, *threads)

    results = _race(tmp_path, 4, "--db", database, "worker", "--once", "--json")
    assert [code for code, _, _ in results] == [0] * 4, results
    started = Counter(x["thread_id"] for _, out, _ in results for x in _json_lines(out)
                      if x["type"] == "start")
    assert started == Counter(threads), started  # each thread by exactly one worker
    assert _statuses(database) == dict.fromkeys(threads, "waiting")

    # answered from another process (this one): each email goes out once
    install_models()
    for thread in threads:
        assert cli.main(["--db", database, "resume", thread, "--approve"]) == cli.EXIT_OK
    capsys.readouterr()
    sent = Counter(m["idempotency_key"].split(":")[0] for m in read_outbox(
        tmp_path / "outbox.jsonl"))
    assert sent == Counter(threads)
    assert all(len(_executed(database, t)) == 1 for t in threads)


def test_four_racing_resumes_of_one_approval_run_the_tool_once(tmp_path, database, capsys):
    _start_waiting(database, tmp_path, "race", capsys)
    results = _race(tmp_path, 4, "--db", database, "resume", "race", "--approve", "--json")
    assert {code for code, _, _ in results} <= {cli.EXIT_OK, cli.EXIT_BUSY}, results
    calls = [c for c in _tool_calls(tmp_path) if c["tool"] == "send_email"]
    assert len(calls) == 1, calls  # the graph ran the tool once, not the outbox deduplicating
    ran = [out for _, out, _ in results
           if any(x.get("event") == "tool_called" for x in _json_lines(out))]
    assert len(ran) == 1
    assert len(read_outbox(tmp_path / "outbox.jsonl")) == 1
    kinds = Counter(r.kind for r in audit.read(thread_id="race", path=database))
    assert kinds == {"approval_requested": 1, "approval_decided": 1, "tool_executed": 1}
    assert _statuses(database) == {"race": "done"}


def test_approved_then_killed_in_the_tool_is_finished_by_another_worker(
        tmp_path, database, capsys):
    _start_waiting(database, tmp_path, "t-kill", capsys)
    approver = _spawn(tmp_path, "hold", "--db", database, "resume", "t-kill", "--approve",
                      "--by", "ann")
    _wait_for(approver, "IN_TOOL")  # approved; its process is inside send_email now

    # the thread is stopped mid-run, but held: a worker leaves it alone
    idle = subprocess.run([sys.executable, "-m", "agent_graphs.cli", "--db", database,
                           "worker", "--once", "--json"], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=240)
    assert idle.returncode == 0 and _json_lines(idle.stdout) == [], idle.stdout + idle.stderr

    approver.send_signal(signal.SIGKILL)  # before the email: nothing was sent
    approver.communicate(timeout=60)
    assert read_outbox(tmp_path / "outbox.jsonl") == []
    assert _statuses(database) == {"t-kill": "pending"}
    _released(database, "t-kill")

    results = _race(tmp_path, 3, "--db", database, "worker", "--once", "--json")
    assert [code for code, _, _ in results] == [0] * 3, results
    finished = [x for _, out, _ in results for x in _json_lines(out) if x["type"] == "final"]
    assert [x["status"] for x in finished] == ["done"]  # one worker finished it
    calls = [c for c in _tool_calls(tmp_path) if c["tool"] == "send_email"]
    assert len(calls) == 2 and calls[0]["pid"] == approver.pid  # killed there, then redone
    [email] = read_outbox(tmp_path / "outbox.jsonl")
    assert {k: email[k] for k in EMAIL} == EMAIL
    assert [r.actor for r in _executed(database, "t-kill")] == ["ann"]


def test_the_async_saver_continues_what_the_sync_one_started(tmp_path, database, capsys):
    _start_waiting(database, tmp_path, "t-async", capsys)

    async def approve() -> dict[str, Any]:
        async with open_async_saver(database) as saver:
            tup = await saver.aget_tuple({"configurable": {"thread_id": "t-async"}})
            settings = saved_context(tup)
            graph = compile_graph("plan_execute", saver)
            config = run_config("t-async", graph_id="plan_execute", context=settings)
            [pending] = (await graph.aget_state(config)).interrupts
            with thread_lock("t-async", db=database):
                await graph.ainvoke(Command(resume={pending.id: {"action": "approve",
                                                                  "by": "bo"}}),
                                    config, context=context_from(settings), durability="sync")
            return (await graph.aget_state(config)).values

    assert asyncio.run(approve())["status"] == "done"
    assert len(read_outbox(tmp_path / "outbox.jsonl")) == 1
    assert [r.actor for r in _executed(database, "t-async")] == ["bo"]


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
