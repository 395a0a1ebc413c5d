"""JSON lines for programs: one object per line, ``{"type": ..., ...}``."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from checkpoints import ThreadInfo
from checkpoints.audit import AuditRecord


def thread_dict(info: ThreadInfo) -> dict[str, Any]:
    """Return a thread summary as plain JSON-able data."""
    return {"thread_id": info.thread_id, "graph_id": info.graph_id, "status": info.status,
            "updated_at": info.updated_at, "step": info.step, "next": info.next,
            "interrupts": info.interrupts, "values": info.values}


class JsonOutput:
    """Writes every kind of output as one JSON object per line on stdout."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def _json(self, kind: str, /, **data: Any) -> None:
        # positional-only: events carry their own "kind" field (a request's kind)
        print(json.dumps({"type": kind, **data}, default=str), file=self.stream, flush=True)

    # live progress of a run
    def start(self, thread: str, models: dict[str, str]) -> None:
        self._json("start", thread_id=thread, models=models)

    def event(self, event: dict[str, Any]) -> None:
        self._json("event", **event)

    def final(self, thread: str, values: dict[str, Any]) -> None:
        self._json("final", thread_id=thread, status=values.get("status"), state=values)

    def waiting(self, thread: str, interrupts: list[dict[str, Any]]) -> None:
        self._json("waiting", thread_id=thread, interrupts=interrupts)

    def stopped(self, thread: str, why: str) -> None:
        self._json("stopped", thread_id=thread, reason=why)

    def error(self, message: str) -> None:
        self._json("error", message=message)

    # listings of what is stored
    def threads(self, infos: list[ThreadInfo]) -> None:
        self._json("threads", threads=[thread_dict(i) for i in infos])

    def thread(self, info: ThreadInfo, past: list[dict[str, Any]] | None) -> None:
        self._json("thread", thread=thread_dict(info), history=past)

    def approvals(self, pending: list[Any]) -> None:
        self._json("approvals", approvals=[p.to_dict() for p in pending])

    def approval(self, pending: Any) -> None:
        self._json("approval", approval=pending.to_dict())

    def audit(self, records: list[AuditRecord]) -> None:
        self._json("audit", records=[vars(r) for r in records])
