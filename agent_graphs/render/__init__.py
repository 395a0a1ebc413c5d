"""How the CLI shows things: live progress of a run, and listings of what is stored.

Two renderers with one interface: :class:`TextOutput` (lines for a person) and
:class:`JsonOutput` (one JSON object per line for a program). Neither knows any graph:
progress events say what to print (``summary``, ``lines``, ``level``), and thread views
show any graph's state.
"""

from __future__ import annotations

from agent_graphs.render.json_output import JsonOutput
from agent_graphs.render.text import TextOutput

__all__ = ["JsonOutput", "Output", "TextOutput", "output_for"]

Output = TextOutput | JsonOutput


def output_for(*, json_mode: bool) -> Output:
    """Return the renderer the command line asked for."""
    return JsonOutput() if json_mode else TextOutput()
