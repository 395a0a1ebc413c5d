"""The ``agent-graphs`` command: run a graph on a goal, resume, list and show threads,
list and answer approval requests, read the audit trail, continue stopped runs (worker).

Exit codes: 0 the run finished with an answer; 1 it failed or stopped with an error
(the thread stays resumable); 2 bad usage; 3 paused, waiting for a person's approval;
4 another process is running the thread (nothing was changed); 130 interrupted by
Ctrl-C (resumable).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from agent_graphs.context import context_from
from agent_graphs.graphs import GRAPHS, compile_graph, graph_roles, run_config, saved_context
from agent_graphs.hitl import find_approval, pending_approvals, resume_map, who
from agent_graphs.models import describe_model
from agent_graphs.flags import add_context_flags, context_overrides
from agent_graphs.render import Output, output_for
from checkpoints import (
    DB_ENV,
    DatabaseUnavailable,
    ThreadBusy,
    audit,
    db_target,
    describe,
    get_thread,
    history,
    list_threads,
    open_saver,
    thread_lock,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_APPROVAL, EXIT_CTRL_C = 0, 1, 2, 3, 130
EXIT_BUSY = 4
# How long run/resume wait for a thread another process holds. Mostly for a process that
# just died: PostgreSQL frees its lock when it notices the closed session (milliseconds).
LOCK_WAIT = 5.0

_REPORT_HELP = ("write the run report (Markdown: the plan as a diagram with each task's status "
                "and duration, approvals, reflection rounds, tokens per role, the source of "
                "each figure) to PATH when the command ends, paused or not")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="agent-graphs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="checkpoint database: a SQLite file or a postgresql:// URL "
                   "(default $AGENT_GRAPHS_DB or ./.agent_graphs/checkpoints.sqlite)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a graph on a goal")
    run.add_argument("goal")
    run.add_argument("--graph", default="plan_execute", choices=sorted(GRAPHS))
    run.add_argument("--thread", help="thread id (default: a new one)")
    run.add_argument("--input", metavar="JSON", type=json.loads, default={},
                     help="more input fields for graphs that take them, e.g. '{\"sources\": [...]}'")
    run.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    run.add_argument("--report", metavar="PATH", help=_REPORT_HELP)
    add_context_flags(run)

    res = sub.add_parser("resume", help="continue a paused or interrupted thread")
    res.add_argument("thread")
    res.add_argument("--graph", choices=sorted(GRAPHS),
                     help="the thread's graph, if it was not stored with it")
    decide = res.add_mutually_exclusive_group()
    decide.add_argument("--approve", action="store_true", help="approve the pending request")
    decide.add_argument("--reject", nargs="?", const="", metavar="REASON",
                        help="reject the pending request, optionally saying why")
    decide.add_argument("--edit", metavar="JSON",
                        help="approve with these arguments changed, the others as proposed, "
                             "e.g. '{\"to\": \"x@y.z\"}' (checked against the tool's schema)")
    decide.add_argument("--answer", metavar="JSON",
                        help="a raw answer (JSON), e.g. LangChain's HITL form '{\"decisions\": "
                             "[{\"type\": \"edit\", \"edited_action\": {\"name\": ..., "
                             "\"args\": {the whole call}}}]}'")
    res.add_argument("--interrupt-id", help="which pending request (default: all of them)")
    res.add_argument("--by", metavar="NAME",
                     help="who decides, for the audit trail (default: your OS user name)")
    res.add_argument("--json", action="store_true")
    res.add_argument("--report", metavar="PATH", help=_REPORT_HELP)
    add_context_flags(res)

    threads = sub.add_parser("threads", help="list threads in the database")
    threads.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="show a thread's state, pending requests, history")
    show.add_argument("thread")
    show.add_argument("--history", action="store_true")
    show.add_argument("--json", action="store_true")

    approvals = sub.add_parser(
        "approvals", help="list requests waiting for approval in every thread, or show one",
        description="agent-graphs approvals            list every pending request\n"
                    "agent-graphs approvals show ID    show one request in full\n"
                    "answer with: agent-graphs resume THREAD --interrupt-id ID "
                    "--approve | --reject R | --edit JSON | --answer JSON\n"
                    "(--answer takes LangChain's {\"decisions\": [...]} too)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    approvals.add_argument("verb", nargs="?", choices=["list", "show"], default="list")
    approvals.add_argument("interrupt_id", nargs="?", help="the request to show")
    approvals.add_argument("--json", action="store_true")

    trail = sub.add_parser("audit", help="list the audit trail: approval requests, decisions, "
                           "MEDIUM/HIGH tool executions")
    trail.add_argument("--thread", help="only this thread")
    trail.add_argument("--limit", type=int, default=200, help="most recent N records")
    trail.add_argument("--json", action="store_true")

    work = sub.add_parser("worker", help="continue threads that stopped mid-run without an "
                          "error (a process killed), each under its thread lock; never "
                          "answers approvals; run as many as you like")
    work.add_argument("--once", action="store_true", help="one pass over the threads, then exit")
    work.add_argument("--poll", type=float, default=2.0, metavar="SECONDS",
                      help="pause between passes (default 2)")
    work.add_argument("--json", action="store_true")
    return p


def _stream(graph: Any, payload: Any, config: Any, context: Any) -> Iterator[tuple[str, Any]]:
    # NOTE: "sync" durability writes each step's checkpoint before the next step starts, so
    # a SIGKILL can lose at most the step that was running (about 2.5 ms a step on SQLite).
    # subgraphs=True: a graph built from other graphs shows their progress too.
    for _namespace, mode, chunk in graph.stream(
        payload, config, context=context, durability="sync",
        stream_mode=["custom", "updates"], subgraphs=True,
    ):
        yield mode, chunk


def _drive(graph: Any, payload: Any, config: Any, overrides: dict, out: Output) -> int:
    """Stream a run to the terminal and turn how it ended into an exit code."""
    ctx = context_from(overrides)
    thread = config["configurable"]["thread_id"]
    roles = graph_roles(config["metadata"]["graph_id"])
    out.start(thread, {r: describe_model(ctx.role_model(r)) for r in roles})
    try:
        for mode, chunk in _stream(graph, payload, config, ctx):
            if mode == "custom":
                out.event(chunk)
    except KeyboardInterrupt:
        out.stopped(thread, "interrupted by Ctrl-C")
        return EXIT_CTRL_C
    except Exception as err:  # noqa: BLE001 - every failure is reported, state is kept
        out.stopped(thread, f"{type(err).__name__}: {err}")
        return EXIT_FAILED
    snapshot = graph.get_state(config)
    if snapshot.interrupts:
        out.waiting(thread, [{"id": i.id, "value": i.value} for i in snapshot.interrupts])
        return EXIT_APPROVAL
    out.final(thread, snapshot.values)
    return EXIT_OK if snapshot.values.get("status") == "done" else EXIT_FAILED


def _report(args: argparse.Namespace, graph: Any, config: Any, code: int) -> int:
    """Write the run report if ``--report`` asked for it; return ``code`` unchanged."""
    if getattr(args, "report", None):
        from agent_graphs.planning_agent.report import write_report

        thread = config["configurable"]["thread_id"]
        path = write_report(graph.get_state(config).values, args.report,
                            audit.read(thread_id=thread, path=db_target(args.db)))
        print(f"run report: {path}", file=sys.stderr)
    return code


def _resume_payload(args: argparse.Namespace) -> Any:
    by = args.by or who()
    if args.approve:
        return {"action": "approve", "by": by}
    if args.reject is not None:
        return {"action": "reject", "reason": args.reject, "by": by}
    if args.edit is not None:
        return {"action": "edit", "args": json.loads(args.edit), "by": by}
    if args.answer is not None:
        return json.loads(args.answer)  # signed in resume_map when it is a decision
    return None


def _answers_all(args: argparse.Namespace) -> bool:
    """A resume with a decision but no --interrupt-id: it answers whatever is pending."""
    return args.command == "resume" and not args.interrupt_id and bool(
        args.approve or any(v is not None for v in (args.reject, args.edit, args.answer)))


@contextmanager
def _thread_saver(args: argparse.Namespace, thread: str) -> Iterator[BaseCheckpointSaver]:
    """Open the database and hold ``thread``'s lock: one process runs a thread at a time.

    A decision meant for every pending request is refused if the thread moved on to other
    requests while this process waited for the lock: the person has not seen those.
    """
    with open_saver(args.db) as saver:
        info = get_thread(saver, thread)
        seen = [i["id"] for i in info.interrupts] if info else []
        with thread_lock(thread, db=args.db, wait=LOCK_WAIT) as waited:
            info = get_thread(saver, thread) if waited else info
            now = [i["id"] for i in info.interrupts] if info else []
            if waited and now and now != seen and _answers_all(args):
                raise ThreadBusy(f"thread {thread!r} moved on while this command waited for "
                                 f"it; nothing was changed. See `agent-graphs approvals` and "
                                 f"answer by --interrupt-id.")
            yield saver


def cmd_run(args: argparse.Namespace, out: Output) -> int:
    overrides = context_overrides(args)
    thread = args.thread or str(uuid.uuid4())  # the dev server accepts only UUIDs
    with _thread_saver(args, thread) as saver:
        if get_thread(saver, thread):
            out.error(f"thread {thread!r} already exists; resume it or pick another id")
            return EXIT_USAGE
        graph = compile_graph(args.graph, saver)
        config = run_config(thread, graph_id=args.graph, context=overrides)
        code = _drive(graph, {**args.input, "goal": args.goal}, config, overrides, out)
        return _report(args, graph, config, code)


def cmd_resume(args: argparse.Namespace, out: Output) -> int:
    with _thread_saver(args, args.thread) as saver:
        tup = saver.get_tuple({"configurable": {"thread_id": args.thread, "checkpoint_ns": ""}})
        if tup is None:
            out.error(f"no thread {args.thread!r} in {describe(args.db)}")
            return EXIT_USAGE
        graph_id = args.graph or (tup.metadata or {}).get("graph_id")
        if graph_id not in GRAPHS:
            out.error(f"thread {args.thread!r} does not say which graph it ran "
                      f"({graph_id!r}); pass --graph, one of: {', '.join(sorted(GRAPHS))}")
            return EXIT_USAGE
        overrides = {**saved_context(tup), **context_overrides(args)}
        graph = compile_graph(graph_id, saver)
        config = run_config(args.thread, graph_id=graph_id, context=overrides)
        snapshot = graph.get_state(config)
        try:
            payload = _resume_payload(args)
        except json.JSONDecodeError as err:
            out.error(f"not valid JSON: {err}")
            return EXIT_USAGE
        if snapshot.interrupts:
            if payload is None:
                out.waiting(args.thread, [{"id": i.id, "value": i.value}
                                          for i in snapshot.interrupts])
                return EXIT_APPROVAL
            ids = [i.id for i in snapshot.interrupts]
            if args.interrupt_id and args.interrupt_id not in ids:
                out.error(f"no pending request {args.interrupt_id!r}; pending: {', '.join(ids)}")
                return EXIT_USAGE
            # answering one of several leaves the others pending: the run goes on as
            # far as it can and pauses again for them
            decisions = {args.interrupt_id: payload} if args.interrupt_id else payload
            try:
                command: Any = Command(resume=resume_map(ids, decisions,
                                                         by=args.by or who()))
            except ValueError as err:
                out.error(str(err))
                return EXIT_USAGE
        elif snapshot.next or snapshot.tasks:
            # NOTE: `next` leaves out tasks that finished in a step whose checkpoint was
            # never written (a kill between a task's writes and the step's checkpoint);
            # they still show in `tasks`, and resuming commits their writes.
            if payload is not None:
                out.error("nothing is waiting for a decision; run resume without one")
                return EXIT_USAGE
            command = None  # crashed or stopped mid-run: continue from the last checkpoint
        else:
            out.final(args.thread, snapshot.values)
            code = EXIT_OK if snapshot.values.get("status") == "done" else EXIT_FAILED
            return _report(args, graph, config, code)
        return _report(args, graph, config, _drive(graph, command, config, overrides, out))


def cmd_threads(args: argparse.Namespace, out: Output) -> int:
    with open_saver(args.db) as saver:
        out.threads(list_threads(saver))
    return EXIT_OK


def cmd_show(args: argparse.Namespace, out: Output) -> int:
    with open_saver(args.db) as saver:
        info = get_thread(saver, args.thread)
        if info is None:
            out.error(f"no thread {args.thread!r} in {describe(args.db)}")
            return EXIT_USAGE
        out.thread(info, history(saver, args.thread) if args.history else None)
    return EXIT_OK


def cmd_approvals(args: argparse.Namespace, out: Output) -> int:
    with open_saver(args.db) as saver:
        if args.verb == "list":
            if args.interrupt_id:
                out.error("to see one request: agent-graphs approvals show INTERRUPT_ID")
                return EXIT_USAGE
            out.approvals(pending_approvals(saver))
            return EXIT_OK
        if not args.interrupt_id:
            out.error("which request? agent-graphs approvals show INTERRUPT_ID")
            return EXIT_USAGE
        found = find_approval(saver, args.interrupt_id)
        if found is None:
            out.error(f"no pending request {args.interrupt_id!r} in {describe(args.db)}")
            return EXIT_USAGE
        out.approval(found)
    return EXIT_OK


def cmd_audit(args: argparse.Namespace, out: Output) -> int:
    out.audit(audit.read(thread_id=args.thread, path=db_target(args.db), limit=args.limit))
    return EXIT_OK


def _continue(saver: BaseCheckpointSaver, thread: str, out: Output) -> int | None:
    """Continue ``thread`` (its lock held) if it is still stopped mid-run; else None."""
    info = get_thread(saver, thread)  # read again under the lock: another may have run it
    tup = saver.get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
    if info is None or tup is None or not info.orphaned or info.graph_id not in GRAPHS:
        return None
    overrides = saved_context(tup)
    config = run_config(thread, graph_id=info.graph_id, context=overrides)
    return _drive(compile_graph(info.graph_id, saver), None, config, overrides, out)


def cmd_worker(args: argparse.Namespace, out: Output) -> int:
    """Continue every thread that stopped mid-run, under its lock; poll unless --once."""
    failed: dict[str, str] = {}  # thread -> the checkpoint it failed at in this worker
    with open_saver(args.db) as saver:
        while True:
            for info in list_threads(saver):
                if not info.orphaned or failed.get(info.thread_id) == info.updated_at:
                    continue
                try:
                    with thread_lock(info.thread_id, db=args.db):  # busy: another has it
                        code = _continue(saver, info.thread_id, out)
                except ThreadBusy:
                    continue
                if code == EXIT_CTRL_C:
                    return code
                if code == EXIT_FAILED:
                    failed[info.thread_id] = info.updated_at
            if args.once:
                return EXIT_OK
            try:
                time.sleep(args.poll)
            except KeyboardInterrupt:
                return EXIT_CTRL_C


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``agent-graphs`` command."""
    args = _parser().parse_args(argv)
    if args.db:
        # Nodes write the audit trail to the default database ($AGENT_GRAPHS_DB): point it
        # at --db so the trail lives beside these checkpoints.
        os.environ[DB_ENV] = db_target(args.db)
    out = output_for(json_mode=getattr(args, "json", False))
    commands = {"run": cmd_run, "resume": cmd_resume, "threads": cmd_threads, "show": cmd_show,
                "approvals": cmd_approvals, "audit": cmd_audit, "worker": cmd_worker}
    try:
        return commands[args.command](args, out)
    except ThreadBusy as err:
        out.error(str(err))
        return EXIT_BUSY
    except DatabaseUnavailable as err:
        out.error(str(err))
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
