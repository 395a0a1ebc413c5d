"""What the LLM Compiler tests share: task builders, scripted planner/joiner, a recording tool.

The ``work`` tool logs when each call starts and ends (by its ``label``) and can run a
behaviour the test chose for that label (wait at a barrier, wait for an event, hang), so
tests prove ordering and overlap from the log and from rendezvous, never from timings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import tool

from agent_graphs.llm_compiler.graph import build_graph
from tests.fakes import bound_tool_names, call
from tools import Risk

CONTEXT = {"planner_model": "fake:planner", "models": {"joiner": "fake:joiner"}}


def task(sid: str, label: str | None = None, *, deps: Iterable[str] = (),
         tool_name: str = "work", args: dict[str, Any] | None = None) -> dict[str, Any]:
    """A plan task calling ``work(label)`` (or ``tool_name(args)``)."""
    deps = list(deps)
    return {"id": sid, "description": f"task {sid}", "tool": tool_name,
            "args": args if args is not None else {"label": label or sid},
            "depends_on": deps, "expected_output": "a result"}


def planner(*plans: Sequence[dict[str, Any]]) -> Callable[..., AIMessage | str]:
    """A planner fallback answering the n-th Plan call with ``plans[n]`` (the last repeats)."""
    calls = {"n": 0}

    def answer(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
        assert "Plan" in bound_tool_names(bound), bound_tool_names(bound)
        plan = plans[min(calls["n"], len(plans) - 1)]
        calls["n"] += 1
        return call("Plan", steps=list(plan))

    return answer


def joiner_finish(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """A joiner that always answers with the task listing it was shown."""
    return call("JoinDecision", thought="the results answer the goal", action="finish",
                answer="Answer from: " + messages[-1].text[-300:])


class Recorder:
    """A ``work`` tool that logs its calls in order and runs per-label behaviours."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.behaviours: dict[str, Callable[[], None]] = {}
        self.started: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def event(self, label: str) -> threading.Event:
        """Set when the call with ``label`` starts."""
        with self._lock:
            return self.started.setdefault(label, threading.Event())

    def note(self, kind: str, label: str) -> None:
        with self._lock:
            self.log.append((kind, label))

    def index(self, kind: str, label: str) -> int:
        """Position of ``(kind, label)`` in the log."""
        return self.log.index((kind, label))

    def count(self, kind: str, label: str) -> int:
        return self.log.count((kind, label))

    def tool(self) -> Any:
        recorder = self

        @tool
        def work(label: str) -> str:
            """Do one unit of work named by label and return its result."""
            recorder.note("start", label)
            recorder.event(label).set()
            if behaviour := recorder.behaviours.get(label):
                behaviour()
            recorder.note("end", label)
            return f"result of {label}"

        return work

    def graph(self) -> Any:
        """The LLM Compiler builder with this recorder's ``work`` tool (LOW risk)."""
        return build_graph(tools={"work": (self.tool(), Risk.LOW)})


def events_of(graph: Any, payload: Any, config: dict[str, Any],
              context: dict[str, Any]) -> list[dict[str, Any]]:
    """Stream a run durably; return its custom progress events."""
    durable = {"durability": "sync"} if graph.checkpointer else {}
    return [chunk for mode, chunk in graph.stream(
        payload, config, context=context, stream_mode=["custom", "updates"], **durable)
        if mode == "custom"]
