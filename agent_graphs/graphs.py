"""Every graph the project serves, by id, and how to run one durably from Python."""

from __future__ import annotations

import importlib
import json
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.graph.state import CompiledStateGraph, StateGraph

__all__ = ["GRAPHS", "compile_graph", "get_builder", "graph_roles", "run_config", "saved_context"]

GRAPHS: dict[str, str] = {
    "plan_execute": "agent_graphs.plan_execute.graph",
    "reflection": "agent_graphs.reflection.graph",
    "planning_agent": "agent_graphs.planning_agent.graph",
    "lats": "agent_graphs.lats.graph",
    "llm_compiler": "agent_graphs.llm_compiler.graph",
}
"""Graph id -> module exporting ``build_graph``, ``builder`` (uncompiled) and ``graph``
(compiled without a checkpointer, for langgraph dev)."""

# Generous on purpose: the limits in Context end every loop long before this, and the
# graphs watch RemainingSteps to stop gracefully if a caller sets a lower one.
RECURSION_LIMIT = 500
_CONTEXT_KEY = "agent_graphs_context"


def _module(graph_id: str) -> Any:
    if graph_id not in GRAPHS:
        raise KeyError(f"unknown graph {graph_id!r}; known: {', '.join(GRAPHS)}")
    return importlib.import_module(GRAPHS[graph_id])


def get_builder(graph_id: str) -> StateGraph:
    """Return the uncompiled builder of ``graph_id``."""
    return _module(graph_id).builder


def graph_roles(graph_id: str) -> tuple[str, ...]:
    """Return the model roles ``graph_id`` uses (its module's ``ROLES``), for display."""
    return tuple(getattr(_module(graph_id), "ROLES", ()))


def compile_graph(
    graph_id: str, checkpointer: BaseCheckpointSaver | None = None
) -> CompiledStateGraph:
    """Compile ``graph_id`` with ``checkpointer`` (e.g. from ``checkpoints.open_saver``)."""
    module = _module(graph_id)
    name = getattr(module.builder, "name", None) or module.graph.name
    return module.builder.compile(checkpointer=checkpointer, name=name)


def run_config(
    thread_id: str, *, graph_id: str, context: dict[str, Any] | None = None
) -> RunnableConfig:
    """Build the config for a durable run; the thread remembers its graph and settings.

    The settings passed for the run are stored in the checkpoint metadata, and every
    graph's entry node stores the whole Context it ran with in the state (``settings``),
    so a resume in another process reuses them (see :func:`saved_context`).
    """
    return {
        "configurable": {"thread_id": thread_id},
        "recursion_limit": RECURSION_LIMIT,
        "metadata": {"graph_id": graph_id, _CONTEXT_KEY: json.dumps(context or {})},
    }


def saved_context(found: CheckpointTuple | dict[str, Any] | None) -> dict[str, Any]:
    """Return the settings a thread was started with (empty if none were stored).

    Takes a checkpoint tuple (state ``settings`` written by the graph, wherever the run
    started: CLI, Python, Studio or the SDK; overridden by values the CLI passed) or, as
    before, just its metadata.
    """
    if found is None:
        return {}
    metadata: dict[str, Any]
    if isinstance(found, CheckpointTuple):
        stored = found.checkpoint.get("channel_values", {}).get("settings") or {}
        metadata = dict(found.metadata or {})
    else:
        stored, metadata = {}, found
    raw = metadata.get(_CONTEXT_KEY)
    passed = json.loads(raw) if isinstance(raw, str) else {}
    return {**stored, **passed}
