"""Human in the loop: risk tiers, decisions, parallel approvals by id, the four
checkpoint strategies, the audit trail, and the Python surface (agent_graphs.hitl).

Routes already covered in tests/plan_execute/test_graph.py (approve, reject reaching the
replanner, edit and three bad payloads) are extended here, not repeated.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send
from typing_extensions import TypedDict

from agent_graphs.approval import gate_reasons, request_approval, thread_id
from agent_graphs.context import Context
from agent_graphs.graphs import compile_graph, run_config
from agent_graphs.hitl import decide, find_approval, pending_approvals, resume_map
from checkpoints import audit
from tests.fakes import call, fake_context, install
from tests.plan_execute.test_graph import OK, email_plan, outbox, plan, run, step
from tools import Risk, Toolbox, ToolSettings

EMAIL = {"to": "vp@acme.example", "subject": "Hi", "body": "Q2"}


@pytest.fixture(autouse=True)
def audit_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nodes write the audit trail to $AGENT_GRAPHS_DB: the checkpointer fixture's file."""
    path = tmp_path / "checkpoints.sqlite"
    monkeypatch.setenv("AGENT_GRAPHS_DB", str(path))
    return path


def trail(thread: str = "t1") -> list[audit.AuditRecord]:
    return audit.read(thread_id=thread)


def kinds(thread: str = "t1") -> list[str]:
    return [r.kind for r in trail(thread)]


def resume(graph, config, dirs, answer, **ctx):
    graph.invoke(Command(resume=answer), config, context=fake_context(**dirs, **ctx))
    return graph.get_state(config)


# --- risk tiers ---------------------------------------------------------------------------


def test_low_risk_runs_at_once_and_is_not_audited(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {"expression": "2+2"})), "4"],
            executor=[call("calculator", expression="2+2")], critic=[OK])
    graph, config, events = run(checkpointer, dirs)
    assert graph.get_state(config).values["status"] == "done"
    assert not any(e["event"] == "approval_requested" for e in events)
    assert trail() == []


def test_medium_risk_runs_at_once_and_is_audited(checkpointer, dirs):
    args = {"path": "notes/q2.txt", "content": "revenue up"}
    install(planner=[plan(step("s1", "write_file", args)), "written"],
            executor=[call("write_file", **args)], critic=[OK])
    graph, config, events = run(checkpointer, dirs)
    assert graph.get_state(config).values["status"] == "done"
    assert not graph.get_state(config).interrupts
    assert (Path(dirs["workspace"]) / "notes/q2.txt").read_text() == "revenue up"
    [record] = trail()
    assert record.kind == "tool_executed" and record.thread_id == "t1"
    assert record.actor == "agent" and record.at  # who and when
    assert record.data["tool"] == "write_file" and record.data["risk"] == "medium"
    assert record.data["args"] == args and record.data["ok"] is True
    assert "q2.txt" in record.data["result"]
    assert record.key.startswith("t1:s1:")


def test_high_risk_pauses_with_a_self_explanatory_request(checkpointer, dirs):
    install(planner=[email_plan()], executor=[call("send_email", **EMAIL)], critic=[])
    graph, config, _ = run(checkpointer, dirs)
    [pending] = graph.get_state(config).interrupts
    request = pending.value
    assert request["kind"] == "tool_call" and request["tool"] == "send_email"
    assert request["args"] == EMAIL and request["risk"] == "high"
    assert request["why"] == "email the VP" and request["step_id"] == "s1"
    assert request["plan"] == ["s1: send_email - email the VP"] and request["goal"] == "goal"
    assert request["reasons"] and "high-risk" in request["reasons"][0]
    assert request["idempotency_key"].startswith("t1:s1:")
    assert request["delivery"].startswith("exactly-once")
    assert outbox(dirs) == []
    assert kinds() == ["approval_requested"]


def test_smtp_delivery_is_shown_as_at_least_once(checkpointer, dirs, monkeypatch):
    monkeypatch.setenv("AGENT_GRAPHS_SMTP_HOST", "127.0.0.1")  # never reached: not approved
    install(planner=[email_plan()], executor=[call("send_email", **EMAIL)], critic=[])
    graph, config, _ = run(checkpointer, dirs)
    [pending] = graph.get_state(config).interrupts
    assert pending.value["delivery"].startswith("at-least-once: SMTP cannot deduplicate")


def test_unknown_tool_is_high_and_thresholds_come_from_the_owner(tmp_path):
    box = Toolbox(ToolSettings.from_env(workspace=tmp_path, outbox=tmp_path / "o.jsonl"))
    assert box.risk("nope") is Risk.HIGH
    high, medium, low = Context(), Context(approval_risk="medium"), Context(approval_risk="low")
    assert gate_reasons(high, risk=box.risk("nope").value)
    assert gate_reasons(high, risk="made-up-tier")  # not a known tier: treated as high
    assert gate_reasons(high, risk="medium") == [] and gate_reasons(high, risk="low") == []
    assert gate_reasons(medium, risk="medium") and gate_reasons(medium, risk="low") == []
    assert gate_reasons(low, risk="low")
    # HIGH asks under every threshold
    assert all(gate_reasons(c, risk="high") for c in (high, medium, low))


def test_approval_risk_medium_makes_write_file_ask(checkpointer, dirs):
    args = {"path": "a.txt", "content": "x"}
    install(planner=[plan(step("s1", "write_file", args)), "ok"],
            executor=[call("write_file", **args)], critic=[OK])
    graph, config, _ = run(checkpointer, dirs, approval_risk="medium")
    [pending] = graph.get_state(config).interrupts
    assert pending.value["risk"] == "medium"
    assert pending.value["reasons"] == ["medium-risk tool and approval_risk is medium"]
    assert not (Path(dirs["workspace"]) / "a.txt").exists()
    state = resume(graph, config, dirs, {pending.id: {"action": "approve", "by": "ann"}},
                   approval_risk="medium")
    assert state.values["status"] == "done"
    executed = [r for r in trail() if r.kind == "tool_executed"]
    assert [r.actor for r in executed] == ["ann"]


def test_the_model_cannot_lower_a_tools_risk(checkpointer, dirs):
    # The planner labels the step low-risk and the executor slips risk and an
    # idempotency key into the arguments: the gate still reads the registry.
    sneaky = {**step("s1", "send_email", EMAIL, desc="email the VP"), "risk": "low"}
    install(planner=[plan(sneaky)],
            executor=[call("send_email", **EMAIL, risk="low", idempotency_key="forged")],
            critic=[])
    graph, config, _ = run(checkpointer, dirs, approval_risk="high")
    [pending] = graph.get_state(config).interrupts
    assert pending.value["risk"] == "high"
    assert pending.value["args"] == EMAIL  # neither risk nor the key got through
    assert pending.value["idempotency_key"] != "forged"
    assert "risk" not in graph.get_state(config).values["plan"][0]


# --- decisions ----------------------------------------------------------------------------


def test_reject_reason_is_audited_and_reaches_the_replanner(checkpointer, dirs):
    fakes = install(planner=[email_plan(), plan(), "not sent"],
                    executor=[call("send_email", **EMAIL)], critic=[])
    graph, config, _ = run(checkpointer, dirs)
    [pending] = graph.get_state(config).interrupts
    resume(graph, config, dirs,
           {pending.id: {"action": "reject", "reason": "wait for the audit", "by": "bob"}})
    assert "wait for the audit" in fakes["planner"].calls[1][0].content
    assert outbox(dirs) == []
    decided = [r for r in trail() if r.kind == "approval_decided"]
    assert [(r.actor, r.data["action"], r.data["reason"]) for r in decided] == [
        ("bob", "reject", "wait for the audit")]
    assert "tool_executed" not in kinds()


@pytest.mark.parametrize("bad", [42, ["approve"], {"action": "later"},
                                 {"action": "approve", "args": "x"},
                                 {"action": "edit", "args": {"to": "not an address"}},
                                 {"action": "edit", "args": {"to": 42}},
                                 {"decisions": [{"type": "edit", "edited_action": {
                                     "name": "send_email", "args": {"subject": "no to"}}}]}])
def test_a_bad_answer_keeps_the_run_paused_with_nothing_lost(checkpointer, dirs, bad):
    install(planner=[email_plan(), "sent"], executor=[call("send_email", **EMAIL)],
            critic=[OK])
    graph, config, _ = run(checkpointer, dirs)
    [first] = graph.get_state(config).interrupts
    state = resume(graph, config, dirs, {first.id: bad})
    [again] = state.interrupts  # still pending under the same id, with the error
    assert again.id == first.id and "not applied" in again.value["error"]
    assert again.value["args"] == EMAIL  # the original request is intact
    assert state.next == ("approve",) and outbox(dirs) == []
    state = resume(graph, config, dirs, {again.id: "approve"})
    assert state.values["status"] == "done" and len(outbox(dirs)) == 1


def test_edit_is_validated_and_injected_keys_are_dropped(checkpointer, dirs):
    install(planner=[email_plan(), "sent"], executor=[call("send_email", **EMAIL)],
            critic=[OK])
    graph, config, _ = run(checkpointer, dirs)
    edited = {"to": "ceo@acme.example", "subject": "Hi", "body": "Q2",
              "idempotency_key": "forged"}
    state = resume(graph, config, dirs, {"action": "edit", "args": edited})
    assert state.values["status"] == "done"
    [sent] = outbox(dirs)
    assert sent["to"] == "ceo@acme.example" and sent["idempotency_key"] != "forged"
    [decided] = [r for r in trail() if r.kind == "approval_decided"]
    assert decided.data["args"] == {"to": "ceo@acme.example", "subject": "Hi", "body": "Q2"}


# --- several pending approvals, answered by id -------------------------------------------


class Fan(TypedDict):
    to: list[str]
    sent: Annotated[list[str], operator.add]


def _fan_out(state: Fan) -> list[Send]:
    return [Send("ask", {"to": [to]}) for to in state["to"]]


def ask(state: Fan) -> dict:
    [to] = state["to"]
    decision = request_approval(
        {"kind": "tool_call", "tool": "send_email", "args": {"to": to}, "risk": "high",
         "reasons": ["parallel branch"]},
        key=f"{thread_id()}:{to}", check_args=lambda args: args,
    )
    return {"sent": [f"{to}:{decision.action}"]}


def _fan_graph(checkpointer):
    builder = StateGraph(Fan)
    builder.add_node(ask)
    builder.add_conditional_edges(START, _fan_out, ["ask"])
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=checkpointer)


def _start_fan(checkpointer, thread="fan"):
    graph = _fan_graph(checkpointer)
    config = {"configurable": {"thread_id": thread}}
    graph.invoke({"to": ["a@x.example", "b@x.example"], "sent": []}, config)
    return graph, config


def test_answering_one_of_two_parallel_requests_leaves_the_other_pending(checkpointer):
    graph, config = _start_fan(checkpointer)
    pending = {i.value["args"]["to"]: i.id for i in graph.get_state(config).interrupts}
    assert sorted(pending) == ["a@x.example", "b@x.example"]
    listed = pending_approvals(checkpointer)
    assert sorted(p.interrupt_id for p in listed) == sorted(pending.values())
    assert {p.thread_id for p in listed} == {"fan"}

    state = decide(graph, "fan", {pending["a@x.example"]: "approve"}, by="ann")
    assert [i.id for i in state.interrupts] == [pending["b@x.example"]]
    assert [p.interrupt_id for p in pending_approvals(checkpointer)] == [pending["b@x.example"]]
    assert find_approval(checkpointer, pending["a@x.example"]) is None

    state = decide(graph, "fan", {pending["b@x.example"]: {"action": "reject", "reason": "no"}})
    assert state.interrupts == () and state.next == ()
    assert sorted(state.values["sent"]) == ["a@x.example:approve", "b@x.example:reject"]
    assert pending_approvals(checkpointer) == []
    decided = {r.key: r.actor for r in trail("fan") if r.kind == "approval_decided"}
    assert decided["fan:a@x.example"] == "ann" and decided["fan:b@x.example"]  # OS user


def test_answering_all_parallel_requests_at_once(checkpointer):
    graph, config = _start_fan(checkpointer)
    ids = [i.id for i in graph.get_state(config).interrupts]
    graph.invoke(Command(resume={i: "approve" for i in ids}), config)
    state = graph.get_state(config)
    assert state.interrupts == ()
    assert sorted(state.values["sent"]) == ["a@x.example:approve", "b@x.example:approve"]
    assert kinds("fan").count("approval_decided") == 2


def test_one_payload_answers_every_pending_request(checkpointer):
    graph, _ = _start_fan(checkpointer)
    state = decide(graph, "fan", "approve")
    assert sorted(state.values["sent"]) == ["a@x.example:approve", "b@x.example:approve"]


def test_decide_refuses_unknown_ids_and_threads(checkpointer):
    graph, config = _start_fan(checkpointer)
    with pytest.raises(ValueError, match="no pending request"):
        decide(graph, "fan", {"0" * 32: "approve"})
    with pytest.raises(ValueError, match="no thread"):
        decide(graph, "nope", "approve")
    assert len(graph.get_state(config).interrupts) == 2  # nothing was consumed
    with pytest.raises(ValueError, match="nothing is waiting"):
        resume_map([], "approve")


def test_resume_map_signs_decisions_but_passes_bad_ones_on():
    assert resume_map(["i1"], "yes", by="ann") == {"i1": {"action": "approve", "by": "ann"}}
    assert resume_map(["i1"], {"action": "reject", "by": "bob"}, by="ann")["i1"]["by"] == "bob"
    assert resume_map(["i1", "i2"], "maybe", by="ann") == {"i1": "maybe", "i2": "maybe"}


# --- checkpoint strategies ----------------------------------------------------------------


def test_plan_approval_approve(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {"expression": "1+1"})), "2"],
            executor=[call("calculator", expression="1+1")], critic=[OK])
    graph, config, _ = run(checkpointer, dirs, approve_plan=True)
    state = graph.get_state(config)
    [pending] = state.interrupts
    assert state.next == ("review_plan",)
    assert not state.values.get("results")  # nothing ran before the plan was approved
    assert pending.value["kind"] == "plan" and pending.value["risk"] == "low"
    assert [s["id"] for s in pending.value["steps"]] == ["s1"]
    state = resume(graph, config, dirs, "approve", approve_plan=True)
    assert state.values["status"] == "done"


def test_plan_approval_edit_is_validated(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {"expression": "1+1"})), "6"],
            executor=[call("calculator", expression="2*3")], critic=[OK])
    graph, config, _ = run(checkpointer, dirs, approve_plan=True)
    bad = {"action": "edit", "args": {"steps": [step("x", "teleport", {})]}}
    state = resume(graph, config, dirs, bad, approve_plan=True)
    assert "unknown tool 'teleport'" in state.interrupts[0].value["error"]
    good = {"action": "edit", "args": {"steps": [step("s9", "calculator", {"expression": "2*3"})]}}
    state = resume(graph, config, dirs, good, approve_plan=True)
    assert state.values["status"] == "done"
    assert list(state.values["results"]) == ["s9"]


def test_plan_approval_reject_replans_with_the_reason(checkpointer, dirs):
    fakes = install(
        planner=[plan(step("s1", "send_email", EMAIL)),
                 plan(step("s1", "calculator", {"expression": "3"})), "3"],
        executor=[call("calculator", expression="3")], critic=[OK])
    graph, config, _ = run(checkpointer, dirs, approve_plan=True)
    assert graph.get_state(config).interrupts[0].value["risk"] == "high"
    state = resume(graph, config, dirs, {"action": "reject", "reason": "no emails today"},
                   approve_plan=True)
    assert "no emails today" in fakes["planner"].calls[1][0].content
    [again] = state.interrupts  # the new plan is shown again before it runs
    assert again.value["kind"] == "plan" and again.value["steps"][0]["tool"] == "calculator"
    state = resume(graph, config, dirs, "approve", approve_plan=True)
    assert state.values["status"] == "done" and outbox(dirs) == []
    assert kinds().count("approval_requested") == 2


def test_confidence_gating(checkpointer, dirs):
    install(planner=[plan({**step("s1", "calculator", {"expression": "1"}), "confidence": 0.3},
                          {**step("s2", "calculator", {"expression": "2"}), "confidence": 0.9}),
                     "2"],
            executor=[call("calculator", expression="1"), call("calculator", expression="2")],
            critic=[OK, OK])
    graph, config, _ = run(checkpointer, dirs, min_confidence=0.5)
    [pending] = graph.get_state(config).interrupts
    assert pending.value["step_id"] == "s1" and pending.value["risk"] == "low"
    assert pending.value["reasons"] == ["planner confidence 0.30 is below 0.50"]
    state = resume(graph, config, dirs, "approve", min_confidence=0.5)
    assert state.interrupts == () and state.values["status"] == "done"  # s2 did not ask


def test_token_budget_gating_grants_a_budget_per_yes(checkpointer, dirs):
    # Every fake call costs 15 tokens: the plan 15, then 15 a step for the executor (the
    # planned expressions are placeholders, so each step needs it; no critic is asked).
    steps = [step(f"s{i}", "calculator", {"expression": f"s{i}0"}) for i in range(1, 5)]
    install(planner=[plan(*steps), "4"],
            executor=[call("calculator", expression=str(i)) for i in range(1, 5)])
    graph, config, _ = run(checkpointer, dirs, token_budget=20)
    [pending] = graph.get_state(config).interrupts  # s1 reaches 30
    assert pending.value["step_id"] == "s1"
    assert pending.value["reasons"] == ["30 tokens used; the approved budget is 20"]
    state = resume(graph, config, dirs, "approve", token_budget=20)
    [pending] = state.interrupts  # s2 fits the new budget (50); s3 would reach 60
    assert pending.value["step_id"] == "s3"
    assert pending.value["reasons"] == ["60 tokens used; the approved budget is 50"]
    state = resume(graph, config, dirs, "approve", token_budget=20)
    assert state.values["status"] == "done" and set(state.values["results"]) == {
        "s1", "s2", "s3", "s4"}


# --- the audit trail ----------------------------------------------------------------------


def test_audit_records_each_request_decision_and_execution_once(checkpointer, dirs):
    install(planner=[email_plan(), "sent"], executor=[call("send_email", **EMAIL)],
            critic=[OK])
    graph, config, _ = run(checkpointer, dirs)
    # bad answers replay the approve node; the request is recorded once all the same
    for bad in ("maybe", {"action": "edit"}):
        resume(graph, config, dirs, bad)
    state = resume(graph, config, dirs, {"action": "approve", "by": "carol"})
    assert state.values["status"] == "done"
    assert kinds() == ["approval_requested", "approval_decided", "tool_executed"]
    requested, decided, executed = trail()
    key = requested.key
    assert decided.key == executed.key == key == state.values["results"]["s1"]["key"]
    assert requested.actor == "agent" and requested.data["tool"] == "send_email"
    assert decided.actor == "carol" and decided.data["action"] == "approve"
    assert executed.actor == "carol" and executed.data["ok"] is True
    assert executed.data["args"] == EMAIL and "Email sent" in executed.data["result"]
    assert [m["idempotency_key"] for m in outbox(dirs)] == [key]


def test_python_surface_lists_and_decides_across_threads(checkpointer, dirs):
    install(planner=[email_plan(), email_plan(), "sent", "sent"],
            executor=[call("send_email", **EMAIL)] * 2, critic=[OK, OK])
    graph = compile_graph("plan_execute", checkpointer)
    for thread in ("t1", "t2"):
        graph.invoke({"goal": "g"}, run_config(thread, graph_id="plan_execute",
                                               context=fake_context(**dirs)),
                     context=fake_context(**dirs))
    pending = pending_approvals(checkpointer)
    assert sorted(p.thread_id for p in pending) == ["t1", "t2"]
    assert {p.tool for p in pending} == {"send_email"} and {p.risk for p in pending} == {"high"}
    first = next(p for p in pending if p.thread_id == "t1")
    # decide() reuses the settings stored with the thread: no context needed
    state = decide(graph, "t1", {first.interrupt_id: "approve"}, by="dana")
    assert state.values["status"] == "done"
    assert [p.thread_id for p in pending_approvals(checkpointer)] == ["t2"]
    assert [m["idempotency_key"].split(":")[0] for m in outbox(dirs)] == ["t1"]


def test_a_different_answer_to_a_replayed_request_is_audited_too():
    """Through the gate: the same request (same thread, same key) asked again after its
    state was lost, as after a crash before the answer was stored, is recorded once; a
    different answer to it is a new fact and is recorded too."""
    from langgraph.checkpoint.memory import InMemorySaver

    for answer in ("approve", "approve", "reject"):
        graph = _fan_graph(InMemorySaver())  # the earlier answer is gone with the state
        config = {"configurable": {"thread_id": "t"}}
        graph.invoke({"to": ["a@x.example"], "sent": []}, config)
        graph.invoke(Command(resume=answer), config)
    decided = [r for r in audit.read(thread_id="t") if r.kind == "approval_decided"]
    assert [r.data["action"] for r in decided] == ["approve", "reject"]
    assert [r.kind for r in audit.read(thread_id="t")].count("approval_requested") == 1
