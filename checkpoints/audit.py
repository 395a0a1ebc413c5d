"""An append-only audit trail beside the checkpoints (same SQLite file, own table).

Records approval requests, decisions and every MEDIUM/HIGH tool execution. Each record
has a key: LangGraph replays a node from its start on resume, so a replayed write with
the same (kind, key, variant) is ignored instead of being logged twice. ``variant`` tells
apart records that share a key but say different things (a person answering a replayed
request differently).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from checkpoints.sqlite import connect

_SCHEMA = """
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


def record(
    kind: str, *, thread_id: str, key: str, actor: str, data: dict[str, Any],
    variant: str = "", path: str | os.PathLike[str] | None = None,
) -> None:
    """Append one record unless one of ``kind`` with ``key`` and ``variant`` exists."""
    conn = connect(path)
    try:
        with conn:
            conn.execute(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO audit (at, thread_id, kind, key, actor, data, variant) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(timespec="milliseconds"), thread_id, kind, key,
                 actor, json.dumps(data, default=str), variant),
            )
    finally:
        conn.close()


def read(
    *, thread_id: str | None = None, path: str | os.PathLike[str] | None = None,
    limit: int = 200,
) -> list[AuditRecord]:
    """Return audit records, oldest first, for one thread or all of them."""
    conn = connect(path)
    try:
        conn.execute(_SCHEMA)
        sql = "SELECT seq, at, thread_id, kind, key, actor, data FROM audit"
        args: tuple[Any, ...] = ()
        if thread_id:
            sql, args = sql + " WHERE thread_id = ?", (thread_id,)
        rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
    finally:
        conn.close()
    return [
        AuditRecord(seq=row[0], at=row[1], thread_id=row[2], kind=row[3], key=row[4],
                    actor=row[5], data=json.loads(row[6]))
        for row in reversed(rows)
    ]
