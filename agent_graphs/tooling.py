"""Build the toolbox a run uses from its Context (cached: the search index is reused)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool

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


def with_tools(node: Callable[..., Any], tools: ExtraTools | None) -> Callable[..., Any]:
    """Bind a graph factory's extra tools to ``node`` (a ``(state, runtime, *, tools)``
    function), keeping its name and its typed return for Studio's edges."""

    @wraps(node)
    def bound(state: Any, runtime: Any) -> Any:
        return node(state, runtime, tools=tools)

    return bound
