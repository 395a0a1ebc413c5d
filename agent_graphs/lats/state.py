"""State and structured outputs of the LATS graph.

The search tree lives in the state as plain JSON (``tree``: nodes keyed by id, see
``tree.make_node``), merged by :func:`agent_graphs.lats.tree.merge_tree`, so each phase
and each parallel ``act`` branch writes only the nodes and fields it owns, and a
checkpoint holds the whole search.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal

from langgraph.managed import RemainingSteps
from pydantic import BaseModel, Field, create_model
from typing_extensions import Required, TypedDict

from agent_graphs.lats.tree import merge_tree
from agent_graphs.llm import add_usage

__all__ = ["ActInput", "InputState", "OutputState", "State", "Verdict", "candidates_schema",
           "verdicts_schema"]

EnvName = Literal["corpus", "code", "game24"]


class InputState(TypedDict, total=False):
    """What a caller gives the graph: the goal, and which environment to search."""

    goal: Required[str]
    """The task, in plain words."""
    env: EnvName
    """``corpus`` (default: question answering with the tools), ``code`` or ``game24``."""
    numbers: list[int | float | str]
    """game24: the numbers to combine into 24, e.g. [4, 7, 8, 8]."""
    tests: list[str]
    """code: Python assert statements the program must pass."""


class OutputState(TypedDict, total=False):
    """What the graph hands back."""

    final_answer: str
    """The solution found, or why the search stopped and its best attempt."""
    status: Literal["done", "failed"]
    """``done`` when a node solved the task, ``failed`` when a limit came first."""
    stop_reason: str
    """Why the search ended (solved, a budget, max_iterations, every branch finished)."""
    trajectory: list[dict[str, Any]]
    """The best path from the root: node id, action, observation, score, value."""
    value: float
    """The best node's value (1.0 for a solved node)."""
    reflections: list[dict[str, Any]]
    """The value model's (or the environment's) reflections on failed or weak nodes."""
    iteration: int
    """Search iterations run (select -> expand -> evaluate -> backpropagate)."""
    model_calls: Annotated[int, operator.add]
    """Model calls made (policy and value, retries of malformed answers included)."""
    usage: Annotated[dict[str, int], add_usage]
    """Tokens used by model calls, summed: input_tokens, output_tokens."""


class State(InputState, OutputState, total=False):
    """Everything the search keeps between nodes (plain JSON, so it checkpoints)."""

    settings: dict[str, Any]
    """The Context the run started with (stored by ``start``)."""
    tree: Annotated[dict[str, dict[str, Any]], merge_tree]
    """The search tree: nodes by id; phases write per-node patches."""
    selected: str
    """The node this iteration expands."""
    new_ids: list[str]
    """The children this iteration's expansion added (acted on, then evaluated)."""
    budget_base: dict[str, int]
    """Model calls and tokens the thread had used when this search started."""
    remaining_steps: RemainingSteps
    """Supersteps left before LangGraph's recursion limit; used to stop gracefully."""


class ActInput(TypedDict):
    """What one parallel ``act`` branch gets (a ``Send``)."""

    node: str
    env: str
    inputs: dict[str, Any]
    state: Any
    action: dict[str, Any]
    prepared: dict[str, Any] | None


class Verdict(BaseModel):
    """The value model's judgement of one node: the trajectory that ends there."""

    # NOTE: the reflection comes first so a model gives its reasons before the number.
    reflection: str = Field(default="", max_length=300, description=(
        "What is right or wrong with the last action and its result; if it fails, what to "
        "try instead, in one or two sentences"))
    score: float = Field(ge=0.0, le=1.0, description=(
        "How likely this trajectory leads to (or already is) a correct, complete solution: "
        "0 = hopeless, 1 = certain"))
    solved: bool = Field(default=False, description=(
        "True only if the last action is a final answer that fully and correctly achieves "
        "the goal"))


def verdicts_schema(n: int) -> type[BaseModel]:
    """Return a ``Verdicts`` schema: exactly ``n`` verdicts, one per candidate in order.

    One value call judges all the candidates of an expansion: it costs one call, not ``n``,
    and the model compares them side by side.
    """
    return create_model(
        "Verdicts",
        __doc__="One verdict per candidate, in the order the candidates are listed.",
        verdicts=(list[Verdict], Field(min_length=n, max_length=n, description=(
            f"Exactly {n} verdicts, the first for candidate 1, and so on"))),
    )


def candidates_schema(action: type[BaseModel], n: int) -> type[BaseModel]:
    """Return a ``Candidates`` schema: 1 to ``n`` different actions of type ``action``."""
    item: Any = action  # a class made at run time: a type to pydantic, a value to mypy
    return create_model(
        "Candidates",
        __doc__="Different next actions to try, the most promising first.",
        actions=(list[item], Field(min_length=1, max_length=n, description=(
            f"Up to {n} different next actions, the most promising first"))),
    )
