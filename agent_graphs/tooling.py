"""Build the toolbox a run uses from its Context (cached: the search index is reused)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from agent_graphs.context import Context
from tools import Toolbox, ToolSettings


@lru_cache(maxsize=16)
def _toolbox(workspace: str, corpus_dir: str, outbox: str) -> Toolbox:
    settings = ToolSettings.from_env(
        workspace=Path(workspace).expanduser().resolve(),
        corpus_dir=Path(corpus_dir).expanduser().resolve() if corpus_dir else None,
        outbox=Path(outbox).expanduser().resolve(),
    )
    return Toolbox(settings)


def toolbox_for(ctx: Context) -> Toolbox:
    """Return the toolbox configured by ``ctx`` (workspace, corpus, outbox)."""
    return _toolbox(ctx.workspace, ctx.corpus_dir, ctx.outbox)
