"""State pieces every graph shares: the goal-in / answer-out schemas, the settings a
thread was started with, and the reducer for records that parallel branches write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Literal, TypeVar

from typing_extensions import TypedDict

from agent_graphs.context import Context

__all__ = ["AnswerOutput", "GoalInput", "RunState", "merge_by_id", "settings_update"]

V = TypeVar("V")


def merge_by_id(
    left: Mapping[str, V] | None, right: Mapping[str, V | None] | None
) -> dict[str, V]:
    """Reducer for records keyed by id (step, task, node): later writes win per id.

    Writes from parallel branches merge instead of clashing; ``{id: None}`` removes one.
    """
    merged = dict(left or {})
    for key, value in (right or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class GoalInput(TypedDict):
    """What a user gives a graph."""

    goal: str
    """The task to achieve, in plain words."""


class AnswerOutput(TypedDict, total=False):
    """What every graph hands back, whatever its pattern."""

    final_answer: str
    """The answer built from the results, or why the run stopped."""
    status: Literal["done", "failed"]
    """``done`` when the goal was reached, ``failed`` when the run stopped short of it."""


class RunState(GoalInput, AnswerOutput, total=False):
    """Fields every graph's state has besides its own."""

    settings: dict[str, Any]
    """The Context the run started with, so a resume anywhere (CLI, Python, Studio) uses
    the same settings, wherever the thread was started."""


def settings_update(state: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Return ``{"settings": ...}`` the first time a run's entry node runs, else ``{}``."""
    return {} if state.get("settings") else {"settings": asdict(ctx)}
