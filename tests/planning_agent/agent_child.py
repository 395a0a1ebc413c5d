"""Run the planning agent in a real process on a SQLite file: start it, resume it, or kill it.

Usage:
    python -m tests.planning_agent.agent_child start DB GOAL OUTBOX
    python -m tests.planning_agent.agent_child resume DB DECISION OUTBOX
        Print one JSON object: the pending requests' kinds and tools, or the final values.
    python -m tests.planning_agent.agent_child dag DIR KILL_AFTER
        Run the eight-task DAG of ``DAG`` (tool ``work``) on DIR/db.sqlite. With KILL_AFTER
        > 0, task ``HELD`` never returns, and the process SIGKILLs itself once KILL_AFTER
        finished tasks are on disk in the journal and ``HELD`` is running, after writing
        their ids to DIR/journaled.json. With KILL_AFTER 0 it resumes the thread and
        writes the final values to DIR/final.json.

Every ``work`` call is logged to DIR/calls.log as ``pid start|end label`` (the LLM
Compiler crash test's log), the planner's calls as ``pid planner``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.tools import tool
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

from agent_graphs.planning_agent.graph import build_graph, builder
from checkpoints import open_saver
from tests.fakes import install
from tests.llm_compiler.compiler_child import _journaled, _log
from tests.llm_compiler.compiler_kit import planner as plan_answers
from tests.llm_compiler.compiler_kit import task
from tests.planning_agent.contract import CONTEXT, FALLBACKS
from tools import Risk

CONFIG = {"configurable": {"thread_id": "t-agent"}, "recursion_limit": 500}

# Each task's result is its own number plus the values it is given (``$id`` references),
# so a value handed to the wrong task changes every figure downstream of it.
OWN = {f"s{n}": n * 1100 for n in range(1, 9)}
DAG = [task("s1"), task("s2"), task("s3"), task("s4"),
       task("s5", args={"label": "s5", "given": "$s1 $s2"}, deps=["s1", "s2"]),
       task("s6", args={"label": "s6", "given": "$s3"}, deps=["s3"]),
       task("s7", args={"label": "s7", "given": "$s4 $s5"}, deps=["s4", "s5"]),
       task("s8", args={"label": "s8", "given": "$s6 $s7"}, deps=["s6", "s7"])]
HELD = "s4"
"""Runs until the process is killed: the kill always lands while a task is running."""


def expected_values() -> dict[str, float]:
    """Each task's right result, from the DAG."""
    values: dict[str, float] = {}
    for t in DAG:
        values[t["id"]] = OWN[t["id"]] + sum(values[d] for d in t["depends_on"])
    return values


def _work_tool(root: Path, hold: bool, started: threading.Event) -> Any:
    @tool
    def work(label: str, given: str = "") -> str:
        """Do the unit of work named by label, given earlier results; return its number."""
        _log(root, f"start {label}")
        if hold and label == HELD:
            started.set()
            threading.Event().wait()  # until the SIGKILL
        value = OWN[label] + sum(float(x) for x in re.findall(r"\d+(?:\.\d+)?", given))
        _log(root, f"end {label}")
        return f"{value:g}"

    return work


def _writer(messages: list[BaseMessage], bound: dict[str, Any]) -> str:
    """A report naming each result with the step it came from."""
    found = re.findall(r"<source id='([^']+)'[^>]*>(.*?)</source>", messages[-1].text, re.S)
    return "DAG report.\n" + "\n".join(f"- {sid} = {text.strip()}" for sid, text in found)


def dag(workdir: str, kill_after: str) -> int:
    """One process of the crash test (see the module docstring)."""
    root, limit = Path(workdir), int(kill_after)
    held = threading.Event()
    lock, counted = threading.Lock(), []
    real = SqliteSaver.put_writes

    def put_writes(self: Any, config: Any, writes: Any, task_id: str, *a: Any) -> Any:
        # NOTE: serialized, so the record of what is on disk is exact when the process dies
        with lock:
            result = real(self, config, writes, task_id, *a)
            counted.extend(_journaled(writes))
            if limit and len(counted) >= limit:
                held.wait()  # a task is still running when the process dies
                (root / "journaled.json").write_text(json.dumps(counted))
                os.kill(os.getpid(), signal.SIGKILL)
        return result

    SqliteSaver.put_writes = put_writes  # type: ignore[method-assign]
    plans = plan_answers(DAG)

    def planner(messages: list[BaseMessage], bound: dict[str, Any]) -> Any:
        _log(root, "planner")
        return plans(messages, bound)

    install(fallbacks={**FALLBACKS, "planner": planner, "writer": _writer})
    graph = build_graph(tools={"work": (_work_tool(root, bool(limit), held), Risk.LOW)})
    context = {**CONTEXT, "workspace": str(root / "ws"), "outbox": str(root / "outbox.jsonl")}
    with open_saver(root / "db.sqlite") as saver:
        compiled = graph.compile(checkpointer=saver)
        payload = {"goal": "Run the DAG and report every result"} if limit else None
        compiled.invoke(payload, CONFIG, context=context, durability="sync")
        values = compiled.get_state(CONFIG).values
    (root / "final.json").write_text(json.dumps(values, default=str))
    return 0


def main() -> int:
    if sys.argv[1] == "dag":
        return dag(*sys.argv[2:4])
    mode, db, arg, outbox = sys.argv[1:5]
    install(fallbacks=FALLBACKS)
    context = {**CONTEXT, "approve_plan": True, "outbox": outbox, "workspace": "ws"}
    with open_saver(db) as saver:
        graph = builder.compile(checkpointer=saver)
        if mode == "start":
            graph.invoke({"goal": arg}, CONFIG, context=context, durability="sync")
        else:
            pending = graph.get_state(CONFIG).interrupts
            graph.invoke(Command(resume={i.id: arg for i in pending}), CONFIG,
                         context=context, durability="sync")
        state = graph.get_state(CONFIG)
        print(json.dumps({
            "waiting": [{"kind": i.value.get("kind"), "tool": i.value.get("tool")}
                         for i in state.interrupts],
            "values": state.values,
        }, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
