"""An append-only audit trail beside the checkpoints (same database, own table).

Records approval requests, decisions and every MEDIUM/HIGH tool execution. Each record
has a key: LangGraph replays a node from its start on resume, so a replayed write with
the same (kind, key, variant) is ignored instead of being logged twice. ``variant`` tells
apart records that share a key but say different things (a person answering a replayed
request differently).

One interface (:class:`AuditStore`), two backends: :class:`SqliteAudit` (``INSERT OR
IGNORE``) and :class:`PostgresAudit` (``ON CONFLICT DO NOTHING``), chosen by the same
setting as the checkpointer (``$AGENT_GRAPHS_DB`` or ``path``; see checkpoints.db).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from checkpoints.db import db_target, is_postgres
from checkpoints.sqlite import connect, db_path

_INDEX = "CREATE INDEX IF NOT EXISTS audit_thread_seq ON audit (thread_id, seq)"
"""Both backends: a thread's records by sequence (an approval looks up its own)."""
_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    variant TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, key, variant)
)
"""
_PG_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit (
    seq BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    thread_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    actor TEXT NOT NULL,
    data TEXT NOT NULL,
    variant TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, key, variant)
)""",
    _INDEX,
)
# NOTE: data is JSON text on both backends: JSONB would refuse a tool result holding \u0000.
_COLUMNS = "seq, at, thread_id, kind, key, actor, data"


@dataclass
class AuditRecord:
    """One line of the audit trail."""

    seq: int
    at: str
    thread_id: str
    kind: str
    """approval_requested, approval_decided or tool_executed."""
    key: str
    actor: str
    """Who acted: ``agent`` or the person who decided."""
    data: dict[str, Any]


class AuditStore(Protocol):
    """Where the audit trail is kept."""

    def record(self, kind: str, *, thread_id: str, key: str, actor: str,
               data: dict[str, Any], variant: str = "") -> None:
        """Append one record unless one of ``kind`` with ``key`` and ``variant`` exists."""

    def read(self, *, thread_id: str | None = None, limit: int = 200) -> list[AuditRecord]:
        """Return the newest ``limit`` records, oldest first, for one thread or all."""

    def find(self, kind: str, key: str, *, thread_id: str) -> list[AuditRecord]:
        """Return the records of ``kind`` with ``key`` in one thread, oldest first."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _records(rows: list[Any]) -> list[AuditRecord]:
    return [
        AuditRecord(seq=row[0], at=row[1], thread_id=row[2], kind=row[3], key=row[4],
                    actor=row[5], data=json.loads(row[6]))
        for row in reversed(rows)
    ]


_KEPT = 4
"""Open SQLite connections a thread keeps (the least recently used one closes first)."""
_local = threading.local()


def _connection(path: str) -> sqlite3.Connection:
    """This thread's open connection to the trail at ``path``, its table created.

    Opening one per call cost about 1 ms (three pragmas; an approval reads and writes
    the trail several times). A connection is never shared between threads, nor kept
    across a fork (SQLite forbids both), nor used once the file at ``path`` was replaced.
    """
    try:
        found = os.stat(path)
        inode: tuple[int, int] | None = (found.st_dev, found.st_ino)
    except FileNotFoundError:
        inode = None
    kept: OrderedDict[tuple[int, str], tuple[sqlite3.Connection, Any]] = (
        _local.__dict__.setdefault("kept", OrderedDict()))
    slot = (os.getpid(), path)
    if slot in kept:
        conn, opened = kept[slot]
        if inode is not None and inode == opened:
            kept.move_to_end(slot)
            return conn
        del kept[slot]
        conn.close()
    conn = connect(path)
    conn.execute(_SQLITE_SCHEMA)
    conn.execute(_INDEX)
    found = os.stat(path)
    kept[slot] = (conn, (found.st_dev, found.st_ino))
    while len(kept) > _KEPT:
        _, (old, _) = kept.popitem(last=False)
        old.close()
    return conn


class SqliteAudit:
    """The trail in the SQLite checkpoint file (any process; a connection per thread)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(db_path(path))

    def record(self, kind: str, *, thread_id: str, key: str, actor: str,
               data: dict[str, Any], variant: str = "") -> None:
        """Append one record unless one of ``kind`` with ``key`` and ``variant`` exists."""
        conn = _connection(self.path)
        with conn:
            conn.execute(
                "INSERT OR IGNORE INTO audit (at, thread_id, kind, key, actor, data, "
                "variant) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_now(), thread_id, kind, key, actor, json.dumps(data, default=str),
                 variant),
            )

    def read(self, *, thread_id: str | None = None, limit: int = 200) -> list[AuditRecord]:
        """Return the newest ``limit`` records, oldest first, for one thread or all."""
        sql, args = f"SELECT {_COLUMNS} FROM audit", tuple[str, ...]()
        if thread_id:
            sql, args = sql + " WHERE thread_id = ?", (thread_id,)
        rows = _connection(self.path).execute(
            sql + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        return _records(rows)

    def find(self, kind: str, key: str, *, thread_id: str) -> list[AuditRecord]:
        """Return the records of ``kind`` with ``key`` in one thread, oldest first."""
        rows = _connection(self.path).execute(
            f"SELECT {_COLUMNS} FROM audit WHERE kind = ? AND key = ? AND thread_id = ? "
            "ORDER BY seq DESC", (kind, key, thread_id)).fetchall()
        return _records(rows)


class PostgresAudit:
    """The trail in the PostgreSQL checkpoint database (the process's shared pool)."""

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def create(conn: Any) -> None:
        """Create the table on ``conn`` (called once per process, under the setup lock)."""
        for statement in _PG_SCHEMA:
            conn.execute(statement)

    def _connect(self) -> Any:
        from checkpoints import postgres

        return postgres.shared_connection(self.url)

    def record(self, kind: str, *, thread_id: str, key: str, actor: str,
               data: dict[str, Any], variant: str = "") -> None:
        """Append one record unless one of ``kind`` with ``key`` and ``variant`` exists."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO audit (at, thread_id, kind, key, actor, data, variant) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (kind, key, variant) DO NOTHING",
                (_now(), thread_id, kind, key, actor, json.dumps(data, default=str), variant),
            )

    def read(self, *, thread_id: str | None = None, limit: int = 200) -> list[AuditRecord]:
        """Return the newest ``limit`` records, oldest first, for one thread or all."""
        sql, args = f"SELECT {_COLUMNS} FROM audit", tuple[str, ...]()
        if thread_id:
            sql, args = sql + " WHERE thread_id = %s", (thread_id,)
        with self._connect() as conn:
            rows = conn.execute(sql + " ORDER BY seq DESC LIMIT %s", (*args, limit)).fetchall()
        return _records(rows)

    def find(self, kind: str, key: str, *, thread_id: str) -> list[AuditRecord]:
        """Return the records of ``kind`` with ``key`` in one thread, oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit WHERE kind = %s AND key = %s AND thread_id = %s "
                "ORDER BY seq DESC", (kind, key, thread_id)).fetchall()
        return _records(rows)


def store_for(path: str | os.PathLike[str] | None = None) -> AuditStore:
    """Return the trail of ``path`` (a file or URL), else of ``$AGENT_GRAPHS_DB``."""
    target = db_target(path)
    return PostgresAudit(target) if is_postgres(target) else SqliteAudit(target)


def record(
    kind: str, *, thread_id: str, key: str, actor: str, data: dict[str, Any],
    variant: str = "", path: str | os.PathLike[str] | None = None,
) -> None:
    """Append one record unless one of ``kind`` with ``key`` and ``variant`` exists."""
    store_for(path).record(kind, thread_id=thread_id, key=key, actor=actor, data=data,
                           variant=variant)


def read(
    *, thread_id: str | None = None, path: str | os.PathLike[str] | None = None,
    limit: int = 200,
) -> list[AuditRecord]:
    """Return audit records, oldest first, for one thread or all of them."""
    return store_for(path).read(thread_id=thread_id, limit=limit)


def find(
    kind: str, key: str, *, thread_id: str, path: str | os.PathLike[str] | None = None,
) -> list[AuditRecord]:
    """Return the records of ``kind`` with ``key`` in one thread, oldest first."""
    return store_for(path).find(kind, key, thread_id=thread_id)
