"""Settings of the LLM Compiler graph, to be merged into the shared ``Context``.

Until they are, ``compiler_settings(ctx)`` reads each field from ``ctx`` when it has it,
else from the field's default (which reads ``AGENT_GRAPHS_COMPILER_*`` first), so the graph
runs under a plain ``Context`` and under ``CompilerContext`` alike. The per-task timeout is
the shared ``tool_timeout``; the bound on replans is the shared ``max_replans``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_graphs.fields import section
from agent_graphs.fields import setting as _setting

__all__ = ["CompilerContext", "CompilerSettings", "compiler_settings"]


def __getattr__(name: str) -> Any:
    # ``CompilerContext`` was Context plus these settings; they are part of Context now.
    if name == "CompilerContext":
        from agent_graphs.context import Context

        return Context
    raise AttributeError(name)


@dataclass(kw_only=True)
class CompilerSettings:
    """How the task DAG runs; every field is a Context setting."""

    compiler_max_concurrency: int = _setting(
        "compiler_max_concurrency", 16,
        "LLM Compiler: most tool calls of one DAG running at once (model calls never run "
        "concurrently: the planner streams while tools run, the joiner runs after them)",
        int,
    )
    compiler_max_tasks: int = _setting(
        "compiler_max_tasks", 12,
        "LLM Compiler: most tasks one plan may have (each replan has the same limit)", int,
    )
    compiler_stream_plan: bool = _setting(
        "compiler_stream_plan", True,
        "LLM Compiler: stream the planner's answer and start each task as soon as it is "
        "complete in the stream; off (or a model that cannot stream): the whole plan at once",
        bool,
    )
    compiler_journal_spacing: float = _setting(
        "compiler_journal_spacing", 0.02,
        "LLM Compiler: least seconds between two writes of finished tasks to the checkpoint "
        "(tasks finishing meanwhile share the next write; 0: each write as soon as the one "
        "before is done); a task that finished within it may run again after a crash",
        float,
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first setting that is out of range."""
        if self.compiler_max_concurrency < 1:
            raise ValueError("compiler_max_concurrency must be at least 1")
        if self.compiler_max_tasks < 1:
            raise ValueError("compiler_max_tasks must be at least 1")
        if not 0 <= self.compiler_journal_spacing <= 60:
            raise ValueError("compiler_journal_spacing must be between 0 and 60 seconds")


def compiler_settings(ctx: Any) -> CompilerSettings:
    """Return the LLM Compiler settings of ``ctx``: its own values, else the defaults.

    Raises:
        ValueError: A value is out of range.
    """
    return section(ctx, CompilerSettings)
