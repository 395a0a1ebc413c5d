"""Lines for a person: live progress plus listings, on one stream."""

from __future__ import annotations

import sys
from typing import TextIO

from agent_graphs.render.listings import ListingsText
from agent_graphs.render.progress import ProgressText


class TextOutput(ProgressText, ListingsText):
    """Writes progress and listings as readable lines (errors to stderr)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
