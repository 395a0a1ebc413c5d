"""State and the critic's structured answer for the reflection graph."""

from __future__ import annotations

import operator
from typing import Annotated, Literal

from langgraph.managed import RemainingSteps
from pydantic import BaseModel, Field
from typing_extensions import NotRequired, TypedDict

from agent_graphs.llm import add_usage
from agent_graphs.schemas import AnswerOutput, GoalInput, RunState


class Critique(BaseModel):
    """A critic's verdict on one draft: specific issues first, then the verdict."""

    # NOTE: issues and fixes come before the verdict so a model reasons before it decides;
    # the caps become part of the grammar on llama.cpp, so a small model stays brief.
    issues: list[str] = Field(
        default_factory=list, max_length=4,
        description="Specific problems with the draft, one per item (empty if none)",
    )
    fixes: list[str] = Field(
        default_factory=list, max_length=4,
        description="A concrete change for each problem, in the same order",
    )
    approved: bool = Field(description="True if the draft fully does the task as it is")
    score: float = Field(ge=0.0, le=1.0, description="Quality of the draft from 0 to 1")


class Source(TypedDict):
    """One fact a draft may use (e.g. a search result from another graph)."""

    id: str
    """Short id the draft's writer and critic can refer to, e.g. 'd1'."""
    text: str
    """The fact itself."""
    source: NotRequired[str]
    """Where it comes from: a file, a URL, a tool call."""


class CheckRecord(TypedDict):
    """One external check's result on one draft."""

    name: str
    passed: bool
    detail: str


class Round(TypedDict):
    """One critique round: which draft, its score and verdict, and why."""

    draft: int
    """Index of the draft in ``drafts`` (0 = the first)."""
    score: float
    """The critic's score, 0-1 (0 when the critic gave no usable answer)."""
    approved: bool
    """The critic approved AND every check passed."""
    critic_approved: bool
    """What the critic said, whatever the checks found."""
    checks_passed: bool
    """Every external check passed; a draft that fails one ranks below every draft that
    passes them all."""
    issues: list[str]
    """The critic's issues, after one line per failed check."""
    fixes: list[str]
    """The critic's suggested fixes."""
    checks: list[CheckRecord]
    """Every check's result on this draft."""


class Review(TypedDict):
    """A person's decision on a draft at the review gate."""

    draft: int
    """The draft decided on (for an edit: the person's new draft)."""
    action: Literal["approve", "reject", "edit"]
    reason: str
    by: str
    checks: NotRequired[list[CheckRecord]]
    """For an edit: the checks' results on the person's draft (they do not block it)."""


class InputState(GoalInput, total=False):
    """What a caller gives the graph: only ``goal`` (the writing task) is needed."""

    sources: list[Source]
    """Facts to write from; the writer is told to use only these. None: it may search."""
    draft: str
    """A draft to start from (critiqued first) instead of writing one."""


class OutputState(AnswerOutput, total=False):
    """What the graph hands back: ``final_answer`` is the returned draft (the accepted
    one, else the best one seen); ``status`` is ``done`` when a draft was accepted,
    ``failed`` when the limit came first."""

    approved: bool
    """A draft was accepted: by the critic with every check passing, by min_score, or by
    a person."""
    reason: str
    """Why the loop ended, in plain words."""
    best_draft: int
    """Index in ``drafts`` of the returned draft."""
    best_score: float | None
    """The critic's score of the returned draft (None for a person's edit)."""
    rounds: Annotated[list[Round], operator.add]
    """Every critique round, in order."""
    reviews: Annotated[list[Review], operator.add]
    """Every decision a person made at the review gate."""
    drafts: Annotated[list[str], operator.add]
    """Every draft, in order (the writer's, the input's, a person's edit)."""
    sources: list[Source]
    """The facts the drafts were written from (given, or found by search)."""
    usage: Annotated[dict[str, int], add_usage]
    """Tokens used by model calls, summed: input_tokens, output_tokens."""
    model_calls: Annotated[int, operator.add]
    """Model calls made (retries of a malformed answer included)."""


class State(InputState, OutputState, RunState, total=False):
    """Everything the loop keeps between nodes (plain JSON, so it checkpoints)."""

    checks: list[CheckRecord]
    """The external checks' results on the latest draft."""
    accepted: int | None
    """Index of the draft accepted so far (None: none yet)."""
    accepted_by: str
    """Who accepted it: the critic, min_score, or a person."""
    stop_reason: str
    """Why the loop stopped without an accepted draft, when a limit ended it."""
    remaining_steps: RemainingSteps
    """Supersteps left before LangGraph's recursion limit; used to stop gracefully."""
