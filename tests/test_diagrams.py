"""Each graph's Mermaid drawing in the README is the one the code draws today.

A topology change shows up here, and so in review. To refresh the README after an
intended change: ``UPDATE_DIAGRAMS=1 python -m pytest tests/test_diagrams.py``.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import pytest

from agent_graphs.graphs import GRAPHS

README = Path(__file__).resolve().parents[1] / "README.md"
# Every route the plan-and-execute graph can take; a missing one means an untyped router.
PLAN_EXECUTE_EDGES = {
    ("plan", "execute"), ("execute", "approve"), ("execute", "act"),
    ("execute", "evaluate"), ("execute", "finish"), ("approve", "act"),
    ("approve", "evaluate"), ("act", "evaluate"), ("evaluate", "execute"),
    ("evaluate", "replan"), ("evaluate", "finish"), ("replan", "execute"),
    ("replan", "finish"),
}


def _drawing(graph_id: str) -> str:
    return importlib.import_module(GRAPHS[graph_id]).graph.get_graph().draw_mermaid().strip()


def _block(text: str, graph_id: str) -> re.Match[str] | None:
    section = re.search(r"^## Graphs\n.*?(?=^## |\Z)", text, re.S | re.M)
    assert section, "README.md needs a '## Graphs' section"
    pattern = rf"(^### `{re.escape(graph_id)}`\n.*?```mermaid\n)(.*?)(\n```)"
    return re.compile(pattern, re.S | re.M).search(text, section.start(), section.end())


@pytest.mark.parametrize("graph_id", sorted(GRAPHS))
def test_readme_shows_the_current_diagram(graph_id):
    text = README.read_text()
    found = _block(text, graph_id)
    assert found, f"README '## Graphs' needs a '### `{graph_id}`' heading and a mermaid block"
    drawn = _drawing(graph_id)
    if found.group(2).strip() != drawn and os.environ.get("UPDATE_DIAGRAMS") == "1":
        README.write_text(text[: found.start(2)] + drawn + text[found.end(2):])
        return
    assert found.group(2).strip() == drawn, (
        f"the README's diagram of {graph_id} is out of date; rerun with UPDATE_DIAGRAMS=1:\n"
        + drawn
    )


def test_plan_execute_draws_every_route():
    graph = importlib.import_module(GRAPHS["plan_execute"]).graph.get_graph()
    edges = {(e.source, e.target) for e in graph.edges}
    assert PLAN_EXECUTE_EDGES <= edges, PLAN_EXECUTE_EDGES - edges
