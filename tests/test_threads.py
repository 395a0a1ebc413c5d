"""LangGraph's sync runs reuse worker threads (agent_graphs.threads), and still behave."""

from __future__ import annotations

import threading

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.pregel import _executor
from typing_extensions import TypedDict

import agent_graphs  # noqa: F401 - installs the reused threads
from agent_graphs import threads


class S(TypedDict, total=False):
    n: int


def _graph(fail: bool = False):
    def one(state: S) -> S:
        return {"n": state.get("n", 0) + 1}

    def two(state: S) -> S:
        if fail:
            raise ValueError("node two broke")
        return {"n": state["n"] * 10}

    builder = StateGraph(S)
    builder.add_node(one)
    builder.add_node(two)
    builder.add_edge(START, "one")
    builder.add_edge("one", "two")
    return builder.compile(checkpointer=InMemorySaver())


def _count_thread_starts(monkeypatch) -> list[str]:
    started: list[str] = []
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    return started


def test_importing_agent_graphs_points_langgraph_at_the_reused_threads():
    assert threads.install() is True
    assert _executor.get_executor_for_config is threads._executor_for_config


def test_later_runs_start_no_threads_and_get_the_same_answers(monkeypatch):
    graph = _graph()
    for i in range(5):  # warm: as many idle workers as a run keeps busy at once
        assert graph.invoke({"n": 1}, {"configurable": {"thread_id": f"w{i}"}})["n"] == 20
    started = _count_thread_starts(monkeypatch)
    for i in range(10):
        assert graph.invoke({"n": i}, {"configurable": {"thread_id": f"r{i}"}})["n"] == (i + 1) * 10
    # LangGraph's own pool starts at least two threads a run: 20 here
    assert len(started) <= 1
    # and every checkpoint was written before invoke returned
    assert len(list(graph.get_state_history({"configurable": {"thread_id": "r9"}}))) == 4


def test_a_failing_node_still_raises_from_invoke():
    with pytest.raises(ValueError, match="node two broke"):
        _graph(fail=True).invoke({"n": 1}, {"configurable": {"thread_id": "c"}})


def test_a_run_with_max_concurrency_keeps_langgraph_bounded_pool_of_its_own(monkeypatch):
    graph = _graph()
    graph.invoke({"n": 1}, {"configurable": {"thread_id": "d"}})
    started = _count_thread_starts(monkeypatch)
    graph.invoke({"n": 1}, {"configurable": {"thread_id": "e"}, "max_concurrency": 2})
    assert any(name.startswith("ThreadPoolExecutor") for name in started)


def test_the_switch_leaves_langgraph_as_it_is(monkeypatch):
    monkeypatch.setenv("AGENT_GRAPHS_FRESH_THREADS", "1")
    assert threads.install() is False


class _WhereSaved(InMemorySaver):
    """Records the thread of each checkpoint write, and can fail one."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.fail_at = fail_at

    def put(self, config, checkpoint, metadata, new_versions):
        self.threads.append(threading.current_thread().name)
        if len(self.threads) == self.fail_at:
            raise OSError("disk full")
        return super().put(config, checkpoint, metadata, new_versions)


def _saving(saver: _WhereSaved):
    builder = StateGraph(S)
    builder.add_node("one", lambda s: {"n": s.get("n", 0) + 1})
    builder.add_node("two", lambda s: {"n": s["n"] * 10})
    builder.add_edge(START, "one")
    builder.add_edge("one", "two")
    return builder.compile(checkpointer=saver)


def test_a_sync_run_writes_each_checkpoint_in_its_own_thread_and_an_async_one_does_not():
    # durability="sync" waits for each write as soon as it is submitted: a worker only
    # added two thread hand-offs to it
    saver = _WhereSaved()
    graph = _saving(saver)
    config = {"configurable": {"thread_id": "s"}}
    assert graph.invoke({"n": 1}, config, durability="sync")["n"] == 20
    assert saver.threads == [threading.current_thread().name] * 4
    assert [c.values.get("n") for c in graph.get_state_history(config)] == [20, 2, 1, None]
    saver.threads.clear()
    assert graph.invoke({"n": 1}, {"configurable": {"thread_id": "a"}})["n"] == 20
    assert len(saver.threads) == 4
    assert threading.current_thread().name not in saver.threads


def test_a_failed_checkpoint_write_of_a_sync_run_still_raises_from_invoke():
    graph = _saving(_WhereSaved(fail_at=3))
    with pytest.raises(OSError, match="disk full"):
        graph.invoke({"n": 1}, {"configurable": {"thread_id": "f"}}, durability="sync")
