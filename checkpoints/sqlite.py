"""Open LangGraph's SQLite checkpoint savers on one database file, in WAL mode."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

DEFAULT_DB = Path(".agent_graphs") / "checkpoints.sqlite"
DB_ENV = "AGENT_GRAPHS_DB"

# WAL lets readers (the CLI's `threads`, Studio) work while a run writes; the busy
# timeout makes concurrent writers from several processes wait instead of failing.
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=30000", "PRAGMA synchronous=NORMAL")


def db_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the database path: ``path`` > ``$AGENT_GRAPHS_DB`` > ./.agent_graphs/."""
    chosen = Path(path or os.environ.get(DB_ENV) or DEFAULT_DB).expanduser()
    chosen.parent.mkdir(parents=True, exist_ok=True)
    return chosen


def connect(path: str | os.PathLike[str] | None = None) -> sqlite3.Connection:
    """Open a connection to the checkpoint database with the project's pragmas."""
    conn = sqlite3.connect(db_path(path), check_same_thread=False, timeout=30)
    for pragma in _PRAGMAS:
        # NOTE: switching a new file to WAL takes a lock that SQLite does not wait for:
        # two threads opening the same new database can see "database is locked" here.
        for attempt in range(50):
            try:
                conn.execute(pragma)
                break
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) or attempt == 49:
                    raise
                time.sleep(0.02)
    return conn


@contextmanager
def open_saver(path: str | os.PathLike[str] | None = None) -> Iterator[SqliteSaver]:
    """Yield a ready sync saver; the connection closes when the block ends."""
    conn = connect(path)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        yield saver
    finally:
        conn.close()


@asynccontextmanager
async def open_async_saver(
    path: str | os.PathLike[str] | None = None,
) -> AsyncIterator[AsyncSqliteSaver]:
    """Yield a ready async saver (needed for ``ainvoke``/``astream`` and the dev server)."""
    import aiosqlite

    async with aiosqlite.connect(str(db_path(path)), timeout=30) as conn:
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
        saver = AsyncSqliteSaver(conn)
        await saver.setup()
        yield saver
