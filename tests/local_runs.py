"""Running a graph end to end on the REAL embedded model, for the tests that need one."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from agent_graphs.graphs import compile_graph, run_config
from checkpoints import open_saver


def run_on_local_model(graph_id: str, goal: str, tmp_path: Path,
                       **context: Any) -> dict[str, Any]:
    """Run ``graph_id`` on ``goal`` with every role on ``local``; return its final values.

    Skips the test when llama-cpp-python is not installed.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp is not installed: pip install 'agent-graphs[local]'")
    context = {"model": "local", "planner_model": "local", "workspace": str(tmp_path / "ws"),
               "outbox": str(tmp_path / "outbox.jsonl"), **context}
    with open_saver(tmp_path / "db.sqlite") as saver:
        graph = compile_graph(graph_id, saver)
        config = run_config("demo", graph_id=graph_id, context=context)
        graph.invoke({"goal": goal}, config, context=context, durability="sync")
        return graph.get_state(config).values
