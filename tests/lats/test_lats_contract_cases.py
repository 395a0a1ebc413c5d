"""The contract cases run here the way tests/test_contract.py drives every graph, so they
are known good before the graph is registered in GRAPHS."""

from __future__ import annotations

from pathlib import Path

from langgraph.types import Command

from agent_graphs.lats.graph import builder
from tests.fakes import install
from tests.lats.contract import CASES


def test_answer_case_finishes_with_an_answer(checkpointer, dirs):
    case = CASES["answer"]
    install(fallbacks=case["fallbacks"])
    graph = builder.compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "t1"}, "recursion_limit": 500}
    graph.invoke(case["input"], config, context={**case["context"], **dirs}, durability="sync")
    values = graph.get_state(config).values
    assert values["status"] == "done", values["final_answer"]
    assert values["final_answer"] == "Acme Cloud Pro costs $199 per month."
    steps = [s["action"] for s in values["trajectory"]]
    assert steps[0].startswith("search(") and steps[1].startswith("answer: Acme Cloud Pro")
    assert values["settings"]["outbox"] == dirs["outbox"]


def test_approval_case_pauses_then_sends_once(checkpointer, dirs):
    case = CASES["approval"]
    install(fallbacks=case["fallbacks"])
    graph = builder.compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "t1"}, "recursion_limit": 500}
    context = {**case["context"], **dirs}
    graph.invoke(case["input"], config, context=context, durability="sync")
    paused = 0
    while (pending := graph.get_state(config).interrupts) and paused < 10:
        paused += 1
        assert not Path(dirs["outbox"]).exists()  # nothing sent before a person said yes
        assert pending[0].value["action_requests"][0]["name"] == "send_email"
        graph.invoke(Command(resume={i.id: "approve" for i in pending}), config,
                     context=context, durability="sync")
    assert paused == 1
    values = graph.get_state(config).values
    assert values["status"] == "done", values["final_answer"]
    assert len(Path(dirs["outbox"]).read_text().splitlines()) == 1
