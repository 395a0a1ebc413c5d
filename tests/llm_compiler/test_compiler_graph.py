"""The LLM Compiler graph end to end with scripted models, in memory and on SQLite."""

from __future__ import annotations

import threading

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent_graphs.context import Context
from agent_graphs.llm import ModelOutputError
from agent_graphs.llm_compiler.planner import can_stream
from agent_graphs.llm_compiler.settings import CompilerSettings, compiler_settings
from checkpoints import audit
from tests.fakes import call, install
from tests.llm_compiler.compiler_kit import (
    CONTEXT,
    Recorder,
    events_of,
    joiner_finish,
    planner,
    task,
)
from tools.email import read_outbox

WAIT = 10


def _config(thread: str = "t1") -> dict:
    return {"configurable": {"thread_id": thread}, "recursion_limit": 100}


def test_independent_tasks_overlap_and_dependents_wait_for_their_own_inputs(checkpointer, dirs):
    rec = Recorder()
    barrier = threading.Barrier(2, timeout=WAIT)  # a and b pass only if they run at once
    rec.behaviours = {"a": barrier.wait, "b": barrier.wait}
    plan = [task("a"), task("b"), task("c", deps=["a"]), task("d", deps=["b", "c"])]
    install(fallbacks={"planner": planner(plan), "joiner": joiner_finish})
    graph = rec.graph().compile(checkpointer=checkpointer)
    events = events_of(graph, {"goal": "g"}, _config(), {**CONTEXT, **dirs})
    values = graph.get_state(_config()).values
    assert values["status"] == "done", values
    assert {sid: r["ok"] for sid, r in values["results"].items()} == dict.fromkeys("abcd", True)
    assert values["results"]["d"]["output"] == "result of d"
    assert rec.index("end", "a") < rec.index("start", "c")
    assert max(rec.index("end", "b"), rec.index("end", "c")) < rec.index("start", "d")
    kinds = [e["event"] for e in events]
    assert kinds.count("task_started") == 4 and kinds.count("task_finished") == 4
    assert all(e["summary"] for e in events)


def test_streamed_plan_starts_the_first_task_before_the_plan_is_finished(dirs):
    rec = Recorder()
    plan = [task("s1"), task("s2"), task("s3", deps=["s1"]), task("s4")]
    fakes = install(fallbacks={"planner": planner(plan), "joiner": joiner_finish},
                    streaming=("planner",))
    seen: dict[str, bool] = {}

    def hold(n: int, so_far: str) -> None:  # the stream pauses inside the 4th task's JSON
        if '"id": "s4"' in so_far and "s1" not in seen:
            seen["s1"] = rec.event("s1").wait(WAIT)
            seen["s2_done_before_end"] = ("end", "s2") in rec.log or rec.event("s2").wait(WAIT)

    fakes["planner"].on_chunk = hold
    assert can_stream(fakes["planner"])
    graph = rec.graph().compile(checkpointer=InMemorySaver())
    events = events_of(graph, {"goal": "g"}, _config(), {**CONTEXT, **dirs})
    assert seen == {"s1": True, "s2_done_before_end": True}
    planned = [e["event"] for e in events if e["event"] in ("task_started", "plan_created")]
    assert planned.index("task_started") < planned.index("plan_created")
    assert len(fakes["planner"].calls) == 1


def test_a_model_that_cannot_stream_gets_its_whole_plan_scheduled_at_once(dirs):
    rec = Recorder()
    order: list[str] = []
    plan = [task("s1"), task("s2", deps=["s1"]), task("s3")]
    answer = planner(plan)
    def planner_answers(messages, bound):
        order.append("planner answered")
        return answer(messages, bound)

    install(fallbacks={"planner": planner_answers, "joiner": joiner_finish})
    rec.behaviours = {"s1": lambda: order.append("s1 ran")}
    graph = rec.graph().compile(checkpointer=InMemorySaver())
    events = events_of(graph, {"goal": "g"}, _config(), {**CONTEXT, **dirs})
    assert order == ["planner answered", "s1 ran"]
    kinds = [e["event"] for e in events]
    # every task was handed over before the first one started
    last_planned = max(i for i, k in enumerate(kinds) if k == "task_planned")
    assert last_planned < kinds.index("task_started")
    assert graph.get_state(_config()).values["status"] == "done"


def test_a_timed_out_task_fails_only_its_dependents_and_the_joiner_hears_of_it(dirs):
    rec = Recorder()
    release = threading.Event()
    rec.behaviours = {"hang": lambda: release.wait(WAIT)}
    plan = [task("s1", "hang"), task("s2", deps=["s1"]), task("s3"), task("s4", deps=["s3"])]
    fakes = install(fallbacks={"planner": planner(plan), "joiner": joiner_finish})
    graph = rec.graph().compile(checkpointer=InMemorySaver())
    try:
        graph.invoke({"goal": "g"}, _config(), context={**CONTEXT, **dirs, "tool_timeout": 0.5})
    finally:
        release.set()
    results = graph.get_state(_config()).values["results"]
    assert "timed out" in results["s1"]["error"]
    assert results["s2"]["skipped"] and "s1, which timed out" in results["s2"]["error"]
    assert results["s3"]["ok"] and results["s4"]["ok"]
    assert ("start", "s2") not in rec.log
    prompt = fakes["joiner"].calls[0][-1].text
    assert "timed out" in prompt and "result of s4" in prompt


def test_several_approvals_wait_at_once_and_are_answered_by_id(checkpointer, dirs):
    rec = Recorder()
    emails = {sid: {"to": f"{sid}@acme.example", "subject": sid, "body": f"from {sid}: $free"}
              for sid in ("m1", "m2", "m3")}
    plan = [task("free"), task("after_free", deps=["free"]),
            *(task(sid, tool_name="send_email", args=args, deps=["free"])
              for sid, args in emails.items()),
            task("after_m1", deps=["m1"])]
    install(fallbacks={"planner": planner(plan), "joiner": joiner_finish})
    graph = rec.graph().compile(checkpointer=checkpointer)
    context = {**CONTEXT, **dirs}
    # NOTE: three approval branches open the audit database at once; on a brand-new file
    # their concurrent "PRAGMA journal_mode=WAL" can fail with "database is locked"
    # (checkpoints.sqlite.connect; reported). The trail exists before the run here.
    audit.read(thread_id="t1")
    graph.invoke({"goal": "g"}, _config(), context=context, durability="sync")
    state = graph.get_state(_config())
    pending = {i.value["step_id"]: i.id for i in state.interrupts}
    assert set(pending) == {"m1", "m2", "m3"} and len(set(pending.values())) == 3
    # independent work went on while the emails waited
    assert {"free", "after_free"} <= set(state.values["results"]) and not read_outbox(
        dirs["outbox"])
    graph.invoke(Command(resume={pending["m2"]: "approve"}), _config(), context=context,
                 durability="sync")
    still = {i.value["step_id"]: i.id for i in graph.get_state(_config()).interrupts}
    assert still == {"m1": pending["m1"], "m3": pending["m3"]}
    graph.invoke(Command(resume={pending["m1"]: {"action": "reject", "reason": "not now"},
                                 pending["m3"]: {"action": "edit", "args": {
                                     "to": "ceo@acme.example", "subject": "m3",
                                     "body": "edited"}}}),
                 _config(), context=context, durability="sync")
    values = graph.get_state(_config()).values
    assert values["status"] == "done", values["final_answer"]
    sent = read_outbox(dirs["outbox"])
    assert sorted(m["to"] for m in sent) == ["ceo@acme.example", "m2@acme.example"]
    assert {m["to"]: m["body"] for m in sent} == {  # $free resolved before approval
        "m2@acme.example": "from m2: result of free", "ceo@acme.example": "edited"}
    assert values["results"]["m1"]["rejected"] and "not now" in values["results"]["m1"]["error"]
    assert values["results"]["after_m1"]["skipped"] and ("start", "after_m1") not in rec.log
    assert rec.count("start", "free") == 1  # approvals never re-ran finished tasks


def test_the_joiner_replans_with_results_kept_and_never_recomputed(dirs):
    rec = Recorder()
    first = [task("s1", "one"), task("s2", tool_name="calculator", args={"expression": "1/0"})]
    # a small model restarts at s1: the new s1 is renamed, $s1 still means the new one
    second = [task("s1", "two"), task("s3", tool_name="calculator",
                                      args={"expression": "2 * 3"})]
    decisions = iter([
        call("JoinDecision", thought="s2 failed", action="replan", feedback="avoid 1/0"),
        call("JoinDecision", thought="ok", action="finish", answer="six"),
    ])
    fakes = install(fallbacks={"planner": planner(first, second),
                               "joiner": lambda m, b: next(decisions)})
    graph = rec.graph().compile(checkpointer=InMemorySaver())
    graph.invoke({"goal": "g"}, _config(), context={**CONTEXT, **dirs})
    values = graph.get_state(_config()).values
    assert values["status"] == "done" and values["final_answer"] == "six"
    assert set(values["results"]) == {"s1", "s2", "s1_2", "s3"}
    assert values["results"]["s1"]["output"] == "result of one"
    assert values["results"]["s1_2"]["output"] == "result of two"
    assert rec.count("start", "one") == 1
    replan_prompt = fakes["planner"].calls[1][-1].text
    assert "avoid 1/0" in replan_prompt and "result of one" in replan_prompt


def test_the_replan_limit_ends_the_run_as_failed(dirs):
    install(fallbacks={"planner": planner([task("s1")]), "joiner": lambda m, b: call(
        "JoinDecision", thought="not enough", action="replan", feedback="more")})
    graph = Recorder().graph().compile(checkpointer=InMemorySaver())
    values = graph.invoke({"goal": "g"}, _config(), context={**CONTEXT, **dirs,
                                                              "max_replans": 1})
    assert values["status"] == "failed"
    assert "replan limit (1)" in values["final_answer"]


def test_a_plan_that_stays_invalid_is_a_clear_error_and_the_thread_resumes(checkpointer, dirs):
    rec = Recorder()
    bad = [task("s1", deps=["s2"]), task("s2")]  # forward reference
    fakes = install(fallbacks={"planner": planner(bad), "joiner": joiner_finish})
    graph = rec.graph().compile(checkpointer=checkpointer)
    context = {**CONTEXT, **dirs, "max_plan_attempts": 2}
    with pytest.raises(ModelOutputError, match="after 2 attempts.*depends on 's2'"):
        graph.invoke({"goal": "g"}, _config(), context=context, durability="sync")
    feedback = fakes["planner"].calls[1][-1].text
    assert "could not be used" in feedback and "'s2'" in feedback
    assert graph.get_state(_config()).next == ("plan_and_schedule",)
    install(fallbacks={"planner": planner([task("s1")]), "joiner": joiner_finish})
    values = graph.invoke(None, _config(), context=context, durability="sync")
    assert values["status"] == "done" and rec.log == [("start", "s1"), ("end", "s1")]


def test_settings_come_from_the_context_else_the_environment(monkeypatch):
    monkeypatch.setenv("AGENT_GRAPHS_COMPILER_MAX_CONCURRENCY", "3")
    assert compiler_settings(Context()).compiler_max_concurrency == 3
    assert compiler_settings(Context()).compiler_stream_plan is True
    with pytest.raises(ValueError, match="compiler_max_tasks"):
        CompilerSettings(compiler_max_tasks=0)


def test_the_graph_draws_its_routes():
    from agent_graphs.llm_compiler.graph import graph

    drawing = graph.get_graph().draw_mermaid()
    for edge in ("plan_and_schedule -.-> approve", "plan_and_schedule -.-> join",
                 "approve --> plan_and_schedule", "join -.-> plan_and_schedule"):
        assert edge in drawing, drawing
