"""LangGraph's PostgreSQL savers on a psycopg 3 connection pool, for many workers.

Every process that opens the database runs the savers' migrations once, under an
advisory lock: four workers starting together would otherwise race to create the same
tables (PostgreSQL's ``CREATE TABLE IF NOT EXISTS`` is not safe against a concurrent one).

The audit trail and the thread locks share one more pool per process (per URL): a new
PostgreSQL session costs a server process and a cold catalog cache, several ms each.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import psycopg
from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from checkpoints.db import DatabaseUnavailable

# What LangGraph's savers need of every connection (see PostgresSaver.from_conn_string).
SAVER_CONN: dict[str, Any] = {"autocommit": True, "prepare_threshold": 0,
                              "row_factory": dict_row}
POOL_ENV = "AGENT_GRAPHS_DB_POOL"
# A lost client (a killed machine, a cut network) is noticed by the server after about a
# minute, and its thread locks go with its session; see checkpoints.locks.
KEEPALIVE: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30,
                             "keepalives_interval": 10, "keepalives_count": 3}
CONNECT_TIMEOUT = 10
# Advisory-lock key of schema setup (thread locks hash into the same 64-bit space).
_SETUP_KEY = 0x6167_7261_7068_7300  # "agraphs\0"
_SETUP_RETRY = 0.05
_ready: set[str] = set()
_ready_lock = threading.Lock()
# Shared pools: a worker holds one connection per thread it runs (its lock) plus one for
# a moment per audit record. At most _SHARED_URLS databases keep a pool in a process.
SHARED_MAX = 128
_SHARED_URLS = 4
_shared: OrderedDict[str, ConnectionPool[Any]] = OrderedDict()
_shared_pid = os.getpid()
_shared_lock = threading.Lock()
_inherited: list[ConnectionPool[Any]] = []  # a forked child never touches its parent's


def redact(url: str) -> str:
    """Return ``url`` without its password, fit to print."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, at, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in creds else ''}{at}{host}"


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """Open one autocommit connection (for the audit trail and thread locks)."""
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT,
                               **KEEPALIVE, **kwargs)
    except psycopg.OperationalError as err:
        raise DatabaseUnavailable(f"cannot connect to {redact(url)}: "
                                  f"{str(err).strip()}") from None


def _unlock_all(conn: psycopg.Connection[Any]) -> None:
    """A connection back in the pool holds no thread lock (advisory locks are re-entrant
    per session: another thread of this process must not inherit one)."""
    conn.execute("SELECT pg_advisory_unlock_all()")


def _shared_pool(url: str) -> ConnectionPool[Any]:
    global _shared_pid
    with _shared_lock:
        if _shared_pid != os.getpid():  # forked: those sockets belong to the parent
            _inherited.extend(_shared.values())
            _shared.clear()
            _shared_pid = os.getpid()
        pool = _shared.get(url)
        if pool is None:
            setup(url)
            pool = ConnectionPool(url, min_size=0, max_size=SHARED_MAX, reset=_unlock_all,
                                  kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT,
                                          **KEEPALIVE}, timeout=CONNECT_TIMEOUT, open=True)
            _shared[url] = pool
            while len(_shared) > _SHARED_URLS:
                _shared.popitem(last=False)[1].close()
        _shared.move_to_end(url)
        return pool


@contextmanager
def shared_connection(url: str) -> Iterator[psycopg.Connection[Any]]:
    """Lend an autocommit connection of this process's pool for ``url`` (audit, locks)."""
    try:
        with _shared_pool(url).connection() as conn:
            yield conn
    except PoolTimeout as err:
        raise DatabaseUnavailable(f"no connection to {redact(url)}: {err}") from None


def setup(url: str) -> None:
    """Create or migrate the checkpoint and audit tables once per process, under a lock."""
    from checkpoints.audit import PostgresAudit  # the audit module imports this one

    with _ready_lock:
        if url in _ready:
            return
        with connect(url, row_factory=dict_row) as conn:
            # NOTE: not pg_advisory_lock: a session waiting in it holds a snapshot, and the
            # migrations' CREATE INDEX CONCURRENTLY in the holder waits for that snapshot
            # to end (a deadlock). Between tries a waiting session holds nothing.
            while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok",
                                   (_SETUP_KEY,)).fetchone()["ok"]:  # type: ignore[index]
                time.sleep(_SETUP_RETRY)
            PostgresSaver(conn).setup()
            PostgresAudit.create(conn)
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_KEY,))
        _ready.add(url)


def _pool_size() -> int:
    return max(1, int(os.environ.get(POOL_ENV) or 4))


@contextmanager
def open_saver(url: str) -> Iterator[PostgresSaver]:
    """Yield a ready sync saver on a connection pool that closes when the block ends."""
    setup(url)
    pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
        url, min_size=1, max_size=_pool_size(), open=False,
        kwargs={**SAVER_CONN, **KEEPALIVE, "connect_timeout": CONNECT_TIMEOUT})
    with pool:
        yield PostgresSaver(pool)


@asynccontextmanager
async def open_async_saver(url: str) -> AsyncIterator[AsyncPostgresSaver]:
    """Yield a ready async saver (``ainvoke``/``astream``, the dev server) on a pool."""
    setup(url)  # once per process; blocking only the first time
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
        url, min_size=1, max_size=_pool_size(), open=False,
        kwargs={**SAVER_CONN, **KEEPALIVE, "connect_timeout": CONNECT_TIMEOUT})
    async with pool:
        yield AsyncPostgresSaver(pool)
