"""Every graph the project serves, by id, and how to run one durably from Python."""

from __future__ import annotations

import importlib
import json
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph, StateGraph

__all__ = ["GRAPHS", "get_builder", "compile_graph", "run_config", "saved_context"]

GRAPHS: dict[str, str] = {
    "plan_execute": "agent_graphs.plan_execute.graph",
}
"""Graph id -> module exporting ``builder`` (uncompiled) and ``graph`` (for langgraph dev)."""

# Generous on purpose: the limits in Context end every loop long before this, and the
# graphs watch RemainingSteps to stop gracefully if a caller sets a lower one.
RECURSION_LIMIT = 500
_CONTEXT_KEY = "agent_graphs_context"


def get_builder(graph_id: str) -> StateGraph:
    """Return the uncompiled builder of ``graph_id``."""
    if graph_id not in GRAPHS:
        raise KeyError(f"unknown graph {graph_id!r}; known: {', '.join(GRAPHS)}")
    return importlib.import_module(GRAPHS[graph_id]).builder


def compile_graph(
    graph_id: str, checkpointer: BaseCheckpointSaver | None = None
) -> CompiledStateGraph:
    """Compile ``graph_id`` with ``checkpointer`` (e.g. from ``checkpoints.open_saver``)."""
    module = importlib.import_module(GRAPHS[graph_id]) if graph_id in GRAPHS else None
    name = module.graph.name if module else graph_id
    return get_builder(graph_id).compile(checkpointer=checkpointer, name=name)


def run_config(
    thread_id: str, *, graph_id: str, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Build the config for a durable run; the thread remembers its graph and settings.

    The settings passed for the run are stored in the checkpoint metadata so that a
    resume in another process can reuse them (see :func:`saved_context`).
    """
    return {
        "configurable": {"thread_id": thread_id},
        "recursion_limit": RECURSION_LIMIT,
        "metadata": {"graph_id": graph_id, _CONTEXT_KEY: json.dumps(context or {})},
    }


def saved_context(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """Return the settings a thread was started with (empty if none were stored)."""
    raw = (metadata or {}).get(_CONTEXT_KEY)
    return json.loads(raw) if isinstance(raw, str) else {}
