"""The checkpointer `langgraph dev` uses (``langgraph.json`` -> ``checkpointer.path``).

Runs started in the dev server land in the same SQLite file as CLI and Python runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from checkpoints.sqlite import open_async_saver


@asynccontextmanager
async def saver() -> AsyncIterator[AsyncSqliteSaver]:
    """Yield the project's async SQLite saver for the dev server's lifetime."""
    async with open_async_saver() as checkpointer:
        yield checkpointer
