"""SQLite persistence for LangGraph runs; knows nothing about patterns."""

from checkpoints import audit
from checkpoints.inspect import ThreadInfo, get_thread, history, list_threads, thread_ids
from checkpoints.sqlite import DEFAULT_DB, db_path, open_async_saver, open_saver

__all__ = [
    "audit",
    "DEFAULT_DB",
    "ThreadInfo",
    "db_path",
    "get_thread",
    "history",
    "list_threads",
    "open_async_saver",
    "open_saver",
    "thread_ids",
]
