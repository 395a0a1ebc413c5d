"""One process runs a thread at a time: a lock per thread, released when its holder dies.

LangGraph's checkpointers do not stop two processes from continuing the same thread from
the same checkpoint; both would run the next node, tool call included (the outbox's
idempotency key would still drop the second email, but any other tool would run twice).
Every process that runs a thread (``agent-graphs run``/``resume``/``worker``) holds its
lock while it does:

- PostgreSQL: a session-level advisory lock (``pg_advisory_lock``) on a connection of its
  own (from the process's shared pool; given back unlocked). The server drops it the
  moment that session ends, so a SIGKILLed worker leaves its threads to the others (a
  lost machine: after the TCP keepalives, about a minute).
  The key hashes the schema with the thread id: advisory locks are per database, and the
  savers' tables follow ``search_path``, so two schemas are two sets of threads.
- SQLite (one machine): ``flock`` on a small file per thread in ``<db>.locks/``; the
  kernel drops it when the process dies.

The lock is advisory: code that calls ``graph.invoke`` itself should take it too.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from checkpoints.db import db_target, is_postgres

__all__ = ["ThreadBusy", "thread_lock"]

_RETRY = 0.05  # seconds between tries of a SQLite lock while waiting for it


class ThreadBusy(RuntimeError):
    """Another process is running the thread; nothing was changed."""


def _busy(thread_id: str, wait: float) -> ThreadBusy:
    waited = f" (waited {wait:g} s)" if wait > 0 else ""
    return ThreadBusy(f"thread {thread_id!r} is being run by another process right now"
                      f"{waited}; nothing was changed. Try again when it pauses or ends "
                      f"(agent-graphs threads shows its state).")


@contextmanager
def _postgres_lock(url: str, thread_id: str, wait: float) -> Iterator[bool]:
    import psycopg

    from checkpoints.postgres import shared_connection

    with shared_connection(url) as conn:
        row = conn.execute(
            "SELECT k, pg_try_advisory_lock(k) FROM (SELECT hashtextextended("
            "'agent-graphs:' || current_schema() || ':' || %s, 0) AS k) AS key",
            (thread_id,)).fetchone()
        assert row is not None
        key, waited = row[0], not row[1]
        if waited:
            if wait <= 0:
                raise _busy(thread_id, wait)
            # lock_timeout bounds the wait; the server wakes us the moment it is free
            conn.execute(f"SET lock_timeout = {max(1, int(wait * 1000))}")
            try:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            except psycopg.errors.LockNotAvailable:
                raise _busy(thread_id, wait) from None
            finally:
                conn.execute("RESET lock_timeout")
        try:
            yield waited
        finally:
            if not conn.closed and not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


@contextmanager
def _file_lock(db: str, thread_id: str, wait: float) -> Iterator[bool]:
    folder = Path(db + ".locks")
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.blake2b(thread_id.encode(), digest_size=16).hexdigest()
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline, waited = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = True
                if time.monotonic() >= deadline:
                    raise _busy(thread_id, wait) from None
                time.sleep(_RETRY)
        yield waited
    finally:
        os.close(fd)  # releases the flock


@contextmanager
def thread_lock(
    thread_id: str, *, db: str | os.PathLike[str] | None = None, wait: float = 0.0
) -> Iterator[bool]:
    """Hold ``thread_id``'s lock in database ``db`` (see checkpoints.db) for the block.

    Args:
        thread_id: The thread to run.
        db: The checkpoint database (a file or a URL); default ``$AGENT_GRAPHS_DB``.
        wait: Seconds to wait for a busy lock (0: fail at once).

    Yields:
        Whether the lock was busy at first (the thread may have moved on meanwhile).

    Raises:
        ThreadBusy: Another process holds the lock (after ``wait`` seconds).
    """
    target = db_target(db)
    lock = _postgres_lock if is_postgres(target) else _file_lock
    with lock(target, thread_id, wait) as waited:
        yield waited
