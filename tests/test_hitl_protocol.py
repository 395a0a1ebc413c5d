"""Approvals in LangChain's human-in-the-loop protocol: the request's shape (checked
against langchain's own TypedDicts), both answer forms, ``allowed_decisions`` enforced,
one interrupt id for a whole pause, events once across replays and a crash, and only
valid calls reaching a person.

The CLI's side is in tests/test_cli_approvals.py, the dev server's in
tests/test_dev_server.py.
"""

from __future__ import annotations

import json
import operator
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain.agents.middleware import human_in_the_loop as lc
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send
from pydantic import TypeAdapter
from typing_extensions import TypedDict

from agent_graphs import actions, hitl_protocol
from agent_graphs.approval import parse_decision, request_approval, thread_id
from agent_graphs.context import Context, get_context
from agent_graphs.graphs import compile_graph, run_config
from agent_graphs.hitl import decide, pending_approvals
from agent_graphs.llm import ModelOutputError
from agent_graphs.tooling import toolbox_for
from checkpoints import audit, open_saver
from tests.fakes import call, fake_context, install
from tests.plan_execute.test_graph import OK, email_plan, outbox, plan, run, step
from tools import Toolbox, ToolError, ToolSettings
from tools.email import EMAIL_PATTERN

ROOT = Path(__file__).resolve().parents[1]
EMAIL = {"to": "vp@acme.example", "subject": "Hi", "body": "Q2"}
LC_REQUEST = TypeAdapter(lc.HITLRequest)
LC_RESPONSE = TypeAdapter(lc.HITLResponse)


@pytest.fixture(autouse=True)
def audit_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nodes write the audit trail to $AGENT_GRAPHS_DB: keep it in the test's folder."""
    path = tmp_path / "checkpoints.sqlite"
    monkeypatch.setenv("AGENT_GRAPHS_DB", str(path))
    return path


def answer(*decisions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A protocol answer, checked against langchain's own HITLResponse first."""
    payload = {"decisions": list(decisions)}
    LC_RESPONSE.validate_python(payload)
    return {**payload, **extra}


def resume(graph, config, dirs, payload, **ctx):
    graph.invoke(Command(resume=payload), config, context=fake_context(**dirs, **ctx))
    return graph.get_state(config)


def paused_email(checkpointer, dirs, **ctx):
    install(planner=[email_plan(), "sent"], executor=[call("send_email", **EMAIL)],
            critic=[OK])
    graph, config, events = run(checkpointer, dirs, **ctx)
    [pending] = graph.get_state(config).interrupts
    return graph, config, pending, events


# --- the request ------------------------------------------------------------------------


def test_our_typeddicts_have_langchains_fields():
    pairs = [(hitl_protocol.ActionRequest, lc.ActionRequest),
             (hitl_protocol.ReviewConfig, lc.ReviewConfig),
             (hitl_protocol.HITLRequest, lc.HITLRequest),
             (hitl_protocol.EditedAction, lc.Action),
             (hitl_protocol.ApproveDecision, lc.ApproveDecision),
             (hitl_protocol.EditDecision, lc.EditDecision),
             (hitl_protocol.RejectDecision, lc.RejectDecision),
             (hitl_protocol.HITLResponse, lc.HITLResponse)]
    for ours, theirs in pairs:
        assert ours.__required_keys__ == theirs.__required_keys__, ours
        assert ours.__optional_keys__ == theirs.__optional_keys__, ours
    assert set(hitl_protocol.DECISION_TYPES) <= set(lc.DecisionType.__args__)


def test_a_tool_call_request_is_an_hitl_request_with_the_projects_fields(checkpointer, dirs):
    _, _, pending, events = paused_email(checkpointer, dirs)
    request = pending.value
    LC_REQUEST.validate_python(request)
    [action] = request["action_requests"]
    [config] = request["review_configs"]
    assert action["name"] == "send_email" and action["args"] == EMAIL
    assert "email the VP" in action["description"] and "high-risk" in action["description"]
    assert config["action_name"] == "send_email"
    assert config["allowed_decisions"] == ["approve", "edit", "reject"]
    schema = config["args_schema"]  # the tool's own: the model's grammar, the edit's check
    assert schema["required"] == ["to", "subject", "body"]
    assert schema["properties"]["to"]["pattern"] == EMAIL_PATTERN
    assert "idempotency_key" not in schema["properties"]
    # the project's richer fields stay beside them
    assert request["tool"] == "send_email" and request["args"] == EMAIL
    assert request["risk"] == "high" and request["reasons"] and request["goal"] == "goal"
    assert request["step_id"] == "s1" and request["plan"] and request["delivery"]
    assert request["idempotency_key"].startswith("t1:s1:")
    [asked] = [e for e in events if e["event"] == "approval_requested"]
    assert asked["action_requests"] == request["action_requests"]


def test_a_plan_request_allows_editing_its_steps(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {"expression": "1+1"})), "6"],
            executor=[call("calculator", expression="2*3")], critic=[OK])
    graph, config, _ = run(checkpointer, dirs, approve_plan=True)
    [pending] = graph.get_state(config).interrupts
    LC_REQUEST.validate_python(pending.value)
    [action] = pending.value["action_requests"]
    [review] = pending.value["review_configs"]
    assert action["name"] == "plan" and [s["id"] for s in action["args"]["steps"]] == ["s1"]
    assert review["allowed_decisions"] == ["approve", "edit", "reject"]
    assert "steps" in review["args_schema"]["properties"]
    edited = [step("s9", "calculator", {"expression": "2*3"})]
    state = resume(graph, config, dirs, answer({"type": "edit", "edited_action": {
        "name": "plan", "args": {"steps": edited}}}), approve_plan=True)
    assert state.values["status"] == "done" and list(state.values["results"]) == ["s9"]


class Drafts(TypedDict, total=False):
    text: str
    decided: str


def review_draft(state: Drafts) -> dict[str, Any]:
    """A gate written before the protocol (as the reflection graph's): no new keywords."""
    decision = request_approval(
        {"kind": "draft", "args": {"draft": state["text"]}, "risk": "low",
         "reasons": ["draft review is on"], "why": "the critic accepted it"},
        key=f"{thread_id()}:draft", check_args=lambda args: {"draft": args["draft"].strip()})
    return {"decided": f"{decision.action}:{(decision.args or {}).get('draft', '')}"}


def _one_node(node, state_type=Drafts, checkpointer=None):
    builder = StateGraph(state_type)
    builder.add_node(node)
    builder.add_edge(START, node.__name__)
    builder.add_edge(node.__name__, END)
    return builder.compile(checkpointer=checkpointer)


def test_a_gate_written_before_the_protocol_gets_sensible_defaults(checkpointer):
    graph = _one_node(review_draft, checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "d"}}
    graph.invoke({"text": "first draft"}, config)
    [pending] = graph.get_state(config).interrupts
    LC_REQUEST.validate_python(pending.value)
    assert pending.value["action_requests"] == [{
        "name": "draft", "args": {"draft": "first draft"},
        "description": "the critic accepted it (asked because: draft review is on)"}]
    assert pending.value["review_configs"] == [{
        "action_name": "draft", "allowed_decisions": ["approve", "edit", "reject"]}]
    [listed] = pending_approvals(checkpointer)
    assert (listed.kind, listed.action, listed.args, listed.risk) == (
        "draft", "draft", {"draft": "first draft"}, "low")
    state = decide(graph, "d", {"action": "edit", "args": {"draft": " better "}})
    assert state.values["decided"] == "edit:better"


# --- answers ----------------------------------------------------------------------------


def test_parse_decision_reads_both_forms():
    request = hitl_protocol.hitl_request({"tool": "send_email", "args": EMAIL})
    assert parse_decision(answer({"type": "approve"}), request).action == "approve"
    rejected = parse_decision(answer({"type": "reject", "message": "not now"}, by="ann"))
    assert (rejected.action, rejected.reason, rejected.by) == ("reject", "not now", "ann")
    assert parse_decision({"type": "reject"}).reason == ""  # one decision, as per-call mode
    whole = parse_decision(answer({"type": "edit", "edited_action": {
        "name": "send_email", "args": {"to": "a@b.example"}}}), request)
    assert whole.args == {"to": "a@b.example"}  # taken as given, checked by the tool next
    merged = parse_decision({"action": "edit", "args": {"to": "a@b.example"}}, request)
    assert merged.args == {**EMAIL, "to": "a@b.example"}
    for old, action in (("yes", "approve"), (True, "approve"), ("no", "reject"),
                        ({"action": "reject", "reason": "r"}, "reject")):
        assert parse_decision(old, request).action == action


@pytest.mark.parametrize("bad, says", [
    (answer(), "expected 1 decision (one per action, in order), got 0"),
    (answer({"type": "approve"}, {"type": "approve"}), "got 2"),
    ({"decisions": {"type": "approve"}}, "'decisions' must be a list"),
    ({"decisions": [{"type": "respond", "message": "hi"}]}, "unknown decision type 'respond'"),
    ({"decisions": [{"type": "edit"}]}, "edited_action"),
    (answer({"type": "edit", "edited_action": {"name": "write_file", "args": EMAIL}}),
     "an edit cannot switch the action"),
    (answer({"type": "edit", "edited_action": {"name": "send_email", "args": {
        **EMAIL, "to": "the VP"}}}), "'the VP' is not a valid email address"),
    ({"action": "edit", "args": {}}, "an edit needs 'args'"),
])
def test_a_bad_protocol_answer_keeps_the_same_request_pending(checkpointer, dirs, bad, says):
    graph, config, first, _ = paused_email(checkpointer, dirs)
    state = resume(graph, config, dirs, {first.id: bad})
    [again] = state.interrupts
    assert again.id == first.id  # a UI holding the id can answer again
    assert says in again.value["error"] and again.value["args"] == EMAIL
    assert again.value["action_requests"] == first.value["action_requests"]
    assert state.next == ("approve",) and outbox(dirs) == []
    state = resume(graph, config, dirs, {first.id: answer({"type": "approve"})})
    assert state.values["status"] == "done" and len(outbox(dirs)) == 1


def test_protocol_answers_through_decide(checkpointer, dirs):
    graph, config, pending, _ = paused_email(checkpointer, dirs)
    edited = {"to": "ceo@acme.example", "subject": "Q2 numbers", "body": "Up 12%."}
    state = decide(graph, "t1", {pending.id: answer({"type": "edit", "edited_action": {
        "name": "send_email", "args": edited}})}, by="ann")
    assert state.values["status"] == "done"
    [sent] = outbox(dirs)
    assert {k: sent[k] for k in edited} == edited
    [decided] = [r for r in audit.read(thread_id="t1") if r.kind == "approval_decided"]
    assert decided.actor == "ann" and decided.data["args"] == edited


def test_a_protocol_rejection_reaches_the_replanner(checkpointer, dirs):
    fakes = install(planner=[email_plan(), plan(), "not sent"],
                    executor=[call("send_email", **EMAIL)], critic=[])
    graph, config, _ = run(checkpointer, dirs)
    [pending] = graph.get_state(config).interrupts
    resume(graph, config, dirs, {pending.id: {"type": "reject", "message": "after the audit"}})
    assert "after the audit" in fakes["planner"].calls[1][0].content
    assert outbox(dirs) == []


def gated(state: Drafts, runtime: Runtime[Context]) -> dict[str, Any]:
    """A graph's own call of actions.review that allows approve and reject only."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx)
    action = actions.prepare(ctx, box, step_id="s1", tool="send_email", args=EMAIL)
    approved, rejected, _ = actions.review(box, action, why="tell the VP", goal="g",
                                           allowed=["approve", "reject"])
    return {"decided": "rejected" if rejected else f"approved:{approved['args']['to']}"}


def test_allowed_decisions_are_enforced(checkpointer, dirs):
    graph = _one_node(gated, checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "g"}}
    graph.invoke({"text": ""}, config, context=fake_context(**dirs))
    [first] = graph.get_state(config).interrupts
    assert first.value["review_configs"][0]["allowed_decisions"] == ["approve", "reject"]
    for bad in (answer({"type": "edit", "edited_action": {"name": "send_email", "args": EMAIL}}),
                {"action": "edit", "args": {"to": "ceo@acme.example"}}):
        graph.invoke(Command(resume={first.id: bad}), config, context=fake_context(**dirs))
        [again] = graph.get_state(config).interrupts
        assert again.id == first.id
        assert "'edit' is not allowed for send_email; allowed: approve, reject" in (
            again.value["error"])
    graph.invoke(Command(resume=answer({"type": "approve"})), config,
                 context=fake_context(**dirs))
    assert graph.get_state(config).values["decided"] == "approved:vp@acme.example"


class Two(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    to: str


def two_gates(state: Two) -> dict[str, Any]:
    """Two requests in one node: the second's interrupt is the node's second slot."""
    said = [request_approval({"tool": "send_email", "args": {"to": to}, "risk": "high"},
                             key=f"{thread_id()}:{to}", check_args=lambda a: a).action
            for to in ("a@x.example", "b@x.example")]
    return {"log": said}


def test_the_second_request_of_a_node_keeps_its_id_too(checkpointer):
    graph = _one_node(two_gates, Two, checkpointer)
    config = {"configurable": {"thread_id": "two"}}
    graph.invoke({"log": []}, config)
    [a] = graph.get_state(config).interrupts
    graph.invoke(Command(resume={a.id: "approve"}), config)
    [b] = graph.get_state(config).interrupts
    assert b.id != a.id and b.value["args"] == {"to": "b@x.example"}
    graph.invoke(Command(resume={b.id: answer()}), config)
    [again] = graph.get_state(config).interrupts
    assert again.id == b.id and "got 0" in again.value["error"]
    graph.invoke(Command(resume={b.id: "reject"}), config)
    assert graph.get_state(config).values["log"] == ["approve", "reject"]  # a kept its yes


def _fan(state: Two) -> list[Send]:
    return [Send("ask", {"to": to}) for to in ("a@x.example", "b@x.example")]


def ask(state: Two) -> dict[str, Any]:
    decision = request_approval({"tool": "send_email", "args": {"to": state["to"]},
                                 "risk": "high"}, key=f"{thread_id()}:{state['to']}",
                                check_args=lambda a: a)
    return {"log": [f"{state['to']}:{decision.action}"]}


def _fan_graph(checkpointer=None):
    builder = StateGraph(Two)
    builder.add_node(ask)
    builder.add_conditional_edges(START, _fan, ["ask"])
    builder.add_edge("ask", END)
    return builder.compile(checkpointer=checkpointer)


@pytest.mark.parametrize("nested", [False, True])
def test_parallel_requests_one_bad_one_good_answer(checkpointer, nested):
    if nested:  # the same branches inside a subgraph: ids carry its namespace
        parent = StateGraph(Two)
        parent.add_node("inner", _fan_graph())
        parent.add_edge(START, "inner")
        parent.add_edge("inner", END)
        graph = parent.compile(checkpointer=checkpointer)
    else:
        graph = _fan_graph(checkpointer)
    config = {"configurable": {"thread_id": "fan"}}
    graph.invoke({"log": []}, config)
    ids = {i.value["args"]["to"]: i.id for i in graph.get_state(config).interrupts}
    graph.invoke(Command(resume={ids["a@x.example"]: answer({"type": "approve"}),
                                 ids["b@x.example"]: {"decisions": [{"type": "teleport"}]}}), config)
    [left] = graph.get_state(config).interrupts
    assert left.id == ids["b@x.example"] and "unknown decision type" in left.value["error"]
    graph.invoke(Command(resume={left.id: {"type": "reject"}}), config)
    state = graph.get_state(config)
    assert state.interrupts == () and sorted(state.values["log"]) == [
        "a@x.example:approve", "b@x.example:reject"]


# --- events once --------------------------------------------------------------------------


def test_events_once_across_bad_answer_good_answer_crash_and_resume(tmp_path, dirs, monkeypatch):
    """Pause, a bad answer, a good one (as the dev server sends it: stored with the run),
    a crash in the approving node right after the decision is recorded, then a resume in a
    fresh connection: each approval event and audit record exactly once."""
    install(planner=[email_plan(), "sent"], executor=[call("send_email", **EMAIL)],
            critic=[OK])
    db, events = tmp_path / "checkpoints.sqlite", Counter()
    real, crashed = audit.record, []

    def record_then_crash(kind: str, **kwargs: Any) -> None:
        real(kind, **kwargs)
        if kind == "approval_decided" and not crashed:
            crashed.append(kind)
            raise RuntimeError("killed after the decision was recorded")

    monkeypatch.setattr(audit, "record", record_then_crash)
    config = run_config("t1", graph_id="plan_execute")

    def go(saver, payload) -> Any:
        graph = compile_graph("plan_execute", saver)
        try:
            for chunk in graph.stream(payload, config, context=fake_context(**dirs),
                                      stream_mode="custom", durability="sync"):
                events[chunk["event"]] += 1
        except RuntimeError:
            pass
        return graph.get_state(config)

    with open_saver(db) as saver:
        [first] = go(saver, {"goal": "g"}).interrupts
        [again] = go(saver, Command(resume=answer())).interrupts
        assert again.id == first.id
        assert go(saver, Command(resume=answer({"type": "approve"}))).next == ("approve",)
    assert crashed
    with open_saver(db) as saver:  # the next process
        assert go(saver, None).values["status"] == "done"
    assert {k: events[k] for k in ("approval_requested", "approval_answer_invalid",
                                   "approval_decided", "tool_called")} == {
        "approval_requested": 1, "approval_answer_invalid": 1, "approval_decided": 1,
        "tool_called": 1}
    assert Counter(r.kind for r in audit.read(thread_id="t1")) == {
        "approval_requested": 1, "approval_decided": 1, "tool_executed": 1}
    assert len(outbox(dirs)) == 1


def _cli(tmp_path: Path, kill: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a new process, SIGKILLed at ``kill`` (tests/procs/crash_child.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("AGENT_GRAPHS_SMTP_HOST", None)
    return subprocess.run(
        [sys.executable, "-m", "tests.procs.crash_child", "once", kill, "--",
         "--db", str(tmp_path / "db.sqlite"), *argv, "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kill", ["audit:1:after", "append:1:after"])
def test_events_once_across_processes_killed_after_the_answer(tmp_path, kill):
    """The same through the CLI, each step a new process: the approving one is SIGKILLed
    right after recording the decision (the answer is lost with it: asked again) or after
    the email was written (the run goes on from the last checkpoint)."""
    from tests.procs.crash_child import MODELS, THREAD

    runs = [_cli(tmp_path, "none", "run", "Email the VP", "--thread", THREAD, *MODELS,
                 "--outbox", str(tmp_path / "outbox.jsonl"), "--workspace", str(tmp_path))]
    first = json.loads(runs[0].stdout.splitlines()[-1])["interrupts"][0]["id"]
    runs.append(_cli(tmp_path, "none", "resume", THREAD, "--answer", '{"decisions": []}'))
    assert json.loads(runs[1].stdout.splitlines()[-1])["interrupts"][0]["id"] == first
    runs.append(_cli(tmp_path, kill, "resume", THREAD, "--answer",
                     json.dumps(answer({"type": "approve"}))))
    assert runs[-1].returncode == -signal.SIGKILL
    for _ in range(3):
        runs.append(_cli(tmp_path, "none", "resume", THREAD))
        if runs[-1].returncode != 3:
            break
        runs.append(_cli(tmp_path, "none", "resume", THREAD, "--approve"))  # asked again
    assert runs[-1].returncode == 0, runs[-1].stdout + runs[-1].stderr
    events = Counter(json.loads(line).get("event") for r in runs for line in r.stdout.splitlines()
                     if line.startswith("{"))
    assert (events["approval_requested"], events["approval_answer_invalid"],
            events["approval_decided"]) == (1, 1, 1), events
    trail = Counter(r.kind for r in audit.read(thread_id=THREAD, path=tmp_path / "db.sqlite"))
    assert trail == {"approval_requested": 1, "approval_decided": 1, "tool_executed": 1}
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 1


# --- only valid calls reach a person ------------------------------------------------------


def refused(state: Drafts, runtime: Runtime[Context]) -> dict[str, Any]:
    """Any graph's gated call: prepare (the tool's schema), then review (a person)."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx)
    try:
        action = actions.prepare(ctx, box, step_id="s1", tool="send_email",
                                 args={**EMAIL, "to": state["text"]})
    except ToolError as err:  # a failed step: nobody is asked
        return {"decided": f"failed: {err}"}
    actions.review(box, action, why="tell the VP", goal="g")
    return {"decided": "asked"}


def test_an_invalid_address_fails_before_any_request(checkpointer, dirs):
    graph = _one_node(refused, checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "r"}}
    graph.invoke({"text": "the VP of sales please"}, config, context=fake_context(**dirs))
    state = graph.get_state(config)
    assert state.interrupts == ()
    assert "'the VP of sales please' is not a valid email address" in state.values["decided"]
    assert audit.read(thread_id="r") == []


def test_a_careless_models_address_never_reaches_a_person(checkpointer, dirs):
    """plan_execute with a model that writes a word salad as ``to``: the step fails (or
    the plan is refused) with the tool's reason; no request, no email."""
    words = {"to": "the VP of sales please", "subject": "Hi", "body": "Q2"}
    careless = plan(step("s1", "send_email", words, desc="email the VP"))
    install(fallbacks={"planner": lambda messages, bound: careless,
                       "executor": lambda messages, bound: call("send_email", **words)})
    try:
        graph, config, events = run(checkpointer, dirs, max_replans=0)
    except ModelOutputError as err:  # the plan's args checked by the tool's schema, refused
        assert str(err).startswith("Plan: no usable answer")
        graph = compile_graph("plan_execute", checkpointer)
        config, events = run_config("t1", graph_id="plan_execute"), []
    state = graph.get_state(config)
    assert state.interrupts == () and outbox(dirs) == []
    assert not any(e["event"].startswith("approval") for e in events)
    assert audit.read(thread_id="t1") == []
    if state.values.get("status"):
        assert state.values["status"] == "failed"
        reasons = [f["error"] for f in state.values["failures"]]
        assert any("'the VP of sales please' is not a valid email address" in r
                   for r in reasons), reasons


def test_the_address_pattern_fits_the_embedded_models_grammar(tmp_path):
    """llama.cpp's grammar parser refuses the ``\\.`` escape a regex would carry over."""
    gbnf = pytest.importorskip("llama_cpp.llama_grammar")
    box = Toolbox(ToolSettings.from_env(workspace=tmp_path, outbox=tmp_path / "o.jsonl"))
    schema = box.get("send_email").tool_call_schema.model_json_schema()
    grammar = gbnf.json_schema_to_gbnf(json.dumps(schema))
    assert '"@"' in grammar and "\\." not in grammar
