"""State of the planning agent (plain JSON, so it checkpoints).

Keys shared with the stages it composes keep their names and reducers: ``plan``,
``results``, ``failures`` and ``replans`` as plan-and-execute's plan review reads and
writes them, ``approvals`` as the LLM Compiler's approval branches write them.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Annotated, Any

from langgraph.managed import RemainingSteps
from typing_extensions import TypedDict

from agent_graphs.actions import Action
from agent_graphs.llm import add_usage
from agent_graphs.plans import PlanStep
from agent_graphs.reflection.compose import merge_loop
from agent_graphs.schemas import AnswerOutput, GoalInput, RunState, merge_by_id

__all__ = ["InputState", "OutputState", "State", "add_role_usage"]


def add_role_usage(
    left: Mapping[str, Mapping[str, int]] | None, right: Mapping[str, Mapping[str, int]] | None
) -> dict[str, dict[str, int]]:
    """Reducer for tokens per model role: counts add up role by role."""
    merged = {role: dict(used) for role, used in (left or {}).items()}
    for role, used in (right or {}).items():
        merged[role] = add_usage(merged.get(role, {}), dict(used))
    return merged


InputState = GoalInput


class OutputState(AnswerOutput, total=False):
    """What the graph hands back: ``final_answer`` is the report with its sources."""

    report: str
    """The report as the reflection loop returned it (without the sources section)."""
    plan: list[PlanStep]
    """Every step of the current plan: the completed ones, then the last plan's."""
    results: Annotated[dict[str, Any], merge_by_id]
    """Steps that succeeded, by id: tool, args, output, value, timing, evaluation."""
    failures: Annotated[list[dict[str, Any]], operator.add]
    """Every failed (or skipped, or rejected) step attempt, and plans a person rejected."""
    reflection: dict[str, Any]
    """The report's reflection: every round's score and issues, approved, reason."""
    delivery: Annotated[dict[str, Any], merge_by_id]
    """What happened to each action the goal asked for with the report, by tool."""
    decisions: Annotated[list[dict[str, Any]], operator.add]
    """Approvals asked and how they were answered, in order."""
    tokens: Annotated[dict[str, dict[str, int]], add_role_usage]
    """Tokens used per model role."""


class State(RunState, OutputState, total=False):
    """Everything the agent keeps between nodes."""

    outcomes: Annotated[dict[str, Any], merge_by_id]
    """This round's task outcomes by id, until ``evaluate`` judges them."""
    approvals: Annotated[dict[str, dict[str, Any]], merge_by_id]
    """A person's decision per held task: ``{"action": approved}`` or ``{"outcome": ...}``."""
    replans: Annotated[int, operator.add]
    """How many times the plan was revised (a rejected plan counts)."""
    pending: Annotated[dict[str, Action], merge_by_id]
    """The prepared delivery action, waiting for approval or to run."""
    report_loop: Annotated[dict[str, Any], merge_loop]
    """The reflection loop's state while it writes the report (drafts, rounds, checks)."""
    stop_reason: str
    """Why the run stopped short of the goal (a limit, a rejection), if it did."""
    usage: Annotated[dict[str, int], add_usage]
    """Tokens used by model calls, summed: input_tokens, output_tokens."""
    remaining_steps: RemainingSteps
    """Supersteps left before LangGraph's recursion limit; used to stop gracefully."""
