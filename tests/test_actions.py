"""Gated actions shared by every graph: keys unique across subgraphs, model retries."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import openai
import pytest
from langgraph.graph import START, StateGraph
from langgraph.types import Command
from typing_extensions import TypedDict

from agent_graphs.context import Context
from agent_graphs.graphs import run_config
from agent_graphs.plan_execute.graph import build_graph
from checkpoints import audit
from tests.fakes import call, fake_context, install
from tests.plan_execute import contract


class Parent(TypedDict):
    goal: str


def _two_subgraphs(checkpointer):
    """Two plan_execute subgraphs side by side in one thread; both plan an email as s1."""
    sub = build_graph().compile()
    builder = StateGraph(Parent, context_schema=Context)
    builder.add_node("first", sub)
    builder.add_node("second", sub)
    builder.add_edge(START, "first")
    builder.add_edge(START, "second")
    return builder.compile(checkpointer=checkpointer)


def test_two_subgraphs_of_one_thread_each_send_their_s1_email_once(
    checkpointer, dirs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AGENT_GRAPHS_DB", str(tmp_path / "audit.sqlite"))
    install(fallbacks=contract.CASES["approval"]["fallbacks"])
    graph = _two_subgraphs(checkpointer)
    config = {"configurable": {"thread_id": "t1"}}
    context = fake_context(**dirs)
    graph.invoke({"goal": "Email the VP"}, config, context=context)
    pending = graph.get_state(config).interrupts
    assert len(pending) == 2  # both subgraphs wait at once, each answerable by its id
    keys = {i.value["idempotency_key"] for i in pending}
    assert len(keys) == 2 and all(k.startswith("t1:") and k.endswith(":s1:1") for k in keys)
    graph.invoke(Command(resume={i.id: "approve" for i in pending}), config, context=context)
    assert not graph.get_state(config).interrupts
    sent = [json.loads(line) for line in Path(dirs["outbox"]).read_text().splitlines()]
    assert sorted(m["idempotency_key"] for m in sent) == sorted(keys)
    executed = [r for r in audit.read(thread_id="t1") if r.kind == "tool_executed"]
    assert sorted(r.key for r in executed) == sorted(keys)


def _rate_limited() -> openai.RateLimitError:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    return openai.RateLimitError("slow down", response=httpx.Response(429, request=request),
                                 body=None)


def test_a_transient_provider_error_is_retried_by_the_node(checkpointer, dirs, monkeypatch):
    from agent_graphs.plan_execute import graph as module

    fast = module.MODEL_RETRY._replace(initial_interval=0.01, jitter=False)
    monkeypatch.setattr(module, "MODEL_RETRY", fast)  # the same policy, without the wait
    plan = call("Plan", steps=[{"id": "s1", "description": "add", "tool": "calculator",
                                "args": {"expression": "2+3"}, "expected_output": "5"}])
    fakes = install(planner=[_rate_limited(), plan, "5"],
                    executor=[call("calculator", expression="2+3")],
                    critic=[call("StepEvaluation", success=True)])
    graph = module.build_graph().compile(checkpointer=checkpointer)
    config = run_config("t1", graph_id="plan_execute")
    graph.invoke({"goal": "2+3?"}, config, context=fake_context(**dirs))
    assert graph.get_state(config).values["status"] == "done"
    assert len(fakes["planner"].calls) == 3  # the 429 was retried, nothing else repeated


def test_a_malformed_answer_is_not_a_transient_error():
    from agent_graphs.llm import ModelOutputError
    from agent_graphs.models import is_transient

    assert is_transient(_rate_limited())
    assert not is_transient(ModelOutputError("bad plan"))
    assert not is_transient(ValueError("x"))


def test_a_factorys_extra_tool_is_planned_gated_and_run(checkpointer, dirs):
    from langchain_core.tools import tool

    from tools import Risk

    @tool
    def open_ticket(title: str) -> str:
        """Open a support ticket with this title."""
        return f"ticket opened: {title}"

    step = {"id": "s1", "description": "open it", "tool": "open_ticket",
            "args": {"title": "VPN down"}, "expected_output": "a ticket"}
    fakes = install(planner=[call("Plan", steps=[step]), "Ticket opened."],
                    executor=[call("open_ticket", title="VPN down")],
                    critic=[call("StepEvaluation", success=True)])
    graph = build_graph(tools={"open_ticket": (open_ticket, Risk.HIGH)}).compile(
        checkpointer=checkpointer)
    config = run_config("t1", graph_id="plan_execute")
    graph.invoke({"goal": "Open a ticket"}, config, context=fake_context(**dirs))
    [request] = graph.get_state(config).interrupts
    assert request.value["tool"] == "open_ticket" and request.value["risk"] == "high"
    assert "open_ticket" in json.dumps(fakes["planner"].bound[0])  # the plan grammar knows it
    graph.invoke(Command(resume="approve"), config, context=fake_context(**dirs))
    values = graph.get_state(config).values
    assert values["status"] == "done"
    assert values["results"]["s1"]["output"] == "ticket opened: VPN down"
