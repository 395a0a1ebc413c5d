"""Progress events that every graph streams (``stream_mode="custom"``).

The CLI prints them and Studio shows them, so a person can follow a run while it goes:
plan_created, step_started, tool_called, step_finished, step_evaluated, replanned,
approval_requested, finished.
"""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer


def emit(event: str, **data: Any) -> None:
    """Send one progress event to whoever streams this run (no-op outside a run)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run, e.g. from a unit test
        return
    writer({"event": event, **data})
