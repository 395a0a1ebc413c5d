"""The journal inside real graph runs: what a failed attempt wrote comes back on resume.

A sync run reads it back before ``start`` returns (LangGraph hands stored ``@task``
results back inside the call), so tasks are not held for write round trips; an async run
takes the slower path through the acknowledgements. Both must restore the same outcomes.
"""

from __future__ import annotations

import asyncio
import queue
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict

from agent_graphs.llm_compiler import journal as journal_module
from agent_graphs.llm_compiler.graph import journal
from agent_graphs.llm_compiler.journal import Journal
from checkpoints import open_saver


class S(TypedDict, total=False):
    restored: list[str]


def _graph(attempts: list[dict[str, Any]]) -> StateGraph:
    def node(state: S) -> dict[str, Any]:
        seen: dict[str, Any] = {"restored": [], "replayed_in_start": False,
                                "inline": journal_module._stored_results_come_back_inline()}
        attempts.append(seen)
        later: queue.SimpleQueue[Any] = queue.SimpleQueue()  # the node thread's callbacks
        log = Journal(journal, later.put, lambda outs: seen["restored"].extend(
            o["step_id"] for o in outs), lambda: seen.__setitem__("replayed", True))
        log.start()
        seen["replayed_in_start"] = seen.get("replayed", False)
        while not seen.get("replayed"):  # the async path: acknowledgements come back later
            later.get()()
        if len(attempts) == 1:
            log.add({"step_id": "a"})
            log.add({"step_id": "b"})
            log.flush()
            raise RuntimeError("crash after a and b were journaled")
        while not later.empty():
            later.get()()
        return {"restored": seen["restored"]}

    builder = StateGraph(S)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder


def test_a_sync_run_reads_the_journal_back_inside_start(tmp_path):
    attempts: list[dict[str, Any]] = []
    with open_saver(tmp_path / "j.sqlite") as saver:
        graph = _graph(attempts).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        try:
            graph.invoke({}, config, durability="sync")
        except RuntimeError:
            pass
        values = graph.invoke(None, config, durability="sync")
    first, second = attempts
    assert first["inline"] and first["replayed_in_start"] and first["restored"] == []
    assert second["inline"] and second["replayed_in_start"]
    assert sorted(values["restored"]) == ["a", "b"]


def test_an_async_run_restores_the_same_through_the_acknowledgements():
    attempts: list[dict[str, Any]] = []
    graph = _graph(attempts).compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}

    async def run() -> dict[str, Any]:
        try:
            await graph.ainvoke({}, config)
        except RuntimeError:
            pass
        return await graph.ainvoke(None, config)

    values = asyncio.run(run())
    assert not attempts[0]["inline"] and not attempts[1]["inline"]
    assert sorted(values["restored"]) == ["a", "b"]


def test_a_first_attempt_reads_nothing_back_and_a_resume_still_does(tmp_path):
    # A first attempt has no stored @task result, so start() writes no probe markers (the
    # read-back costs three write round trips); the resumed attempt must still find a, b.
    attempts: list[dict[str, Any]] = []
    calls: list[int] = []
    original = journal_module.Journal.start

    def counted(self: Journal) -> None:
        record = self.record
        self.record = lambda entry: (calls.append(len(attempts)), record(entry))[1]
        original(self)
        self.record = record

    with open_saver(tmp_path / "j.sqlite") as saver:
        graph = _graph(attempts).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        journal_module.Journal.start = counted  # type: ignore[method-assign]
        try:
            try:
                graph.invoke({}, config, durability="sync")
            except RuntimeError:
                pass
            values = graph.invoke(None, config, durability="sync")
        finally:
            journal_module.Journal.start = original  # type: ignore[method-assign]
    assert 1 not in calls  # the first attempt probed nothing
    assert calls.count(2) >= journal_module.LOOKAHEAD  # the resume read back
    assert sorted(values["restored"]) == ["a", "b"]
