"""The CLI's human-in-the-loop commands: approvals, approvals show, resume with a
decision by interrupt id, and audit, on a real SQLite file or PostgreSQL given by --db.

This module also serves a tiny graph (``builder``/``graph``) that asks for two approvals
at once, so the CLI can be shown answering one of several.
"""

from __future__ import annotations

import getpass
import json
import operator
from pathlib import Path
from typing import Annotated, Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from agent_graphs import cli
from agent_graphs.approval import hitl_request, request_approval, thread_id
from agent_graphs.graphs import GRAPHS
from agent_graphs.render.words import answer_flags
from checkpoints import is_postgres
from tests.fakes import call, install
from tests.plan_execute.test_graph import OK, email_plan

EMAIL = {"to": "vp@acme.example", "subject": "Hi", "body": "Q2"}
MODELS = ["--planner-model", "fake:planner", "--executor-model", "fake:executor",
          "--critic-model", "fake:critic"]


class Fan(TypedDict, total=False):
    goal: str
    """Comma-separated recipients; each one is a branch asking for approval."""
    sent: Annotated[list[str], operator.add]
    """``recipient:action`` per answered branch."""
    to: str
    """The recipient of one branch (Send payload)."""
    status: str
    """``done`` when every branch is answered."""


def _fan_out(state: Fan) -> list[Send]:
    return [Send("ask", {"to": to}) for to in state["goal"].split(",")]


def ask(state: Fan) -> dict[str, Any]:
    """Ask for approval of one branch's email."""
    decision = request_approval(
        {"kind": "tool_call", "tool": "send_email", "args": {"to": state["to"]},
         "risk": "high", "reasons": ["parallel branch"], "why": f"tell {state['to']}"},
        key=f"{thread_id()}:{state['to']}", check_args=lambda args: args,
    )
    return {"sent": [f"{state['to']}:{decision.action}"]}


def finish(state: Fan) -> dict[str, Any]:
    """Mark the run done."""
    return {"status": "done"}


builder = StateGraph(Fan)
builder.add_node(ask)
builder.add_node(finish)
builder.add_conditional_edges(START, _fan_out, ["ask"])
builder.add_edge("ask", "finish")
builder.add_edge("finish", END)
graph = builder.compile(name="Fan")


@pytest.fixture
def agent(tmp_path: Path, capsys: pytest.CaptureFixture[str], database: str):
    """Run the CLI in this process on --db (a file, or PostgreSQL); return (code, out, err)."""
    db = database if is_postgres(database) else tmp_path / "elsewhere" / "db.sqlite"

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(["--db", str(db), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    run.db = db
    return run


def _json(out: str) -> dict[str, Any]:
    return json.loads(out.strip().splitlines()[-1])


def _email_threads(agent, tmp_path, *threads):
    install(planner=[email_plan()] * len(threads) + ["sent"] * len(threads),
            executor=[call("send_email", **EMAIL)] * len(threads), critic=[OK] * len(threads))
    for thread in threads:
        code, out, _ = agent("run", "Email the VP", "--thread", thread, *MODELS,
                             "--outbox", str(tmp_path / "outbox.jsonl"),
                             "--workspace", str(tmp_path / "ws"))
        assert code == cli.EXIT_APPROVAL, out


def _outbox(tmp_path) -> list[dict]:
    path = tmp_path / "outbox.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_approvals_lists_every_pending_request_across_threads(agent, tmp_path):
    _email_threads(agent, tmp_path, "t-a", "t-b")
    code, out, _ = agent("approvals", "--json")
    assert code == 0
    listed = _json(out)["approvals"]
    assert sorted(a["thread_id"] for a in listed) == ["t-a", "t-b"]
    for item in listed:
        request = item["request"]
        assert item["interrupt_id"] and item["graph_id"] == "plan_execute"
        assert request["tool"] == "send_email" and request["args"] == EMAIL
        assert request["risk"] == "high" and request["reasons"]
        assert request["why"] == "email the VP" and request["step_id"] == "s1"

    code, out, _ = agent("approvals")
    assert code == 0
    for item in listed:
        assert f"{item['interrupt_id']}  thread {item['thread_id']}  high risk" in out
    assert "send_email(" in out and "high-risk tool" in out

    first = listed[0]
    code, out, _ = agent("approvals", "show", first["interrupt_id"])
    assert code == 0
    assert f"request {first['interrupt_id']} (thread {first['thread_id']})" in out
    assert "delivery: exactly-once" in out and "idempotency_key:" in out
    assert f"resume {first['thread_id']} --interrupt-id {first['interrupt_id']} --approve" in out
    code, out, _ = agent("approvals", "show", first["interrupt_id"], "--json")
    assert _json(out)["approval"] == first

    assert agent("approvals", "show", "nope")[0] == cli.EXIT_USAGE
    assert agent("approvals", "show")[0] == cli.EXIT_USAGE


def test_decide_by_id_then_the_run_continues_and_the_audit_shows_who(agent, tmp_path):
    _email_threads(agent, tmp_path, "t-a", "t-b")
    pending = {a["thread_id"]: a["interrupt_id"] for a in _json(agent("approvals", "--json")[1])[
        "approvals"]}
    install(planner=["sent"], executor=[], critic=[OK])
    code, out, _ = agent("resume", "t-a", "--interrupt-id", pending["t-a"], "--approve",
                         "--by", "ann")
    assert code == 0 and "=== DONE" in out, out
    assert [a["thread_id"] for a in _json(agent("approvals", "--json")[1])["approvals"]] == [
        "t-b"]

    install(planner=[call("Plan", steps=[]), "not sent"], executor=[], critic=[])
    code, out, _ = agent("resume", "t-b", "--reject", "not this week")
    assert code == 0, out
    assert _json(agent("approvals", "--json")[1])["approvals"] == []
    assert [m["to"] for m in _outbox(tmp_path)] == ["vp@acme.example"]

    # the audit trail lives in the --db file, beside the checkpoints
    code, out, _ = agent("audit", "--thread", "t-a", "--json")
    records = _json(out)["records"]
    assert [(r["kind"], r["actor"]) for r in records] == [
        ("approval_requested", "agent"), ("approval_decided", "ann"), ("tool_executed", "ann")]
    assert records[2]["data"]["args"] == EMAIL and records[2]["data"]["ok"] is True
    code, out, _ = agent("audit", "--json")
    decided = [r for r in _json(out)["records"] if r["kind"] == "approval_decided"]
    assert [(r["thread_id"], r["actor"], r["data"]["reason"]) for r in decided] == [
        ("t-a", "ann", ""), ("t-b", getpass.getuser(), "not this week")]
    code, out, _ = agent("audit")
    assert code == 0 and "tool_executed" in out and "reject not this week" in out
    assert not (tmp_path / ".agent_graphs").exists()  # nothing went to the default DB


def test_edit_from_the_cli_is_validated_before_anything_runs(agent, tmp_path):
    _email_threads(agent, tmp_path, "t-e")
    install(planner=["sent"], executor=[], critic=[OK])
    code, out, _ = agent("resume", "t-e", "--edit", '{"to": "not an address"}')
    assert code == cli.EXIT_APPROVAL and "not applied" in out and _outbox(tmp_path) == []
    code, _, err = agent("resume", "t-e", "--edit", "{not json")
    assert code == cli.EXIT_USAGE and "not valid JSON" in err
    code, out, _ = agent("resume", "t-e", "--edit", json.dumps({**EMAIL, "to": "ceo@acme.example"}))
    assert code == 0, out
    assert [m["to"] for m in _outbox(tmp_path)] == ["ceo@acme.example"]


def test_answering_one_of_several_leaves_the_others_pending(agent, monkeypatch):
    monkeypatch.setitem(GRAPHS, "fan", __name__)
    code, out, _ = agent("run", "a@x.example,b@x.example", "--graph", "fan", "--thread", "f")
    assert code == cli.EXIT_APPROVAL
    assert "--interrupt-id" in out and "applies to every request" in out
    ids = {a["request"]["args"]["to"]: a["interrupt_id"]
           for a in _json(agent("approvals", "--json")[1])["approvals"]}
    assert sorted(ids) == ["a@x.example", "b@x.example"]

    code, out, _ = agent("resume", "f", "--interrupt-id", ids["a@x.example"], "--approve")
    assert code == cli.EXIT_APPROVAL and "WAITING FOR APPROVAL" in out
    assert [a["interrupt_id"] for a in _json(agent("approvals", "--json")[1])["approvals"]] == [
        ids["b@x.example"]]
    code, _, err = agent("resume", "f", "--interrupt-id", ids["a@x.example"], "--approve")
    assert code == cli.EXIT_USAGE and "no pending request" in err  # answered already

    code, out, _ = agent("resume", "f", "--reject", "no", "--json")
    assert code == 0, out
    assert sorted(_json(out)["state"]["sent"]) == ["a@x.example:approve", "b@x.example:reject"]


def test_json_mode_streams_the_approval_request(agent, tmp_path):
    # a request's own "kind" field once collided with the printer's argument name
    install(planner=[email_plan()], executor=[call("send_email", **EMAIL)], critic=[])
    code, out, _ = agent("run", "Email the VP", "--thread", "t-j", "--json", *MODELS,
                         "--outbox", str(tmp_path / "outbox.jsonl"))
    assert code == cli.EXIT_APPROVAL, out
    lines = [json.loads(line) for line in out.splitlines()]
    [asked] = [x for x in lines if x.get("event") == "approval_requested"]
    assert asked["type"] == "event" and asked["kind"] == "tool_call"
    assert lines[-1]["type"] == "waiting" and lines[-1]["interrupts"][0]["value"]["risk"] == "high"


def test_empty_lists_and_usage_errors(agent):
    assert agent("approvals") == (0, "nothing is waiting for approval\n", "")
    assert agent("audit") == (0, "the audit trail is empty\n", "")
    assert agent("approvals", "list", "x")[0] == cli.EXIT_USAGE


def _pending(agent) -> list[dict[str, Any]]:
    return _json(agent("approvals", "--json")[1])["approvals"]


def test_a_one_field_edit_sends_with_the_other_fields_unchanged(agent, tmp_path):
    """The README's own example: --edit names only what changes."""
    _email_threads(agent, tmp_path, "t-1")
    install(planner=["sent"], executor=[], critic=[OK])
    code, out, _ = agent("resume", "t-1", "--edit", '{"to": "ceo@acme.example"}')
    assert code == 0 and "=== DONE" in out, out
    [sent] = _outbox(tmp_path)
    assert {k: sent[k] for k in EMAIL} == {**EMAIL, "to": "ceo@acme.example"}
    code, out, _ = agent("audit", "--thread", "t-1", "--json")
    [decided] = [r for r in _json(out)["records"] if r["kind"] == "approval_decided"]
    assert decided["data"]["args"] == {**EMAIL, "to": "ceo@acme.example"}


def test_protocol_answers_from_the_cli_keep_the_request_id(agent, tmp_path):
    _email_threads(agent, tmp_path, "t-p")
    [before] = _pending(agent)
    for bad, says in (('{"decisions": []}', "got 0"),
                      ('{"decisions": [{"type": "edit", "edited_action": {"name": "send_email", '
                       '"args": {"to": "ceo@acme.example"}}}]}', "subject: Field required")):
        code, out, _ = agent("resume", "t-p", "--answer", bad)
        assert code == cli.EXIT_APPROVAL and says in out and "not applied" in out, out
        [after] = _pending(agent)
        assert after["interrupt_id"] == before["interrupt_id"] and says in after["error"]
    assert _outbox(tmp_path) == []
    edited = {**EMAIL, "to": "ceo@acme.example", "body": "Q2 was up 12%."}
    install(planner=["sent"], executor=[], critic=[OK])
    code, out, _ = agent("resume", "t-p", "--interrupt-id", before["interrupt_id"], "--answer",
                         json.dumps({"decisions": [{"type": "edit", "edited_action": {
                             "name": "send_email", "args": edited}}]}), "--by", "ann")
    assert code == 0, out
    [sent] = _outbox(tmp_path)
    assert {k: sent[k] for k in EMAIL} == edited


def test_approvals_show_what_may_be_answered(agent, tmp_path):
    _email_threads(agent, tmp_path, "t-s")
    [item] = _pending(agent)
    assert item["action"] == "send_email" and item["kind"] == "tool_call"
    assert item["allowed_decisions"] == ["approve", "edit", "reject"]
    assert item["request"]["review_configs"][0]["args_schema"]["properties"]["to"]["pattern"]
    code, out, _ = agent("approvals")
    assert code == 0 and "allowed: approve, edit, reject" in out
    code, out, _ = agent("approvals", "show", item["interrupt_id"])
    assert "allowed decisions: approve, edit, reject" in out and "description: email the VP" in out
    assert "to: string matching ^[A-Za-z0-9" in out and "subject: string" in out
    pick = f"resume t-s --interrupt-id {item['interrupt_id']}"
    assert f'{pick} --edit \'{{"to": "new value"}}\'' in out
    assert f'{pick} --answer \'{{"decisions": [{{"type": "approve"}}]}}\'' in out
    assert "action_requests" not in out  # shown as the lines above, not as a dump
    code, out, _ = agent("resume", "t-s")  # no decision: shows the request again
    assert code == cli.EXIT_APPROVAL and "allowed: approve, edit, reject" in out
    assert '--edit \'{"to": "new value"}\'' in out


def test_only_allowed_decisions_are_offered():
    request = hitl_request({"tool": "send_email", "args": EMAIL}, allowed=["approve", "reject"])
    flags = answer_flags(request)
    assert flags[:2] == ["--approve", '--reject "reason"']
    assert not any(f.startswith("--edit") for f in flags)
    plan = hitl_request({"kind": "plan", "steps": []}, name="plan", args={"steps": []})
    assert "--edit '{\"steps\": [...]}'" in answer_flags(plan)
