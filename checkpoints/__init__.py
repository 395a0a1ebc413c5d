"""Persistence for LangGraph runs, on SQLite (embedded) or PostgreSQL (many workers):
savers, thread inspection, the audit trail and per-thread locks. Knows nothing about
patterns; one setting (``--db`` / ``$AGENT_GRAPHS_DB``) picks the database.
"""

from checkpoints import audit
from checkpoints.db import (
    DatabaseUnavailable,
    db_target,
    describe,
    is_postgres,
    open_async_saver,
    open_saver,
)
from checkpoints.inspect import ThreadInfo, get_thread, history, list_threads, thread_ids
from checkpoints.locks import ThreadBusy, thread_lock
from checkpoints.sqlite import DB_ENV, DEFAULT_DB, db_path

__all__ = [
    "audit",
    "DB_ENV",
    "DEFAULT_DB",
    "DatabaseUnavailable",
    "ThreadBusy",
    "ThreadInfo",
    "db_path",
    "db_target",
    "describe",
    "get_thread",
    "history",
    "is_postgres",
    "list_threads",
    "open_async_saver",
    "open_saver",
    "thread_ids",
    "thread_lock",
]
