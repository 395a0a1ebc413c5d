"""Which module holds each graph's contract cases (see tests/test_contract.py).

Adding a graph to ``agent_graphs.graphs.GRAPHS`` means adding one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

CONTRACTS = {
    "plan_execute": "tests.plan_execute.contract",
}


def case(graph_id: str, name: str) -> dict[str, Any]:
    """Return contract case ``name`` ("answer" or "approval") of ``graph_id``."""
    return importlib.import_module(CONTRACTS[graph_id]).CASES[name]
