"""Offline tools with risk tiers; knows nothing about graphs.

``Toolbox(ToolSettings.from_env())`` builds the built-in tools (search, calculator,
read_file, write_file, send_email); ``Toolbox.run`` validates, times out and wraps
errors so graphs handle one family of exceptions, ``ToolError``.
"""

from tools.registry import (
    RISKS,
    Risk,
    ToolArgsError,
    Toolbox,
    ToolError,
    ToolFailed,
    ToolTimeout,
    UnknownToolError,
)
from tools.settings import ToolSettings

__all__ = [
    "RISKS",
    "Risk",
    "ToolArgsError",
    "ToolError",
    "ToolFailed",
    "ToolSettings",
    "ToolTimeout",
    "Toolbox",
    "UnknownToolError",
]
