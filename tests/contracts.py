"""Each graph's contract cases (see tests/test_contract.py) and the scripted models that
answer them, in this process or in any other (the CLI, `langgraph dev`).

Adding a graph to ``agent_graphs.graphs.GRAPHS`` means adding one line to CONTRACTS.
A case is ``{"input": {...}, "context": {...}, "fallbacks": {role: fn}}``: each role's
scripted model answers through ``fn(messages, bound_kwargs)``. Model names are made here,
``case:<graph>/<case>/<role>``, so one process can serve every graph's cases at once.
"""

from __future__ import annotations

import importlib
from typing import Any

from agent_graphs import models
from agent_graphs.context import ROLE_FIELDS
from tests.fakes import ScriptedChatModel

CONTRACTS = {
    "plan_execute": "tests.plan_execute.contract",
    "reflection": "tests.reflection.contract",
    "planning_agent": "tests.planning_agent.contract",
    "lats": "tests.lats.contract",
    "llm_compiler": "tests.llm_compiler.contract",
}


def case(graph_id: str, name: str) -> dict[str, Any]:
    """Return contract case ``name`` ("answer" or "approval") of ``graph_id``."""
    return importlib.import_module(CONTRACTS[graph_id]).CASES[name]


def _provider(name: str, max_tokens: int) -> ScriptedChatModel:
    graph_id, case_name, role = name.split("/")
    return ScriptedChatModel(name=role, fallback=case(graph_id, case_name)["fallbacks"][role])


def register() -> None:
    """Make ``case:<graph>/<case>/<role>`` model names resolve to the case's models."""
    models.register_provider("case", _provider)


def context_for(graph_id: str, name: str, **extra: Any) -> dict[str, Any]:
    """Return the Context values of a case: its settings, every role on its scripted model."""
    found = case(graph_id, name)
    ctx = {k: v for k, v in found.get("context", {}).items()
           if not (k.endswith("_model") or k in ("model", "models"))}
    others: dict[str, str] = {}
    for role in found["fallbacks"]:
        model = f"case:{graph_id}/{name}/{role}"
        if role in ROLE_FIELDS:
            ctx[f"{role}_model"] = model
        else:
            others[role] = model
    if others:
        ctx["models"] = others
    return {**ctx, **extra}
