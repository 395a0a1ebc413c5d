"""The loop as a piece of other graphs (a subgraph node, or ``reflect()`` in a node) and
the contract cases driven the way the project-wide contract test drives them."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command
from typing_extensions import TypedDict

from agent_graphs.reflection.graph import build_graph, reflect
from agent_graphs.context import Context
from checkpoints import audit
from tests.fakes import call, install
from tests.reflection import contract

CTX = {"critic_model": "fake:critic", "models": {"writer": "fake:writer"}}
SOURCES = [{"id": "d1", "text": "FY2025 revenue was $41.95 million, up 24%."}]


class Parent(TypedDict, total=False):
    goal: str
    sources: list[dict[str, Any]]
    draft: str
    final_answer: str
    status: str
    rounds: list[dict[str, Any]]


def research(state: Parent) -> dict[str, Any]:
    return {"sources": SOURCES, "draft": "Revenue was $50 million."}


def report(state: Parent) -> dict[str, Any]:
    out = reflect(state["goal"], draft="Revenue was $50 million.", sources=SOURCES)
    return {"final_answer": out["final_answer"], "status": out["status"]}


def test_compiled_loop_as_a_node_of_a_parent_sharing_keys(checkpointer):
    install(writer=["Revenue was $41.95 million."],
            critic=[call("Critique", issues=[], fixes=[], approved=True, score=0.9)] * 2)
    parent = StateGraph(Parent, context_schema=Context)
    parent.add_node(research)
    parent.add_node("reflect", build_graph().compile())
    parent.add_edge(START, "research")
    parent.add_edge("research", "reflect")
    graph = parent.compile(checkpointer=checkpointer)
    out = graph.invoke({"goal": "Summarize FY2025"}, {"configurable": {"thread_id": "p"}},
                       context=CTX)
    # the critic approved the input draft, but its $50 million is in no source
    assert out["rounds"][0]["critic_approved"] and not out["rounds"][0]["approved"]
    assert out["status"] == "done" and out["final_answer"] == "Revenue was $41.95 million."


def test_reflect_in_a_node_pauses_and_resumes_the_parent(checkpointer):
    fakes = install(writer=["Revenue was $41.95 million."],
                    critic=[call("Critique", issues=[], fixes=[], approved=True, score=0.9)] * 2)
    parent = StateGraph(Parent, context_schema=Context)
    parent.add_node(report)
    parent.add_edge(START, "report")
    graph = parent.compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "p"}}
    ctx = {**CTX, "reflection_human_review": True}
    events = [c for _ns, _m, c in graph.stream({"goal": "Summarize FY2025"}, config, context=ctx,
                                               stream_mode=["custom"], subgraphs=True)]
    (request,) = graph.get_state(config).interrupts
    assert request.value["kind"] == "draft" and ":report:" in _key(checkpointer, "p")
    assert [e["event"] for e in events][:2] == ["draft_checked", "draft_critiqued"]
    graph.invoke(Command(resume="approve"), config, context=ctx)
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["final_answer"] == "Revenue was $41.95 million."
    assert len(fakes["writer"].calls) == 1  # resuming the parent did not redo the loop


def _key(checkpointer: Any, thread: str) -> str:
    """The audit key of the draft request: it names the subgraph it was asked in."""
    records = [r for r in audit.read(thread_id=thread) if r.kind == "approval_requested"]
    return records[-1].key if records else ""


def test_reflect_from_plain_python():
    install(writer=[], critic=[call("Critique", issues=[], fixes=[], approved=True, score=0.8)])
    out = reflect("Summarize FY2025", draft="Revenue was $41.95 million.", sources=SOURCES,
                  context=Context(**CTX))
    assert out["status"] == "done" and out["approved"] is True


def _drive(case: dict[str, Any], dirs: dict[str, str]) -> tuple[dict[str, Any], int]:
    install(fallbacks=case["fallbacks"])
    graph = build_graph().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "c"}}
    context = {**case["context"], **dirs}
    graph.invoke(case["input"], config, context=context)
    pauses = 0
    while (state := graph.get_state(config)).interrupts:
        pauses += 1
        graph.invoke(Command(resume={i.id: "approve" for i in state.interrupts}), config,
                     context=context)
    return graph.get_state(config).values, pauses


def test_contract_answer_case(dirs):
    values, pauses = _drive(contract.CASES["answer"], dirs)
    assert values["status"] == "done" and values["final_answer"].strip() and pauses == 0
    assert values["sources"], "the writer searched the bundled corpus"


def test_contract_approval_case(dirs):
    values, pauses = _drive(contract.CASES["approval"], dirs)
    assert values["status"] == "done" and pauses == 1
