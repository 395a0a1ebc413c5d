"""The report's reflection loop runs as nodes of the planning agent (reflection.compose):
a person's draft review pauses the agent and is answered by id, a failure mid-loop
resumes at the loop's last finished node, and the loop's state merges as the reflection
graph's own channels would. Also: the plan's workspace listing is walked again when a
folder changes."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.types import Command

from agent_graphs.planning_agent.graph import builder
from agent_graphs.reflection.compose import merge_loop
from tests.fakes import bound_tool_names, install
from tests.planning_agent.contract import CONTEXT, FALLBACKS, SALES_GOAL, critic, writer

CONFIG = {"configurable": {"thread_id": "loop"}, "recursion_limit": 500}


def _events(graph: Any, payload: Any, context: dict[str, Any]) -> list[dict[str, Any]]:
    return [chunk for chunk in graph.stream(payload, CONFIG, context=context,
                                            stream_mode="custom", durability="sync")]


def test_a_draft_review_pauses_the_agent_and_a_rejection_is_revised(checkpointer, dirs):
    drafts = iter(["", " Revised as asked."])
    critiques: list[int] = []

    def revising_writer(messages: Any, bound: Any) -> str:
        return writer(messages, bound) + next(drafts)

    def counting_critic(messages: Any, bound: Any) -> Any:
        critiques.extend([1] if "Critique" in bound_tool_names(bound) else [])
        return critic(messages, bound)

    fakes = install(fallbacks={**FALLBACKS, "writer": revising_writer,
                               "critic": counting_critic})
    graph = builder.compile(checkpointer=checkpointer)
    context = {**CONTEXT, **dirs, "reflection_human_review": True}
    events = _events(graph, {"goal": SALES_GOAL}, context)
    (request,) = graph.get_state(CONFIG).interrupts
    assert request.value["kind"] == "draft" and request.value["round"] == 1
    names = [e["event"] for e in events]
    assert names.index("draft_written") < names.index("draft_checked") < names.index(
        "draft_critiqued")
    assert "report_written" not in names  # the loop has not ended: the person decides

    events = _events(graph, Command(resume={request.id: {
        "action": "reject", "reason": "say it was revised"}}), context)
    (request,) = graph.get_state(CONFIG).interrupts
    assert request.value["round"] == 2
    assert request.value["args"]["draft"].endswith("Revised as asked.")
    _events(graph, Command(resume={request.id: "approve"}), context)

    values = graph.get_state(CONFIG).values
    assert values["status"] == "done" and values["report"].endswith("Revised as asked.")
    assert len(fakes["writer"].calls) == 2  # a resume never redid a draft
    assert len(critiques) == 2
    rounds = values["reflection"]["rounds"]
    assert [r["draft"] for r in rounds] == [0, 1] and values["reflection"]["approved"]
    assert "a person" in values["reflection"]["reason"]
    assert not graph.get_state(CONFIG).next


class Flaky(RuntimeError):
    """The critic's provider failing for good (not a transient error: no retry)."""


def test_a_failure_mid_loop_resumes_without_redoing_the_draft(checkpointer, dirs):
    failing = {"left": 1}

    def flaky_critic(messages: Any, bound: Any) -> Any:
        if "Critique" in bound_tool_names(bound) and failing["left"]:
            failing["left"] -= 1
            raise Flaky("the critic's server went away")
        return critic(messages, bound)

    fakes = install(fallbacks={**FALLBACKS, "critic": flaky_critic})
    graph = builder.compile(checkpointer=checkpointer)
    context = {**CONTEXT, **dirs}
    with pytest.raises(Flaky):
        _events(graph, {"goal": SALES_GOAL}, context)
    assert graph.get_state(CONFIG).next == ("report_critique",)
    assert len(fakes["writer"].calls) == 1
    _events(graph, None, context)  # resume the thread where it stopped
    values = graph.get_state(CONFIG).values
    assert values["status"] == "done" and values["reflection"]["approved"]
    assert len(fakes["writer"].calls) == 1  # the draft came from the checkpoint
    assert values["report"].startswith("Summary report.")


def test_the_loop_state_merges_as_the_reflection_graph_channels_do():
    left = {"drafts": ["a"], "rounds": [{"draft": 0}], "usage": {"input_tokens": 3},
            "accepted": 0, "model_calls": 1}
    merged = merge_loop(left, {"drafts": ["b"], "usage": {"input_tokens": 2},
                               "accepted": None, "model_calls": 2, "checks": []})
    assert merged == {"drafts": ["a", "b"], "rounds": [{"draft": 0}],
                      "usage": {"input_tokens": 5}, "accepted": None, "model_calls": 3,
                      "checks": []}
    assert left["drafts"] == ["a"]  # the old value is not changed in place


def test_the_workspace_listing_is_walked_again_when_a_folder_changes(tmp_path, monkeypatch):
    """Plans list the workspace's files; the listing is kept while no folder changed."""
    import os
    import time

    from agent_graphs.context import Context
    from agent_graphs.planning_agent import graph as agent

    ws = tmp_path / "ws"
    (ws / "q").mkdir(parents=True)
    (ws / "a.csv").write_text("x")
    (ws / "q" / "b.csv").write_text("y")
    old = time.time() - 60
    for folder in (ws, ws / "q"):
        os.utime(folder, (old, old))
    walks: list[str] = []
    real_walk = os.walk
    monkeypatch.setattr(agent.os, "walk", lambda top: walks.append(str(top)) or real_walk(top))
    ctx = Context(workspace=str(ws))
    assert agent._workspace_files(ctx) == ("a.csv", "q/b.csv")
    assert agent._workspace_files(ctx) == ("a.csv", "q/b.csv") and len(walks) == 1
    (ws / "q" / "c.csv").write_text("z")  # a nested folder changes: walked again
    assert agent._workspace_files(ctx) == ("a.csv", "q/b.csv", "q/c.csv") and len(walks) == 2
    (ws / "a.csv").unlink()
    assert agent._workspace_files(ctx) == ("q/b.csv", "q/c.csv")
