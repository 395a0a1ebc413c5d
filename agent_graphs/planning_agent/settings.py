"""Settings of the planning agent: fields of the shared ``Context`` (``agent_*``).

``agent_settings(ctx)`` reads them from any object that has them (a ``Context``), else
from the defaults, which read ``AGENT_GRAPHS_AGENT_*`` first. The shared limits
still apply: ``max_steps`` (tasks in one plan), ``max_replans``, ``tool_timeout``,
``approve_plan``, and the reflection loop's ``reflection_*`` settings for the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_graphs.fields import section
from agent_graphs.fields import setting as _setting

__all__ = ["AgentSettings", "agent_settings"]


@dataclass(kw_only=True)
class AgentSettings:
    """How the planning agent runs its plan and what it does with the report."""

    agent_max_concurrency: int = _setting(
        "agent_max_concurrency", 8,
        "Planning agent: most tool calls of the plan running at once", int,
    )
    agent_deliver: bool = _setting(
        "agent_deliver", True,
        "Planning agent: carry out what the goal asks to do with the finished report "
        "(email it, save it) through the approval gate; off = only write the report", bool,
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first setting that is out of range."""
        if self.agent_max_concurrency < 1:
            raise ValueError("agent_max_concurrency must be at least 1")


def agent_settings(ctx: Any) -> AgentSettings:
    """Return the planning agent's settings of ``ctx``: its own values, else the defaults.

    Raises:
        ValueError: A value is out of range.
    """
    return section(ctx, AgentSettings)
