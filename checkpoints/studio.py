"""The checkpointer `langgraph dev` uses (``langgraph.json`` -> ``checkpointer.path``).

Runs started in the dev server land in the same database as CLI and Python runs: the
SQLite file, or PostgreSQL when ``$AGENT_GRAPHS_DB`` is a ``postgresql://`` URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpoints.db import open_async_saver


@asynccontextmanager
async def saver() -> AsyncIterator[BaseCheckpointSaver]:
    """Yield the project's async saver for the dev server's lifetime."""
    async with open_async_saver() as checkpointer:
        yield checkpointer
