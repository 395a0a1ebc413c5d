"""Keep the garbage collector's full passes short: freeze what exists at the first run.

LangGraph, LangChain, pydantic and OpenAI's types leave 100,000-160,000 objects that
live as long as the process, and every full collection walks all of them: 100-190 ms,
measured in the middle of 200-task LLM Compiler runs (twice in five runs), a stall that
no tool or model call causes. ``gc.freeze()`` (Python's own remedy, made for long-lived
processes) moves the objects that exist now to a generation collections skip. Done once,
when the first node of the first run in the process starts, it covers the imports, the
compiled graphs, the models and the tools; the full passes of later runs walked 12,000-
18,000 objects (6-21 ms). Frozen objects are never freed: only what existed by then.
``AGENT_GRAPHS_GC_FREEZE=0`` turns it off.
"""

from __future__ import annotations

import gc
import os

__all__ = ["freeze_once"]

_frozen = False


def freeze_once() -> None:
    """Freeze the objects that exist now, the first time this is called in the process."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    if os.environ.get("AGENT_GRAPHS_GC_FREEZE", "1") != "0":
        gc.freeze()  # O(1): it moves the collector's lists, it does not walk them
