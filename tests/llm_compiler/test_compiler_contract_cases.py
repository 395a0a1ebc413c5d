"""The contract cases run here the way tests/test_contract.py drives every graph, so they
are known good before the graph is registered in GRAPHS."""

from __future__ import annotations

from pathlib import Path

from langgraph.types import Command

from agent_graphs.llm_compiler.graph import builder
from tests.fakes import install
from tests.llm_compiler.contract import CASES


def test_answer_case_finishes_with_an_answer(checkpointer, dirs):
    case = CASES["answer"]
    install(fallbacks=case["fallbacks"])
    graph = builder.compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": "t1"}, "recursion_limit": 500}
    graph.invoke(case["input"], config, context={**case["context"], **dirs}, durability="sync")
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["final_answer"].strip()
    assert values["results"]["s3"]["output"] == "25"
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
        assert not Path(dirs["outbox"]).exists()
        graph.invoke(Command(resume={i.id: "approve" for i in pending}), config,
                     context=context, durability="sync")
    assert paused == 1
    assert graph.get_state(config).values["status"] == "done"
    assert len(Path(dirs["outbox"]).read_text().splitlines()) == 1


def test_runs_async_as_the_dev_server_does(tmp_path, dirs):
    """``langgraph dev`` drives graphs with astream on an async saver."""
    import asyncio

    from checkpoints import open_async_saver

    case = CASES["approval"]
    install(fallbacks=case["fallbacks"])

    async def main() -> dict:
        async with open_async_saver(tmp_path / "async.sqlite") as saver:
            graph = builder.compile(checkpointer=saver)
            config = {"configurable": {"thread_id": "a1"}, "recursion_limit": 500}
            context = {**case["context"], **dirs}
            await graph.ainvoke(case["input"], config, context=context)
            pending = (await graph.aget_state(config)).interrupts
            assert len(pending) == 1
            await graph.ainvoke(Command(resume={pending[0].id: "approve"}), config,
                                context=context)
            return (await graph.aget_state(config)).values

    values = asyncio.run(main())
    assert values["status"] == "done"
    assert len(Path(dirs["outbox"]).read_text().splitlines()) == 1
