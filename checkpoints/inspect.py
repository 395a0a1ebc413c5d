"""Read what the checkpoint database holds: threads, their latest state and history.

Pattern-agnostic: it needs no graph. Values are the raw channel values of the latest
checkpoint; pending interrupts come from the writes LangGraph stored for that step.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple
from langgraph.checkpoint.sqlite import SqliteSaver

INTERRUPT = "__interrupt__"
# Writes that say what happened to a task rather than what it produced (LangGraph's
# CONTROL_WRITES): a task with any other write has finished.
_CONTROL = frozenset({INTERRUPT, "__resume__", "__error__", "__error_source_node__"})
_NULL_TASK = "00000000-0000-0000-0000-000000000000"


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
    error: str | None = None
    """The error an unfinished task of the latest step stopped with, if any."""

    @property
    def status(self) -> str:
        """``waiting`` (an interrupt is pending), ``pending`` (can resume) or ``done``."""
        if self.interrupts:
            return "waiting"
        return "pending" if self.next else "done"

    @property
    def orphaned(self) -> bool:
        """It stopped mid-run without an error (a process killed or Ctrl-C'd): a worker
        may continue it. One that failed with an error waits for a person's resume."""
        return self.status == "pending" and self.error is None


_THREADS_SQL = ("SELECT thread_id FROM checkpoints WHERE checkpoint_ns = '' "
                "GROUP BY thread_id ORDER BY MAX(checkpoint_id) DESC")


def thread_ids(saver: BaseCheckpointSaver) -> list[str]:
    """Return every thread id, most recently updated first."""
    # NOTE: checkpoint ids are time-ordered UUIDv6, so MAX() is the newest checkpoint.
    # The savers offer no thread listing (``list(None)`` loads every checkpoint), so
    # SQLite and PostgreSQL get one query on their own (identical) checkpoints table.
    if isinstance(saver, SqliteSaver):
        return [row[0] for row in saver.conn.execute(_THREADS_SQL).fetchall()]
    pg = sys.modules.get("langgraph.checkpoint.postgres")  # loaded if the saver is one
    if pg is not None and isinstance(saver, pg.PostgresSaver):
        with saver._cursor() as cur:  # the saver's own lock and connection pool
            return [row["thread_id"] for row in cur.execute(_THREADS_SQL).fetchall()]
    newest: dict[str, str] = {}  # any other saver (e.g. InMemorySaver): walk its list
    for tup in saver.list(None):
        conf = tup.config["configurable"]
        if conf.get("checkpoint_ns", "") == "":
            tid = str(conf["thread_id"])
            newest[tid] = max(newest.get(tid, ""), conf["checkpoint_id"])
    return sorted(newest, key=newest.__getitem__, reverse=True)


def _pending_interrupts(tup: CheckpointTuple) -> list[dict[str, Any]]:
    """Interrupts still waiting for an answer: those of tasks that have not finished.

    A task's INTERRUPT write stays in the log after the task is resumed and finishes
    (until the next checkpoint), so an answered interrupt must not count as pending;
    e.g. one of two parallel approvals answered while the other still waits.
    """
    asked: dict[str, list[Any]] = {}
    finished: set[str] = set()
    for task_id, channel, value in tup.pending_writes or []:
        if task_id == _NULL_TASK:
            continue
        if channel == INTERRUPT:
            items = value if isinstance(value, list | tuple) else [value]
            asked[task_id] = list(items)  # the newest question a task asked wins
        elif channel not in _CONTROL:
            finished.add(task_id)
    return [
        {"id": getattr(item, "id", None), "value": getattr(item, "value", item)}
        for task_id, items in asked.items() if task_id not in finished
        for item in items
    ]


def _error(tup: CheckpointTuple) -> str | None:
    """The last error a task of this step stopped with (LangGraph stores it as a write)."""
    errors = [value for _task, channel, value in tup.pending_writes or []
              if channel == "__error__"]
    return str(errors[-1]) if errors else None


def _summarise(thread_id: str, tup: CheckpointTuple) -> ThreadInfo:
    checkpoint, metadata = tup.checkpoint, dict[str, Any](tup.metadata or {})
    interrupts = _pending_interrupts(tup)
    values = dict(checkpoint.get("channel_values", {}))
    branches = [k.split(":", 2)[-1] for k in values if k.startswith("branch:to:")]
    if "__start__" in values:  # the input was stored but its first step never committed
        branches.insert(0, "__start__")
    return ThreadInfo(
        thread_id=thread_id,
        graph_id=str(metadata["graph_id"]) if metadata.get("graph_id") else None,
        updated_at=checkpoint.get("ts", ""),
        step=int(metadata.get("step", -1)),
        next=branches,
        interrupts=interrupts,
        values={k: v for k, v in values.items() if not k.startswith(("branch:", "__"))},
        error=_error(tup) if branches else None,
    )


def get_thread(saver: BaseCheckpointSaver, thread_id: str) -> ThreadInfo | None:
    """Return the latest checkpoint of ``thread_id`` summarised, or None if unknown."""
    tup = saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    return _summarise(thread_id, tup) if tup else None


def list_threads(saver: BaseCheckpointSaver) -> list[ThreadInfo]:
    """Return a summary of every thread, most recently updated first."""
    infos = (get_thread(saver, tid) for tid in thread_ids(saver))
    return [info for info in infos if info is not None]


def history(saver: BaseCheckpointSaver, thread_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """Return the thread's checkpoints, newest first: id, step, source, writes."""
    config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    return [
        {
            "checkpoint_id": tup.config["configurable"]["checkpoint_id"],
            "step": (tup.metadata or {}).get("step"),
            "source": (tup.metadata or {}).get("source"),
            "created_at": tup.checkpoint.get("ts"),
        }
        for tup in saver.list(config, limit=limit)
    ]
