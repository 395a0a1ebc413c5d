"""Build the toolbox a run uses from its Context (cached: the search index is reused)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, create_model

from agent_graphs.context import Context
from tools import Risk, Toolbox, ToolSettings

ExtraTools = Mapping[str, tuple[BaseTool, Risk]]
"""Tools a graph factory adds to the built-in ones, by name, with their declared risk."""


@lru_cache(maxsize=16)
def _toolbox(workspace: str, corpus_dir: str, outbox: str) -> Toolbox:
    settings = ToolSettings.from_env(
        workspace=Path(workspace).expanduser().resolve(),
        corpus_dir=Path(corpus_dir).expanduser().resolve() if corpus_dir else None,
        outbox=Path(outbox).expanduser().resolve(),
    )
    return Toolbox(settings)


def toolbox_for(ctx: Context, extra_tools: ExtraTools | None = None) -> Toolbox:
    """Return the toolbox configured by ``ctx`` (workspace, corpus, outbox) plus extras."""
    box = _toolbox(ctx.workspace, ctx.corpus_dir, ctx.outbox)
    return box.extended(extra_tools) if extra_tools else box


class CalculatorPlanArgs(BaseModel):
    """The calculator's arguments as a plan may write them: numbers and step references."""

    # NOTE: no character pattern: a small planner then writes "(Q2 - Q1) / Q1 * 100",
    # which plan_execute links to the steps that look those figures up; numbers it makes
    # up are refused by the plan check.
    expression: str = Field(
        max_length=200,
        description="Arithmetic over numbers and earlier results, e.g. ($s2 - $s1) / $s1 * 100",
    )


def plan_arg_schemas(box: Toolbox) -> dict[str, type[BaseModel]]:
    """Each tool's argument schema for a planner's grammar (plans may hold ``$id``s)."""
    schemas: dict[str, type[BaseModel]] = {}
    for name in box.names():
        schema = box.get(name).tool_call_schema
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            schemas[name] = schema
        else:  # a tool described by a bare JSON schema: any arguments, checked when run
            schemas[name] = create_model(f"{name}_args", __base__=_AnyArgs)
    if "calculator" in schemas:
        schemas["calculator"] = CalculatorPlanArgs
    return schemas


class _AnyArgs(BaseModel):
    model_config = ConfigDict(extra="allow")


def with_tools(node: Callable[..., Any], tools: ExtraTools | None) -> Callable[..., Any]:
    """Bind a graph factory's extra tools to ``node`` (a ``(state, runtime, *, tools)``
    function), keeping its name and its typed return for Studio's edges."""

    @wraps(node)
    def bound(state: Any, runtime: Any) -> Any:
        return node(state, runtime, tools=tools)

    return bound
