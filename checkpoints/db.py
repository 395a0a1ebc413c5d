"""Which database the runs live in: one setting, a SQLite file or a PostgreSQL URL.

``--db`` / ``$AGENT_GRAPHS_DB`` holding ``postgresql://...`` (or ``postgres://...``)
switches the checkpointer, the approvals listing, the audit trail and the thread locks
to PostgreSQL; anything else is a SQLite file path (the embedded default).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpoints import sqlite
from checkpoints.sqlite import DB_ENV, db_path

__all__ = ["DB_ENV", "DatabaseUnavailable", "db_target", "describe", "is_postgres",
           "open_async_saver", "open_saver"]

_SCHEMES = ("postgresql://", "postgres://")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or set up; the message says why (no password)."""


def is_postgres(target: str | os.PathLike[str] | None) -> bool:
    """Say whether ``target`` names a PostgreSQL database (a ``postgresql://`` URL)."""
    return isinstance(target, str) and target.strip().lower().startswith(_SCHEMES)


def db_target(target: str | os.PathLike[str] | None = None) -> str:
    """Return the database to use: ``target`` > ``$AGENT_GRAPHS_DB`` > the default file.

    A URL comes back as given; a path comes back absolute (its folder created), so other
    processes started elsewhere find the same file.
    """
    chosen = target or os.environ.get(DB_ENV) or None
    if is_postgres(chosen):
        return str(chosen).strip()
    return str(db_path(chosen).resolve())


def describe(target: str | os.PathLike[str] | None = None) -> str:
    """Name the database for messages: the file, or the URL without its password."""
    chosen = db_target(target)
    if is_postgres(chosen):
        from checkpoints.postgres import redact

        return redact(chosen)
    return chosen


@contextmanager
def open_saver(target: str | os.PathLike[str] | None = None) -> Iterator[BaseCheckpointSaver]:
    """Yield a ready sync saver on ``target`` (see :func:`db_target`); closed after."""
    chosen = db_target(target)
    if is_postgres(chosen):
        from checkpoints import postgres  # psycopg is imported only when it is used

        with postgres.open_saver(chosen) as saver:
            yield saver
    else:
        with sqlite.open_saver(chosen) as saver:
            yield saver


@asynccontextmanager
async def open_async_saver(
    target: str | os.PathLike[str] | None = None,
) -> AsyncIterator[BaseCheckpointSaver]:
    """Yield a ready async saver (``ainvoke``/``astream``, the dev server) on ``target``."""
    chosen = db_target(target)
    if is_postgres(chosen):
        from checkpoints import postgres

        async with postgres.open_async_saver(chosen) as saver:
            yield saver
    else:
        async with sqlite.open_async_saver(chosen) as async_saver:
            yield async_saver
