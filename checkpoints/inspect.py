"""Read what the checkpoint database holds: threads, their latest state and history.

Pattern-agnostic: it needs no graph. Values are the raw channel values of the latest
checkpoint; pending interrupts come from the writes LangGraph stored for that step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

INTERRUPT = "__interrupt__"


@dataclass
class ThreadInfo:
    """The latest checkpoint of one thread, summarised."""

    thread_id: str
    graph_id: str | None
    updated_at: str
    step: int
    next: list[str]
    """Nodes that would run on resume (empty when the run has finished)."""
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    """Pending interrupts: ``{"id": ..., "value": ...}``."""
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``waiting`` (an interrupt is pending), ``pending`` (can resume) or ``done``."""
        if self.interrupts:
            return "waiting"
        return "pending" if self.next else "done"


def thread_ids(saver: SqliteSaver) -> list[str]:
    """Return every thread id, most recently updated first."""
    # NOTE: checkpoint ids are time-ordered UUIDv6, so MAX() is the newest checkpoint.
    rows = saver.conn.execute(
        "SELECT thread_id FROM checkpoints WHERE checkpoint_ns = '' "
        "GROUP BY thread_id ORDER BY MAX(checkpoint_id) DESC"
    ).fetchall()
    return [row[0] for row in rows]


def _summarise(thread_id: str, tup: CheckpointTuple) -> ThreadInfo:
    checkpoint, metadata = tup.checkpoint, tup.metadata or {}
    interrupts = []
    ran = set()
    for task_id, channel, value in tup.pending_writes or []:
        if channel == INTERRUPT:
            for item in value if isinstance(value, list | tuple) else [value]:
                interrupts.append({"id": getattr(item, "id", None), "value": item.value})
        ran.add(task_id)
    values = dict(checkpoint.get("channel_values", {}))
    branches = [k.split(":", 2)[-1] for k in values if k.startswith("branch:to:")]
    return ThreadInfo(
        thread_id=thread_id,
        graph_id=metadata.get("graph_id"),
        updated_at=checkpoint.get("ts", ""),
        step=int(metadata.get("step", -1)),
        next=branches,
        interrupts=interrupts,
        values={k: v for k, v in values.items() if not k.startswith(("branch:", "__"))},
    )


def get_thread(saver: BaseCheckpointSaver, thread_id: str) -> ThreadInfo | None:
    """Return the latest checkpoint of ``thread_id`` summarised, or None if unknown."""
    tup = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    return _summarise(thread_id, tup) if tup else None


def list_threads(saver: SqliteSaver) -> list[ThreadInfo]:
    """Return a summary of every thread, most recently updated first."""
    infos = (get_thread(saver, tid) for tid in thread_ids(saver))
    return [info for info in infos if info is not None]


def history(saver: BaseCheckpointSaver, thread_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """Return the thread's checkpoints, newest first: id, step, source, writes."""
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    return [
        {
            "checkpoint_id": tup.config["configurable"]["checkpoint_id"],
            "step": (tup.metadata or {}).get("step"),
            "source": (tup.metadata or {}).get("source"),
            "created_at": tup.checkpoint.get("ts"),
        }
        for tup in saver.list(config, limit=limit)
    ]
