"""Real processes for the LLM Compiler's crash tests: SIGKILLed mid-run, resumed from disk.

Usage:
    python -m tests.llm_compiler.compiler_child dag DIR SEED KILL_AFTER
        Runs a 12-task DAG whose tasks finish in a seeded random order (each waits for
        the one before it in that order) and SIGKILLs itself once KILL_AFTER finished
        tasks are on disk in the journal, after writing their ids to DIR/journaled.json.
        With KILL_AFTER 0 it resumes the thread instead, tasks finishing as they come.
    python -m tests.llm_compiler.compiler_child sweep DIR RESULTS.json
        The exactly-once sweep: one run without a kill counts every checkpoint write,
        audit write and outbox write; then, for each (before and after it), a whole run
        (start, approve, restart after the kill...) in forked processes.

Each tool call is appended to DIR/calls.log as ``pid start|end label`` (flushed), so the
test sees what every process ran. The scripted models answer from what is bound.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

from langchain_core.tools import tool
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

import tools.email
from agent_graphs.llm_compiler.graph import build_graph
from checkpoints import audit, open_saver
from tests.fakes import install
from tests.llm_compiler.compiler_kit import CONTEXT, joiner_finish, planner, task
from tools import Risk

THREAD = "t-compiler"
DAG = [task("t0"), task("t1"), task("t2", deps=["t0"]), task("t3", deps=["t0", "t1"]),
       task("t4"), task("t5", deps=["t4"]), task("t6", deps=["t2"]), task("t7", deps=["t3"]),
       task("t8", deps=["t5", "t6"]), task("t9"), task("t10", deps=["t9"]),
       task("t11", deps=["t7", "t8", "t10"])]
EMAIL = {"to": "vp@acme.example", "subject": "Result", "body": "The result is $s1."}
MAIL_PLAN = [task("s1", tool_name="calculator", args={"expression": "2+3"}),
             task("s2", tool_name="send_email", args=EMAIL, deps=["s1"]),
             task("s3", tool_name="calculator", args={"expression": "4*5"})]
MAX_PROCESSES = 10


_KILLING = threading.Lock()
"""Held by the thread that writes the journal record and kills the process."""


def _log(workdir: Path, text: str) -> None:
    with open(workdir / "calls.log", "a") as f:
        f.write(f"{os.getpid()} {text}\n")
        f.flush()


def _work_tool(workdir: Path, order: list[str] | None) -> Any:
    done = {label: threading.Event() for label in order or []}

    @tool
    def work(label: str) -> str:
        """Do one unit of work named by label and return its result."""
        _log(workdir, f"start {label}")
        if order and label in order and order.index(label) > 0:
            done[order[order.index(label) - 1]].wait(30)
        if order:
            # A worker that finishes a task starts its dependents itself, without waiting
            # for the journal: tasks this quick would all be done before the kill.
            time.sleep(0.02)
        _log(workdir, f"end {label}")
        if label in done:
            done[label].set()
        return f"result of {label}"

    return work


def _topological_shuffle(seed: int) -> list[str]:
    rng = random.Random(seed)
    order: list[str] = []
    left = {t["id"]: set(t["depends_on"]) for t in DAG}
    while left:
        pick = rng.choice(sorted(s for s, deps in left.items() if deps <= set(order)))
        order.append(pick)
        del left[pick]
    return order


def _journaled(writes: Any) -> list[str]:
    return [o["step_id"] for _, value in writes if isinstance(value, dict)
            for o in value.get("outcomes") or []]


def dag(workdir: str, seed: str, kill_after: str) -> int:
    """One process of the per-task resume test (see the module docstring)."""
    root = Path(workdir)
    limit = int(kill_after)
    counted: list[str] = []
    real = SqliteSaver.put_writes

    def put_writes(self: Any, config: Any, writes: Any, task_id: str, *a: Any) -> Any:
        # NOTE: writes are serialized here, so the record of what is on disk is exact when
        # the process dies: two task threads once both wrote it, and a write could land
        # after the record was taken.
        with _KILLING:
            result = real(self, config, writes, task_id, *a)
            counted.extend(_journaled(writes))
            if limit and len(counted) >= limit:
                (root / "journaled.json").write_text(json.dumps(counted))
                os.kill(os.getpid(), signal.SIGKILL)
        return result

    SqliteSaver.put_writes = put_writes  # type: ignore[method-assign]
    plans = planner(DAG)

    def counting_planner(messages: Any, bound: Any) -> Any:
        _log(root, "planner")
        return plans(messages, bound)

    install(fallbacks={"planner": counting_planner, "joiner": joiner_finish})
    order = _topological_shuffle(int(seed)) if limit else None
    graph = build_graph(tools={"work": (_work_tool(root, order), Risk.LOW)})
    # Spacing 0: a write as soon as the one before is done, so the kill lands with tasks
    # on disk one or a few at a time (spaced writes batch these quick tasks into one).
    context = {**CONTEXT, "workspace": str(root / "ws"), "outbox": str(root / "outbox.jsonl"),
               "compiler_journal_spacing": 0}
    config = {"configurable": {"thread_id": THREAD}, "recursion_limit": 100}
    with open_saver(root / "db.sqlite") as saver:
        compiled = graph.compile(checkpointer=saver)
        payload = {"goal": "run the DAG"} if limit else None
        values = compiled.invoke(payload, config, context=context, durability="sync")
    (root / "final.json").write_text(json.dumps(values))
    return 0


# --- the exactly-once sweep --------------------------------------------------------------

COUNTS: Counter[str] = Counter()


def _hooked(name: str, real: Any, kill: dict[str, Any] | None) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        COUNTS[name] += 1
        hit = kill is not None and kill["hook"] == name and kill["n"] == COUNTS[name]
        if hit and kill["when"] == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if hit and kill["when"] == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


def _arm(kill: dict[str, Any] | None) -> None:
    SqliteSaver.put = _hooked("put", SqliteSaver.put, kill)  # type: ignore[method-assign]
    SqliteSaver.put_writes = _hooked(  # type: ignore[method-assign]
        "put_writes", SqliteSaver.put_writes, kill)
    audit.record = _hooked("audit", audit.record, kill)
    tools.email._append = _hooked("append", tools.email._append, kill)
    tools.email.os.fsync = _hooked("fsync", os.fsync, kill)


def _step(workdir: Path, action: str) -> int:
    """One process's share of a run: 0 done, 3 waiting for a person, 4 no thread yet."""
    install(fallbacks={"planner": planner(MAIL_PLAN), "joiner": joiner_finish})
    # Spacing 0: every journal write the run can make is a point to kill it at.
    context = {**CONTEXT, "workspace": str(workdir / "ws"),
               "outbox": str(workdir / "outbox.jsonl"), "compiler_journal_spacing": 0}
    config = {"configurable": {"thread_id": THREAD}, "recursion_limit": 100}
    with open_saver(workdir / "db.sqlite") as saver:
        graph = build_graph().compile(checkpointer=saver)
        if action == "run":
            graph.invoke({"goal": "Compute and email"}, config, context=context,
                         durability="sync")
        elif saver.get_tuple(config) is None:
            return 4
        elif action == "approve":
            answers = {i.id: "approve" for i in graph.get_state(config).interrupts}
            graph.invoke(Command(resume=answers), config, context=context, durability="sync")
        else:
            graph.invoke(None, config, context=context, durability="sync")
        state = graph.get_state(config)
        return 3 if state.interrupts else 0 if state.values.get("status") == "done" else 1


def _fork(workdir: Path, action: str, kill: dict[str, Any] | None, log: str) -> tuple[int, dict]:
    counts_file = workdir / f"{log}.counts.json"
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.chdir(workdir)
            os.environ["AGENT_GRAPHS_DB"] = str(workdir / "db.sqlite")  # the audit trail too
            fd = os.open(workdir / f"{log}.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            _arm(kill)
            code = _step(workdir, action)
        except BaseException:  # noqa: BLE001 - reported through the log and exit code
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            counts_file.write_text(json.dumps(COUNTS))
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return code, json.loads(counts_file.read_text()) if counts_file.exists() else {}


def drive(workdir: Path, kill: dict[str, Any] | None, phase: int) -> dict[str, Any]:
    """Start, approve what waits, restart after any kill, until done; kill in ``phase``."""
    workdir.mkdir(parents=True, exist_ok=True)
    steps: list[dict[str, Any]] = []
    action, approvals = "run", 0
    for i in range(MAX_PROCESSES):
        armed = kill if (phase == 0 and i == 0) or (
            phase == 1 and action == "approve" and approvals == 1) else None
        code, counts = _fork(workdir, action, armed, f"p{i}")
        steps.append({"action": action, "code": code, "armed": armed is not None,
                      "counts": counts})
        if code == 0:
            break
        if code == 3:
            approvals += 1
            action = "approve"
        else:
            action = "run" if code == 4 else "resume"
    return {"workdir": str(workdir), "kill": kill, "phase": phase, "steps": steps,
            "killed": any(s["code"] == -signal.SIGKILL for s in steps),
            "finished": steps[-1]["code"] == 0}


def sweep(base: str, results_path: str, workers: str = "2") -> int:
    """Count the hooks in a run without a kill, then drive one run per kill point."""
    root = Path(base)
    clean = drive(root / "clean", None, 0)
    points = [(root / f"k{i:03d}-p{phase}-{hook}-{n}-{when}",
               {"hook": hook, "n": n, "when": when}, phase)
              for i, (phase, hook, n, when) in enumerate(
                  (phase, hook, n, when)
                  for phase, seen in enumerate(s["counts"] for s in clean["steps"][:2])
                  for hook, total in sorted(seen.items())
                  for n in range(1, total + 1) for when in ("before", "after"))]
    pids = []
    for w in range(int(workers)):
        pid = os.fork()
        if pid == 0:
            code = 99
            try:
                done = [drive(*point) for point in points[w::int(workers)]]
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
    for w in range(int(workers)):
        part = root / f"worker{w}.json"
        results += json.loads(part.read_text()) if part.exists() else []
    Path(results_path).write_text(json.dumps({"clean": clean, "points": len(points),
                                              "results": results}, indent=1))
    return 0


def main() -> int:
    mode, *rest = sys.argv[1:]
    if mode == "dag":
        return dag(*rest)
    if mode == "sweep":
        return sweep(*rest)
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main())
