"""Kill the real CLI with SIGKILL at a chosen instant, then restart it until the run ends.

Usage:
    python -m tests.procs.crash_child once KILL -- CLI ARGS...
        One CLI process armed to SIGKILL itself at KILL (see ``arm``).
    python -m tests.procs.crash_child sweep DIR RESULTS.json [WORKERS]
        A pre-imported parent that runs once without a kill, counting the calls of
        every hook, then, for each such call (before it and after it), drives a whole
        run (start, approve, restart after the kill...) in processes it forks: each one
        a real process with nothing but the disk in common with the one killed before
        it, for milliseconds instead of the ~1 s an interpreter takes to import
        LangGraph. It writes what happened to RESULTS.json; the test checks the disk.

The scripted models answer from what is bound to each call, not from a script, so any
node may be replayed any number of times after a kill.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.sqlite import SqliteSaver

import tools.email
from agent_graphs import cli
from agent_graphs.plan_execute import graph as _plan_execute  # noqa: F401 - pre-import
from checkpoints import audit
from tests.fakes import bound_tool_names, call, install

THREAD = "t-crash"
EMAIL = {"to": "vp@acme.example", "subject": "Q2 revenue", "body": "Up 12%."}
MODELS = ["--planner-model", "fake:planner", "--executor-model", "fake:executor",
          "--critic-model", "fake:critic"]
MAX_PROCESSES = 10
# A postgresql:// URL: each run gets a fresh schema in that database (else a SQLite file).
DB_ENV = "CRASH_CHILD_DB"


# --- scripted models that tolerate replays -----------------------------------------------


def _planner(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
    if "Plan" in bound_tool_names(bound):
        return call("Plan", steps=[{"id": "s1", "description": "email the VP the Q2 figure",
                                    "tool": "send_email", "args": EMAIL, "depends_on": [],
                                    "expected_output": "a confirmation"}])
    return "Emailed the VP."


def _executor(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    return call("send_email", **EMAIL)


def _critic(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    return call("StepEvaluation", success=True, issues="", suggestion="")


def install_models() -> None:
    """Register fake:planner/executor/critic answering by what each call binds."""
    install(fallbacks={"planner": _planner, "executor": _executor, "critic": _critic})


# --- kill points -------------------------------------------------------------------------

COUNTS: Counter[str] = Counter()


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _hooked(name: str, real: Any, kill: dict[str, Any] | None) -> Any:
    """Wrap ``real`` so its Nth call SIGKILLs the process before or after it runs."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        COUNTS[name] += 1
        hit = kill is not None and kill["hook"] == name and kill["n"] == COUNTS[name]
        if hit and kill["when"] == "before":
            _die()
        result = real(*args, **kwargs)
        if hit and kill["when"] == "after":
            _die()
        return result

    return wrapper


def arm(kill: dict[str, Any] | None) -> None:
    """Count (and with ``kill``, die at) checkpoint writes, audit writes and the email.

    ``kill`` is ``{"hook": H, "n": N, "when": "before" | "after"}`` with H one of:
    ``put`` / ``put_writes`` (the saver: a checkpoint / a task's writes), ``audit``
    (checkpoints.audit.record), ``append`` (tools.email's outbox write: before it, or
    after it returned, fsynced, before send_email returns) and ``fsync`` (the outbox
    line is written and flushed but not yet fsynced).
    """
    for saver in (SqliteSaver, PostgresSaver):
        saver.put = _hooked("put", saver.put, kill)
        saver.put_writes = _hooked("put_writes", saver.put_writes, kill)
    audit.record = _hooked("audit", audit.record, kill)
    tools.email._append = _hooked("append", tools.email._append, kill)
    # tools.email is the only caller of os.fsync in these runs (SQLite syncs in C).
    tools.email.os.fsync = _hooked("fsync", os.fsync, kill)


def parse_kill(text: str) -> dict[str, Any] | None:
    """``put:3:after`` -> {"hook": "put", "n": 3, "when": "after"}; ``none`` -> None."""
    if text == "none":
        return None
    hook, n, when = text.split(":")
    return {"hook": hook, "n": int(n), "when": when}


# --- one process, or a whole run of forked processes -------------------------------------


def _cli_in_fork(workdir: Path, argv: list[str], kill: dict[str, Any] | None,
                 log: str) -> tuple[int, dict[str, int]]:
    """Run the CLI in a forked process; return its exit code (-9: killed) and counts."""
    counts_file = workdir / f"{log}.counts.json"
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 99
        try:
            os.chdir(workdir)
            fd = os.open(workdir / f"{log}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            install_models()
            arm(kill)
            code = cli.main(argv)
        except BaseException:  # noqa: BLE001 - reported through the log and exit code
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            counts_file.write_text(json.dumps(COUNTS))
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    return code, counts


def _database(workdir: Path) -> str:
    """A SQLite file in ``workdir``, or a fresh schema in ``$CRASH_CHILD_DB``."""
    base = os.environ.get(DB_ENV)
    if not base:
        return str(workdir / "db.sqlite")
    import psycopg

    from checkpoints import postgres

    schema = "k_" + os.urandom(8).hex()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{base.split('?')[0]}?options=-csearch_path%3D{schema}"
    postgres.setup(url)
    return url


def drive(workdir: Path, kill: dict[str, Any] | None, phase: int) -> dict[str, Any]:
    """Start a run, approve what waits, restart after any kill, until it is done.

    ``kill`` arms process number ``phase`` only: 0 is ``run``, 1 the first
    ``resume --approve``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    db = _database(workdir)
    common = ["--db", db]
    run = [*common, "run", "Email the VP the Q2 revenue", "--thread", THREAD, *MODELS,
           "--outbox", str(workdir / "outbox.jsonl"), "--workspace", str(workdir / "ws")]
    steps: list[dict[str, Any]] = []
    argv, approvals = run, 0
    for i in range(MAX_PROCESSES):
        armed = kill if (phase == 0 and i == 0) or (
            phase == 1 and argv[-1] == "--approve" and approvals == 1) else None
        code, counts = _cli_in_fork(workdir, argv, armed, f"p{i}")
        steps.append({"argv": argv[len(common):], "code": code, "armed": armed is not None,
                      "counts": counts})
        if code == cli.EXIT_OK:
            break
        if code == cli.EXIT_APPROVAL:
            approvals += 1
            argv = [*common, "resume", THREAD, "--approve"]
        elif code == cli.EXIT_USAGE and argv[len(common)] == "resume":
            argv = run  # killed before the thread's first checkpoint: start it again
        else:  # killed, or stopped with an error: continue from the last checkpoint
            argv = [*common, "resume", THREAD]
    return {"workdir": str(workdir), "db": db, "kill": kill, "phase": phase, "steps": steps,
            "killed": any(s["code"] == -signal.SIGKILL for s in steps),
            "finished": steps[-1]["code"] == cli.EXIT_OK}


def kill_points(counts: list[dict[str, int]]) -> list[tuple[int, dict[str, Any]]]:
    """Every (phase, kill) a run without kills passes: each counted call, before and after."""
    return [
        (phase, {"hook": hook, "n": n, "when": when})
        for phase, seen in enumerate(counts)
        for hook, total in sorted(seen.items())
        for n in range(1, total + 1)
        for when in ("before", "after")
    ]


def sweep(base: str, results_path: str, workers: str = "2") -> int:
    """Run once without a kill to count the hooks' calls, then once per kill point.

    The kill points are shared out to ``workers`` forked drivers (one per core).
    """
    root = Path(base)
    clean = drive(root / "clean", None, 0)
    counts = [s["counts"] for s in clean["steps"]]
    points = [(root / f"k{i:02d}-p{phase}-{kill['hook']}-{kill['n']}-{kill['when']}", kill,
               phase) for i, (phase, kill) in enumerate(kill_points(counts))]
    shares = [points[w::int(workers)] for w in range(int(workers))]
    pids = []
    for w, share in enumerate(shares):
        pid = os.fork()
        if pid == 0:
            code = 99
            try:
                done = [drive(workdir, kill, phase) for workdir, kill, phase in share]
                (root / f"worker{w}.json").write_text(json.dumps(done))
                code = 0
            except BaseException:  # noqa: BLE001 - the test sees the missing results
                traceback.print_exc()
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    results = []
    for w in range(len(shares)):
        part = root / f"worker{w}.json"
        results += json.loads(part.read_text()) if part.exists() else []
    results.sort(key=lambda r: r["workdir"])
    Path(results_path).write_text(json.dumps({"clean": clean, "points": len(points),
                                              "results": results}, indent=1))
    return 0


def main() -> int:
    mode, *rest = sys.argv[1:]
    if mode == "sweep":
        return sweep(*rest)
    if mode == "once":
        kill, sep, *argv = rest
        assert sep == "--", "usage: crash_child once KILL -- ARGS"
        install_models()
        arm(parse_kill(kill))
        return cli.main(argv)
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main())
