"""Every route of the plan-and-execute graph, driven by scripted models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langgraph.errors import GraphRecursionError
from langgraph.types import Command

from agent_graphs.graphs import compile_graph, run_config
from agent_graphs.llm import ModelOutputError
from tests.fakes import call, fake_context, install


def step(id, tool, args, deps=(), desc=None):
    return {"id": id, "description": desc or f"do {id}", "tool": tool, "args": args,
            "depends_on": list(deps), "expected_output": "a result"}


def plan(*steps):
    return call("Plan", steps=list(steps))


OK = call("StepEvaluation", success=True, issues="", suggestion="")


def run(checkpointer, dirs, goal="goal", thread="t1", **ctx):
    graph = compile_graph("plan_execute", checkpointer)
    config = run_config(thread, graph_id="plan_execute")
    events = []
    for mode, chunk in graph.stream({"goal": goal}, config, context=fake_context(**dirs, **ctx),
                                    stream_mode=["custom", "updates"]):
        if mode == "custom":
            events.append(chunk)
    return graph, config, events


def test_references_bind_results_and_need_no_executor_or_critic(checkpointer, dirs):
    fakes = install(
        planner=[plan(step("s1", "calculator", {"expression": "2+3"}),
                      step("s2", "calculator", {"expression": "$s1 * 10"}, deps=["s1"])),
                 "The answer is 50."],
        executor=[], critic=[],
    )
    graph, config, events = run(checkpointer, dirs)
    values = graph.get_state(config).values
    assert values["status"] == "done"
    assert values["final_answer"] == "The answer is 50."
    assert values["results"]["s1"]["output"] == "5" and values["results"]["s1"]["value"] == 5
    assert values["results"]["s2"]["args"] == {"expression": "5 * 10"}  # bound, not copied
    assert values["results"]["s2"]["output"] == "50"
    # complete planned args run as planned; a calculator's number needs no critic
    assert fakes["executor"].calls == [] and fakes["critic"].calls == []
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan_created" and kinds[-1] == "finished"
    assert kinds.count("step_started") == 2 and kinds.count("step_evaluated") == 2
    assert values["usage"]["output_tokens"] > 0


def test_a_placeholder_names_the_step_it_stands_for(checkpointer, dirs):
    """A small planner's "(Q2 - Q1) / Q1 * 100" becomes references to the steps that
    looked those quarters up, with the dependencies it forgot."""
    fakes = install(
        planner=[plan(step("s1", "calculator", {"expression": "9.2"}, desc="Q1 2025 revenue"),
                      step("s2", "calculator", {"expression": "13"}, desc="Q2 2026 revenue"),
                      step("s3", "calculator", {"expression": "(Q2 - Q1) / Q1 * 100"})),
                 "Growth: 41.3%."],
        executor=[],
    )
    graph, config, _ = run(checkpointer, dirs, goal="Growth from Q1 (9.2) to Q2 (13)?")
    values = graph.get_state(config).values
    assert values["status"] == "done", values["final_answer"]
    assert values["plan"][2]["args"] == {"expression": "($s2 - $s1) / $s1 * 100"}
    assert sorted(values["plan"][2]["depends_on"]) == ["s1", "s2"]
    assert values["results"]["s3"]["output"] == "41.30434783"
    assert fakes["executor"].calls == []


def test_a_calculation_over_numbers_nobody_found_is_refused(checkpointer, dirs):
    fakes = install(planner=[
        plan(step("s1", "search", {"query": "Acme revenue Q1 2025"}),
             step("s2", "calculator", {"expression": "(13.0 - 9.2) / 9.2 * 100"})),
        plan(step("s1", "search", {"query": "Acme revenue Q1 2025"}))], executor=[])
    with pytest.raises(ModelOutputError, match="computes with 13.0, 9.2"):
        run(checkpointer, dirs, max_plan_attempts=1)
    assert len(fakes["planner"].calls) == 1


def test_incomplete_planned_args_go_to_the_executor_with_earlier_results(checkpointer, dirs):
    fakes = install(
        planner=[plan(step("s1", "calculator", {"expression": "2+3"}),
                      step("s2", "calculator", {"expression": "x*10"}, deps=["s1"])),
                 "The answer is 50."],
        executor=[call("calculator", expression="5*10")],
    )
    graph, config, _ = run(checkpointer, dirs)
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["results"]["s2"]["output"] == "50"
    # the executor saw step s1's result when filling in s2's arguments
    assert "<result step='s1'>5</result>" in fakes["executor"].calls[0][0].content
    # the executor was forced to call exactly the step's tool
    assert fakes["executor"].bound[0]["tool_choice"] == "calculator"
    assert all(f.remaining == 0 for f in fakes.values())


def test_tool_failure_replans_and_keeps_completed_steps(checkpointer, dirs):
    fakes = install(
        planner=[plan(step("s1", "calculator", {"expression": "1+1"}),
                      step("s2", "calculator", {"expression": "1/0"}, deps=["s1"])),
                 plan(step("s3", "calculator", {"expression": "2*3"}, deps=["s1"])),
                 "6"],
        executor=[], critic=[],  # complete args, judged by their results: no model needed
    )
    graph, config, events = run(checkpointer, dirs)
    values = graph.get_state(config).values
    assert values["status"] == "done"
    assert values["replans"] == 1
    assert [s["id"] for s in values["plan"]] == ["s1", "s3"]
    assert set(values["results"]) == {"s1", "s3"}
    assert len(values["failures"]) == 1 and values["failures"][0]["step_id"] == "s2"
    # the replanner saw the failure and the kept result
    replan_prompt = fakes["planner"].calls[1][0].content
    assert "- s2 calculator" in replan_prompt and "- s1 calculator" in replan_prompt
    assert sum(e["event"] == "step_started" for e in events) == 3  # s1 ran once, not again
    assert all(f.remaining == 0 for f in fakes.values())


def test_a_search_that_finds_nothing_fails_without_a_critic(checkpointer, dirs):
    fakes = install(
        planner=[plan(step("s1", "search", {"query": "zzqx wvvk"})),
                 plan(step("s2", "search", {"query": "acme quarterly revenue 2025"})),
                 "done"],
        executor=[], critic=[],
    )
    graph, config, _ = run(checkpointer, dirs)
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["replans"] == 1
    assert "found nothing" in values["failures"][0]["evaluation"]["issues"]
    assert fakes["critic"].calls == []


def test_the_critic_judges_a_tool_the_runtime_cannot(checkpointer, dirs):
    from langchain_core.tools import tool

    from agent_graphs.plan_execute.graph import build_graph
    from tools import Risk

    @tool
    def lookup(key: str) -> str:
        """Look a key up."""
        return f"value of {key}"

    fakes = install(
        planner=[plan(step("s1", "lookup", {"key": "a"})),
                 plan(step("s2", "lookup", {"key": "b"})), "done"],
        critic=[call("StepEvaluation", success=False, issues="no figures", suggestion="narrow"),
                OK],
    )
    graph = build_graph(tools={"lookup": (lookup, Risk.LOW)}).compile(checkpointer=checkpointer)
    config = run_config("t1", graph_id="plan_execute")
    graph.invoke({"goal": "g"}, config, context=fake_context(**dirs))
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["replans"] == 1
    assert values["failures"][0]["evaluation"]["issues"] == "no figures"
    assert len(fakes["critic"].calls) == 2


def test_replan_limit_ends_with_reason(checkpointer, dirs):
    fakes = install(
        planner=[plan(step("s1", "calculator", {"expression": "1/0"}))],
        executor=[call("calculator", expression="1/0")],
        critic=[],
    )
    graph, config, _ = run(checkpointer, dirs, max_replans=0)
    values = graph.get_state(config).values
    assert values["status"] == "failed"
    assert "replan limit (0)" in values["final_answer"] and "s1" in values["final_answer"]
    assert graph.get_state(config).next == ()
    assert fakes["planner"].remaining == 0


def test_invalid_plans_go_back_as_feedback(checkpointer, dirs):
    fakes = install(
        planner=[plan(step("s1", "teleport", {})),
                 plan(step("a", "calculator", {"expression": "1"}, deps=["b"]),
                      step("b", "calculator", {"expression": "2"}, deps=["a"])),
                 call("Plan", steps="not a list"),
                 plan(step("s1", "calculator", {"expression": "1"})),
                 "1"],
        executor=[call("calculator", expression="1")],
        critic=[OK],
    )
    graph, config, events = run(checkpointer, dirs, max_plan_attempts=4)
    assert graph.get_state(config).values["status"] == "done"
    feedback = [m[-1].content for m in fakes["planner"].calls[1:4]]
    # the plan grammar knows each tool and its arguments: the problem names the tool
    assert "tool: Input should be 'calculator'" in feedback[0] and "'teleport'" in feedback[0]
    assert "cycle" in feedback[1]
    assert "did not fit the Plan schema" in feedback[2]
    assert sum(e["event"] == "plan_rejected" for e in events) == 3


def test_invalid_plan_limit_raises_clear_error_and_stays_resumable(checkpointer, dirs):
    install(planner=[plan(step("s1", "teleport", {}))] * 2, executor=[], critic=[])
    with pytest.raises(ModelOutputError, match="tool: Input should be"):
        run(checkpointer, dirs, max_plan_attempts=2)
    graph = compile_graph("plan_execute", checkpointer)
    config = run_config("t1", graph_id="plan_execute")
    assert graph.get_state(config).next == ("plan",)
    # a better model (or a retry) continues the same thread from its checkpoint
    install(planner=[plan(step("s1", "calculator", {"expression": "4"})), "4"],
            executor=[call("calculator", expression="4")], critic=[OK])
    graph.invoke(None, config, context=fake_context(**dirs))
    assert graph.get_state(config).values["status"] == "done"


def test_bad_executor_output_is_a_failed_step(checkpointer, dirs):
    install(
        planner=[plan(step("s1", "calculator", {"expression": "s9 + 1"})),
                 plan(step("s2", "calculator", {"expression": "2"})), "2"],
        executor=["I refuse to call tools", call("calculator", wrong="x")],
    )
    graph, config, _ = run(checkpointer, dirs)
    values = graph.get_state(config).values
    assert values["status"] == "done"
    assert "executor" in values["failures"][0]["error"]


def test_step_limit_counts_steps_across_replans(checkpointer, dirs):
    install(
        planner=[plan(step("s1", "calculator", {"expression": "1"}),
                      step("s2", "calculator", {"expression": "1/0"})),
                 plan(step("s3", "calculator", {"expression": "2"}))],
        executor=[], critic=[],
    )
    graph, config, _ = run(checkpointer, dirs, max_steps=2)
    values = graph.get_state(config).values
    assert values["status"] == "failed" and "step limit (2)" in values["final_answer"]
    assert "Completed steps: s1" in values["final_answer"]


def test_plan_longer_than_step_limit_is_rejected(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {}), step("s2", "calculator", {}))],
            executor=[], critic=[])
    with pytest.raises(ModelOutputError, match="at most 1 item"):
        run(checkpointer, dirs, max_steps=1, max_plan_attempts=1)


def test_low_recursion_limit_stops_gracefully(dirs):
    install(
        planner=[plan(*[step(f"s{i}", "calculator", {"expression": str(i)}) for i in range(7)])],
        executor=[call("calculator", expression=str(i)) for i in range(7)],
        critic=[OK] * 7,
    )
    graph = compile_graph("plan_execute")
    try:
        out = graph.invoke({"goal": "g"}, {"recursion_limit": 15}, context=fake_context(**dirs))
    except GraphRecursionError:  # pragma: no cover - the point of the test
        pytest.fail("the graph hit LangGraph's recursion limit instead of stopping itself")
    assert out["status"] == "failed" and "recursion limit" in out["final_answer"]


def email_plan():
    return plan(step("s1", "send_email", {"to": "vp@acme.example", "subject": "Hi", "body": "Q2"},
                     desc="email the VP"))


def outbox(dirs) -> list[dict]:
    path = Path(dirs["outbox"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_high_risk_tool_waits_for_approval_then_runs_once(checkpointer, dirs):
    install(planner=[email_plan(), "sent"],
            executor=[call("send_email", to="vp@acme.example", subject="Hi", body="Q2")],
            critic=[OK])
    graph, config, events = run(checkpointer, dirs)
    snapshot = graph.get_state(config)
    assert snapshot.next == ("approve",) and outbox(dirs) == []
    request = snapshot.interrupts[0].value
    assert request["tool"] == "send_email" and request["risk"] == "high"
    assert request["why"] == "email the VP" and request["args"]["to"] == "vp@acme.example"
    assert any(e["event"] == "approval_requested" for e in events)
    graph.invoke(Command(resume={snapshot.interrupts[0].id: "approve"}), config,
                 context=fake_context(**dirs))
    assert graph.get_state(config).values["status"] == "done"
    assert len(outbox(dirs)) == 1


def test_rejection_reaches_the_replanner(checkpointer, dirs):
    fakes = install(planner=[email_plan(), plan(), "not sent"],
                    executor=[call("send_email", to="vp@acme.example", subject="Hi", body="Q2")],
                    critic=[])
    graph, config, _ = run(checkpointer, dirs)
    graph.invoke(Command(resume={"action": "reject", "reason": "not before Monday"}), config,
                 context=fake_context(**dirs))
    values = graph.get_state(config).values
    assert outbox(dirs) == []
    assert "not before Monday" in fakes["planner"].calls[1][0].content
    assert values["failures"][0]["rejected"] is True


def test_edit_and_bad_payload(checkpointer, dirs):
    install(planner=[email_plan(), "sent"],
            executor=[call("send_email", to="vp@acme.example", subject="Hi", body="Q2")],
            critic=[OK])
    graph, config, _ = run(checkpointer, dirs)
    ctx = fake_context(**dirs)
    for bad in ("maybe", {"action": "edit"}, {"action": "edit", "args": {"to": 5}}):
        graph.invoke(Command(resume=bad), config, context=ctx)
        snapshot = graph.get_state(config)
        assert snapshot.next == ("approve",), bad
        assert "not applied" in snapshot.interrupts[0].value["error"]
    assert outbox(dirs) == []
    graph.invoke(Command(resume={"action": "edit", "args": {
        "to": "ceo@acme.example", "subject": "Hi", "body": "Q2"}}), config, context=ctx)
    assert [m["to"] for m in outbox(dirs)] == ["ceo@acme.example"]


def test_replan_reusing_a_completed_id_is_renumbered(checkpointer, dirs):
    install(
        planner=[plan(step("s1", "calculator", {"expression": "1+1"}),
                      step("s2", "calculator", {"expression": "1/0"}, deps=["s1"])),
                 # a small model starts again at s1; its own s1 is renamed, references follow
                 plan(step("s1", "calculator", {"expression": "3"}),
                      step("s4", "calculator", {"expression": "$s1*2"}, deps=["s1"])),
                 "6"],
        executor=[], critic=[],
    )
    graph, config, _ = run(checkpointer, dirs)
    values = graph.get_state(config).values
    assert values["status"] == "done"
    # the new s1 clashes with the completed s1 and s2 with the failed s2: both renamed
    assert [s["id"] for s in values["plan"]] == ["s1", "s3", "s4"]
    assert values["plan"][2]["depends_on"] == ["s3"]
    assert values["plan"][2]["args"] == {"expression": "${s3}*2"}
    assert values["results"]["s1"]["output"] == "2" and values["results"]["s4"]["output"] == "6"


def test_a_reference_declares_its_dependency(checkpointer, dirs):
    """A small planner writes $s1 but leaves depends_on empty: the reference says it all."""
    install(planner=[plan(step("s1", "calculator", {"expression": "2+3"}),
                          step("s2", "calculator", {"expression": "$s1 * 10"})), "50"])
    graph, config, events = run(checkpointer, dirs)
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["plan"][1]["depends_on"] == ["s1"]
    assert not any(e["event"] == "plan_rejected" for e in events)


def test_a_reference_to_a_later_or_missing_step_is_still_a_plan_error(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {"expression": "$s2 + 1"}),
                          step("s2", "calculator", {"expression": "$s9 * 2"}))])
    with pytest.raises(ModelOutputError) as err:
        run(checkpointer, dirs, max_plan_attempts=1)
    assert "refers to $s2 but does not list" in str(err.value)  # s2 comes later
    assert "refers to $s9, which does not exist" in str(err.value)
