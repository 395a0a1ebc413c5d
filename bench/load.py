"""Load: many worker processes on one database, SQLite and PostgreSQL side by side.

Run: ``python bench/load.py [--workers 4] [--threads 50] [--latency 0.2]
[--backends sqlite,postgres,postgres-async-commit]``. Writes the table to
``bench/results/load.md`` (only with the defaults).

Each backend gets ``--workers`` processes on one fresh database (SQLite: one WAL file;
PostgreSQL: a server this script starts with tests/pg.py, PostgreSQL's default durability
settings, fsync on; ``postgres-async-commit``: the same with ``synchronous_commit=off``). Every process opens one saver and runs ``--threads`` threads of
``plan_execute`` at once (one Python thread each), through the same pieces the CLI
uses: ``thread_lock`` around every run and resume, ``durability="sync"``, the audit
trail, the outbox. Every model call is a scripted reply after a fixed ``--latency``.

1. **start**: each worker starts its threads; each plans ``6*7`` then an email, runs the
   calculator and pauses for approval of the email (HIGH risk).
2. **approve**: each worker answers the approvals of the threads *another* worker started
   (found with ``pending_approvals``), as ``worker<w>``, and runs them to the end.

Measured: threads/s (all threads / wall time of both phases), the time from an answer
(just before ``invoke(Command(resume=...))``) to the email tool being entered, p50/p95;
errors (an exception, or a thread not in the state it should be); lost actions (an
approved thread without its email in the outbox) and duplicated ones (an idempotency key
twice in the outbox, or the graph calling the email tool twice for one thread).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "load.md"
EMAIL = {"to": "vp@acme.example", "subject": "Q2 revenue", "body": "Up 12%."}
CALLS: list[int] = []  # one item per model call in this worker process


# --- one worker process --------------------------------------------------------------------


def _scripted(latency: float) -> None:
    """Register fake:<role> models that answer any call after ``latency`` seconds."""
    from langchain_core.messages import AIMessage, BaseMessage

    from tests.fakes import bound_tool_names, call, install

    def answer(_messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
        CALLS.append(1)
        time.sleep(latency)
        names = bound_tool_names(bound)
        if "Plan" in names:
            return call("Plan", steps=[
                {"id": "s1", "description": "compute", "tool": "calculator",
                 "args": {"expression": "6*7"}, "depends_on": [], "expected_output": "42"},
                {"id": "s2", "description": "email the VP", "tool": "send_email",
                 "args": EMAIL, "depends_on": ["s1"], "expected_output": "sent"}])
        if "StepEvaluation" in names:
            return call("StepEvaluation", success=True, issues="", suggestion="")
        if "calculator" in names:
            return call("calculator", expression="6*7")
        if "send_email" in names:
            return call("send_email", **EMAIL)
        return "Computed 42 and emailed the VP."

    install(fallbacks=dict.fromkeys(("planner", "executor", "critic"), answer))


def _worker(args: argparse.Namespace) -> int:
    from langgraph.types import Command

    from agent_graphs.context import context_from
    from agent_graphs.graphs import compile_graph, run_config
    from agent_graphs.hitl import pending_approvals, resume_map
    from checkpoints import get_thread, open_saver, thread_lock
    from tools import Toolbox

    _scripted(args.latency)
    os.environ["AGENT_GRAPHS_DB"] = args.db  # where nodes write the audit trail (as the CLI)
    entered: dict[str, list[float]] = {}  # idempotency key -> when the email tool was entered
    real_run = Toolbox.run

    def timed_run(self: Toolbox, name: str, tool_args: dict[str, Any], **kw: Any) -> str:
        if name == "send_email":
            entered.setdefault(str(kw.get("idempotency_key")), []).append(time.time())
        return real_run(self, name, tool_args, **kw)

    Toolbox.run = timed_run  # type: ignore[method-assign,assignment]
    settings = {"planner_model": "fake:planner", "executor_model": "fake:executor",
                "critic_model": "fake:critic", "outbox": args.outbox,
                "workspace": args.workspace}
    ctx = context_from(settings)
    me, n = args.worker_index, args.threads
    mine = [f"w{me}-t{i}" for i in range(n)]
    theirs = [f"w{(me + 1) % args.workers}-t{i}" for i in range(n)]
    errors: list[str] = []
    answered: dict[str, float] = {}

    with open_saver(args.db) as saver:
        graph: Any = compile_graph("plan_execute", saver)

        def start(thread: str) -> None:
            config = run_config(thread, graph_id="plan_execute", context=settings)
            with thread_lock(thread, db=args.db, wait=60):
                graph.invoke({"goal": "Compute 6*7 and email it to the VP"}, config,
                             context=ctx, durability="sync")
            info = get_thread(saver, thread)
            if info is None or info.status != "waiting":
                raise RuntimeError(f"{thread}: {info and info.status} after start")

        def approve(thread: str) -> None:
            pending = [p.interrupt_id for p in pending_approvals(saver, thread_id=thread)]
            if not pending:
                raise RuntimeError(f"{thread}: nothing waits for approval")
            config = run_config(thread, graph_id="plan_execute", context=settings)
            with thread_lock(thread, db=args.db, wait=60):
                answered[thread] = time.time()
                graph.invoke(Command(resume=resume_map(pending, "approve", by=f"worker{me}")),
                             config, context=ctx, durability="sync")
            info = get_thread(saver, thread)
            if info is None or info.values.get("status") != "done":
                raise RuntimeError(f"{thread}: {info and info.values.get('status')} after approval")

        def phase(fn: Any, threads: list[str]) -> float:
            began = time.time()

            def guarded(thread: str) -> None:
                try:
                    fn(thread)
                except Exception as err:  # noqa: BLE001 - counted, not fatal
                    errors.append(f"{thread}: {type(err).__name__}: {err}")

            with ThreadPoolExecutor(max_workers=n) as pool:
                list(pool.map(guarded, threads))
            return time.time() - began

        print("READY", flush=True)
        input()  # go
        started = phase(start, mine)
        print("STARTED", flush=True)
        input()  # approve
        approved = phase(approve, theirs)
        print(json.dumps({"worker": me, "model_calls": len(CALLS), "start_s": started,
                          "approve_s": approved, "errors": errors,
                          "answered": answered, "entered": entered}), flush=True)
    return 0


# --- the driver ----------------------------------------------------------------------------


BACKENDS = {  # name -> PostgreSQL server settings (None: SQLite)
    "sqlite": None,
    "postgres": {},
    # like SQLite's synchronous=NORMAL in WAL mode: a commit does not wait for its fsync
    "postgres-async-commit": {"synchronous_commit": "off"},
}


def _database(backend: str, root: Path) -> tuple[str, Any]:
    settings = BACKENDS[backend]
    if settings is None:
        return str(root / "load.sqlite"), None
    from tests.pg import PgServer

    server = PgServer(durable=True, max_connections=800, settings=settings).start()
    return server.create_database(), server


def _run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"load-{backend}-"))
    db, server = _database(backend, root)
    try:
        common = ["--db", db, "--workers", str(args.workers), "--threads", str(args.threads),
                  "--latency", str(args.latency), "--outbox", str(root / "outbox.jsonl"),
                  "--workspace", str(root / "ws")]
        procs = [subprocess.Popen([sys.executable, __file__, "--worker-index", str(w), *common],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  cwd=root) for w in range(args.workers)]

        def say(word: str) -> None:
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(word + "\n")
                proc.stdin.flush()

        def hear(word: str | None) -> list[str]:
            lines = []
            for proc in procs:
                assert proc.stdout is not None
                line = proc.stdout.readline().strip()
                if word is not None and line != word or word is None and not line:
                    raise RuntimeError(f"a worker failed (said {line!r}, not {word})")
                lines.append(line)
            return lines

        hear("READY")  # imported, saver open: the clock starts with every worker waiting
        began = time.time()
        say("go")
        hear("STARTED")  # every worker's threads wait for approval
        say("approve")
        reports = [json.loads(line) for line in hear(None)]
        wall = time.time() - began
        for proc in procs:
            proc.communicate(timeout=120)
        return _summary(backend, args, db, root, reports, wall)
    finally:
        if server is not None:
            server.stop()


def _summary(backend: str, args: argparse.Namespace, db: str, root: Path,
             reports: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    from checkpoints import audit
    from tools.email import read_outbox

    total = args.workers * args.threads
    answered = {t: at for r in reports for t, at in r["answered"].items()}
    entered = {k: ats for r in reports for k, ats in r["entered"].items()}
    thread_of = {k: k.split(":")[0] for k in entered}
    calls = Counter(thread_of[k] for k, ats in entered.items() for _ in ats)
    delays = sorted((min(entered[k]) - answered[thread_of[k]]) * 1000 for k in entered
                    if thread_of[k] in answered)
    sent = Counter(m["idempotency_key"].split(":")[0] for m in read_outbox(root / "outbox.jsonl"))
    executed = Counter(r.thread_id for r in audit.read(path=db, limit=10 * total)
                       if r.kind == "tool_executed" and r.data.get("tool") == "send_email")
    errors = [e for r in reports for e in r["errors"]]
    q = statistics.quantiles(delays, n=20) if len(delays) >= 2 else [float("nan")] * 19
    return {
        "backend": backend, "threads": total, "wall": wall,
        "calls": sum(r["model_calls"] for r in reports) / total,
        "start_s": max(r["start_s"] for r in reports),
        "approve_s": max(r["approve_s"] for r in reports),
        "p50": statistics.median(delays) if delays else float("nan"), "p95": q[18],
        "errors": len(errors), "error_samples": errors[:5],
        "lost": sum(1 for t in answered if sent[t] == 0),
        "dup_outbox": sum(1 for c in sent.values() if c > 1),
        "dup_calls": sum(1 for c in calls.values() if c > 1),
        "audit_ok": sum(1 for t in answered if executed[t] == 1),
        "answered": len(answered),
    }


def _table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    head = ("| backend | workers × threads | threads/s | start phase (s) | approve phase (s) "
            "| approval→tool p50 (ms) | p95 (ms) | errors | lost | duplicated (outbox / tool "
            "calls) | audit: one execution per thread | model calls per thread |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| {r['backend']} | {args.workers} × {args.threads} | {r['threads'] / r['wall']:.1f} "
        f"| {r['start_s']:.1f} | {r['approve_s']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} "
        f"| {r['errors']} | {r['lost']} | {r['dup_outbox']} / {r['dup_calls']} "
        f"| {r['audit_ok']}/{r['answered']} | {r['calls']:.1f} |\n" for r in rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=50, help="concurrent threads per worker")
    p.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    p.add_argument("--backends", default="sqlite,postgres,postgres-async-commit",
                   help=f"comma-separated, of {', '.join(BACKENDS)}")
    p.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)
    for hidden in ("--db", "--outbox", "--workspace"):
        p.add_argument(hidden, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker_index is not None:
        try:
            return _worker(args)
        except Exception:  # noqa: BLE001 - the driver sees the traceback and a bad line
            traceback.print_exc()
            return 1
    load = os.getloadavg()[0]
    rows = [_run_backend(b, args) for b in args.backends.split(",")]
    table = _table(rows, args)
    print(table)
    for r in rows:
        for sample in r["error_samples"]:
            print(f"{r['backend']} error: {sample}")
    defaults = (args.workers, args.threads, args.latency, args.backends) == (
        4, 50, 0.2, p.get_default("backends"))
    if defaults:
        import psycopg  # for the server version line

        from tests.pg import find_bin

        version = subprocess.run([str(find_bin() / "postgres"), "--version"],
                                 capture_output=True, text=True).stdout.strip()
        RESULTS.write_text(
            "# Load: 4 workers × 50 concurrent threads of plan_execute, SQLite vs PostgreSQL\n\n"
            f"{date.today()}, {platform.machine()} {platform.system()}, {os.cpu_count()} CPUs "
            f"(shared with other work: load average {load:.1f} at the start), Python "
            f"{platform.python_version()}, {version}, psycopg "
            f"{psycopg.__version__}; `python bench/load.py` (scripted models, "
            f"{args.latency * 1000:.0f} ms a call).\n\n" + table +
            "\nThreads/s: all threads over the wall time of both phases. Approval→tool: from "
            "just before `invoke(Command(resume=...))` to the email tool being entered, in "
            "the answering worker. Lost: an approved thread without its email in the outbox; "
            "duplicated: an idempotency key twice in the outbox / the graph calling the email "
            "tool twice for one thread. See the script's docstring for the setup.\n\n"
            "Everything here shares one machine's cores: the workers, their Python threads "
            "and, for PostgreSQL, the server's processes and the round trips to it. The "
            "approval→tool time is mostly queueing (each worker resumes 50 threads at "
            "once); PostgreSQL's default `synchronous_commit=on` waits for an fsync at "
            "every commit, which SQLite's `synchronous=NORMAL` (WAL) does not (third row: "
            "the same server without that wait). What PostgreSQL buys is the other "
            "machines: SQLite cannot be shared beyond one.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
