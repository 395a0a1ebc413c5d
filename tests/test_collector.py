"""The first node of the first run freezes the process's objects, once (agent_graphs.collector)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import gc
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict
from agent_graphs.context import get_context

class S(TypedDict):
    n: int

def node(state, runtime):
    get_context(runtime)
    return {"n": state["n"] + 1}

b = StateGraph(S); b.add_node("node", node); b.add_edge(START, "node")
graph = b.compile()
before = gc.get_freeze_count()
graph.invoke({"n": 0})
first = gc.get_freeze_count()
junk = [[i] for i in range(1000)]  # new objects after the first run stay collectable
graph.invoke({"n": 0})
print(before, first, gc.get_freeze_count())
"""


def _counts(**env: str) -> list[int]:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **env}, timeout=120,
                         check=True)
    return [int(n) for n in out.stdout.split()]


def test_the_first_run_freezes_what_exists_and_later_runs_do_not_freeze_again():
    before, first, second = _counts()
    assert before == 0 and first > 10_000  # the imports: LangGraph, LangChain, pydantic
    assert second == first


def test_freezing_can_be_turned_off():
    assert _counts(AGENT_GRAPHS_GC_FREEZE="0") == [0, 0, 0]
