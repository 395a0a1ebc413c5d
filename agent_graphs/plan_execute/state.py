"""State and structured outputs of the plan-and-execute graph.

Plans, their validation and references live in :mod:`agent_graphs.plans`; gated tool
calls in :mod:`agent_graphs.actions`. Everything several branches could write goes
through a reducer (records merge by step id, counters add up).
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langgraph.managed import RemainingSteps
from pydantic import BaseModel, Field
from typing_extensions import NotRequired, TypedDict

from agent_graphs.actions import Action, Outcome
from agent_graphs.llm import add_usage
from agent_graphs.plans import PlanStep
from agent_graphs.schemas import AnswerOutput, GoalInput, RunState, merge_by_id


class StepEvaluation(BaseModel):
    """A verdict on whether one step's result achieved what the step expected."""

    # NOTE: issues come before the verdict so a model writes its reasons before deciding.
    issues: str = Field(default="", description="What is wrong or missing, if anything")
    success: bool = Field(description="True if the result gives what the step needed")
    suggestion: str = Field(default="", description="How a new plan could fix it")


class StepRecord(Outcome):
    """A finished step attempt: its outcome and the critic's (or the runtime's) verdict."""

    evaluation: dict[str, Any]
    description: NotRequired[str]
    expected: NotRequired[str]
    value: NotRequired[Any]
    """What ``$id`` stands for: a computed number, or one read from the output."""
    quote: NotRequired[str]
    """The exact line of the output an extracted value came from."""
    source: NotRequired[str]
    """The document that line is in."""
    done_before: NotRequired[int]
    """For a failure: how many steps had succeeded when it failed."""
    kind: NotRequired[str]
    """``plan_rejected`` for a plan a person turned down (no step ran)."""


InputState = GoalInput


class OutputState(AnswerOutput, total=False):
    """What the graph hands back."""

    results: dict[str, StepRecord]
    """Completed steps by id: tool, args, output, evaluation."""


class State(RunState, total=False):
    """Everything the graph keeps between steps (plain JSON, so it checkpoints)."""

    results: Annotated[dict[str, StepRecord], merge_by_id]
    """Completed steps by id."""
    plan: list[PlanStep]
    """The current plan: completed steps followed by the ones still to run."""
    pending: Annotated[dict[str, Action], merge_by_id]
    """Prepared calls by step id, waiting for approval or to run."""
    outcomes: Annotated[dict[str, Outcome], merge_by_id]
    """What each prepared call returned (or why it did not run), until evaluated."""
    failures: Annotated[list[StepRecord], operator.add]
    """Every failed step attempt, kept for replanning and for the record."""
    stop_reason: str
    """Why the run stopped before reaching the goal (a limit), if it did."""
    budget_limit: int
    """Tokens a person has approved so far under budget gating (0: the Context budget)."""
    replans: Annotated[int, operator.add]
    """How many times the plan was revised."""
    steps_run: Annotated[int, operator.add]
    """How many steps were executed, across all plans."""
    usage: Annotated[dict[str, int], add_usage]
    """Tokens used by model calls, summed: input_tokens, output_tokens."""
    remaining_steps: RemainingSteps
    """Supersteps left before LangGraph's recursion limit; used to stop gracefully."""
