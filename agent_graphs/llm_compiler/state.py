"""State and structured outputs of the LLM Compiler graph (plain JSON, so it checkpoints)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from langgraph.managed import RemainingSteps
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from agent_graphs.llm import add_usage

V = TypeVar("V")


def merge_by_id(left: Mapping[str, V] | None, right: Mapping[str, V] | None) -> dict[str, V]:
    """Reducer for records keyed by task id: parallel approvals merge, later writes win."""
    return {**(left or {}), **(right or {})}


class JoinDecision(BaseModel):
    """The joiner's verdict on the results: the final answer, or what to plan next."""

    # NOTE: the thought comes first so a model looks at the results before it decides.
    thought: str = Field(max_length=400,
                         description="What the results show about the goal, briefly")
    action: Literal["finish", "replan"] = Field(
        description="finish: the results answer the goal; replan: more tasks are needed"
    )
    answer: str = Field(
        default="", description="The final answer for the user (when action is finish): "
        "each thing the goal asks about, named, with its figure from the results"
    )
    feedback: str = Field(
        default="", max_length=400,
        description="What is missing or went wrong, for the next plan (when action is replan)",
    )


class InputState(TypedDict):
    """What a user gives the graph."""

    goal: str
    """The task to achieve, in plain words."""


class OutputState(TypedDict, total=False):
    """What the graph hands back."""

    final_answer: str
    """The joiner's answer built from the task results, or why the run stopped."""
    status: Literal["done", "failed"]
    """``done`` when the joiner answered, ``failed`` when a limit stopped the run."""
    results: Annotated[dict[str, dict[str, Any]], merge_by_id]
    """Every task's outcome by task id: tool, args, ok, output or error."""


class GateInput(TypedDict):
    """What one ``approve`` branch gets (by ``Send``): one gated task."""

    gate: dict[str, Any]
    """The prepared action, the task's description, the goal and the plan's lines."""


class State(InputState, OutputState, total=False):
    """Everything the graph keeps between nodes."""

    settings: dict[str, Any]
    """The Context the run started with, so a resume anywhere uses the same settings."""
    plan: list[dict[str, Any]]
    """Every task the planner wrote, across rounds, in the order it wrote them."""
    planned_round: int
    """The last round whose plan is complete (-1: none yet); a resume never re-plans it."""
    replans: int
    """How many times the joiner asked for more tasks (the current round's number)."""
    feedback: str
    """The joiner's reason for the current round, shown to the planner."""
    approvals: Annotated[dict[str, dict[str, Any]], merge_by_id]
    """A person's decision per gated task: ``{"action": approved}`` or ``{"outcome": ...}``."""
    waiting: list[str]
    """Tasks held for a person when the scheduler last stopped."""
    stop_reason: str
    """Why the run stopped before reaching the goal (a limit), if it did."""
    usage: Annotated[dict[str, int], add_usage]
    """Tokens used by model calls, summed: input_tokens, output_tokens."""
    remaining_steps: RemainingSteps
    """Supersteps left before LangGraph's recursion limit; used to stop gracefully."""
