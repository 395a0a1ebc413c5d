"""Progress events that every graph streams (``stream_mode="custom"``).

Each event is ``{"event": name, "summary": one line a person reads, ...data}``, and may
carry ``lines`` (detail lines, e.g. a plan's steps). The CLI and Studio render any graph's
events from ``summary`` and ``lines`` alone, without knowing the graph.
"""

from __future__ import annotations

from typing import Any

from langgraph.config import get_stream_writer


def emit(event: str, summary: str, **data: Any) -> None:
    """Send one progress event to whoever streams this run (no-op outside a run)."""
    try:
        writer = get_stream_writer()
    except RuntimeError:  # called outside a graph run, e.g. from a unit test
        return
    writer({"event": event, "summary": summary, **data})
