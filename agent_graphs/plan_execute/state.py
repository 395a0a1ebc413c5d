"""State and structured outputs of the plan-and-execute graph."""

from __future__ import annotations

import operator
from graphlib import CycleError, TopologicalSorter
from typing import Annotated, Any, Literal

from langgraph.managed import RemainingSteps
from pydantic import BaseModel, Field, create_model
from typing_extensions import TypedDict

from agent_graphs.llm import add_usage


class Step(BaseModel):
    """One step of a plan: a single tool call with its purpose."""

    id: str = Field(description="Short unique id such as 's1'")
    # NOTE: length caps become part of the grammar on llama.cpp: a small model cannot paste
    # whole documents into a plan (seen with the 0.5B model) and plans stay quick to write.
    description: str = Field(max_length=160, description="What this step does, in one line")
    tool: str = Field(description="Name of the one tool this step calls")
    args: dict[str, Any] = Field(description="Arguments for the tool, as the tool's schema says")
    depends_on: list[str] = Field(
        default_factory=list, description="Ids of earlier steps whose results this step needs"
    )
    expected_output: str = Field(
        max_length=120, description="What a successful result looks like, briefly"
    )
    confidence: float = Field(
        default=1.0, ge=0.0, le=1.0, description="How sure you are this step is right, 0 to 1"
    )


class Plan(BaseModel):
    """An ordered list of tool steps that together achieve the goal."""

    steps: list[Step] = Field(description="The steps, in the order they should run")


def plan_schema(tools: list[str], max_steps: int, *, min_steps: int = 1) -> type[Plan]:
    """Return a Plan schema whose ``tool`` field only admits ``tools``, at most ``max_steps``.

    Function calling turns the schema into the model's grammar (llama.cpp) or a strict
    schema hint (OpenAI), so a small model cannot name a tool that does not exist.
    """
    names = tuple(sorted(tools))
    step = create_model(
        "Step", __base__=Step,
        tool=(Literal[names], Field(description="Name of the one tool this step calls")),
    )
    return create_model(
        "Plan", __base__=Plan,
        steps=(list[step], Field(min_length=min_steps, max_length=max(1, max_steps),
                                 description="The steps, in the order they should run")),
    )


class StepEvaluation(BaseModel):
    """A verdict on whether one step's result achieved what the step expected."""

    # NOTE: issues come before the verdict so a model writes its reasons before deciding.
    issues: str = Field(default="", description="What is wrong or missing, if anything")
    success: bool = Field(description="True if the result gives what the step needed")
    suggestion: str = Field(default="", description="How a new plan could fix it")


def renumber(plan: Plan, done: set[str], *, avoid: set[str] = frozenset()) -> Plan:
    """Give new steps whose ids collide with completed (or ``avoid``) ones fresh ids.

    Ids are bookkeeping, not meaning: a replanner (a small model especially) often starts
    again at ``s1``. Inside the new plan its own ids win, so its references follow the
    rename; references to ids it does not define still point at completed steps. Ids of
    failed attempts go in ``avoid`` so a thread's record never gives two steps one id.
    """
    clash = set(done) | set(avoid)
    taken = clash | {step.id for step in plan.steps}
    mapping: dict[str, str] = {}
    n = 1
    for step in plan.steps:
        if step.id in clash and step.id not in mapping:
            while f"s{n}" in taken:
                n += 1
            mapping[step.id] = f"s{n}"
            taken.add(f"s{n}")
    if not mapping:
        return plan
    steps = [
        step.model_copy(update={
            "id": mapping.get(step.id, step.id),
            "depends_on": [mapping.get(d, d) for d in step.depends_on],
        })
        for step in plan.steps
    ]
    return plan.model_copy(update={"steps": steps})


def validate_plan(
    plan: Plan, *, tools: set[str], done: set[str] = frozenset(), max_steps: int = 50
) -> list[str]:
    """Return every problem with ``plan``; an empty list means it can run.

    Args:
        plan: The plan as the model produced it.
        tools: Names of the tools the plan may use.
        done: Ids of steps already completed, which new steps may depend on but not reuse.
        max_steps: Most steps one plan may have.
    """
    problems: list[str] = []
    ids = [step.id for step in plan.steps]
    if len(plan.steps) > max_steps:
        problems.append(f"the plan has {len(plan.steps)} steps; use at most {max_steps}")
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"step id {dup!r} is used more than once")
    for reused in sorted(set(ids) & set(done)):
        problems.append(f"step id {reused!r} belongs to a completed step; pick a new id")
    known = set(ids) | set(done)
    for step in plan.steps:
        if step.tool not in tools:
            problems.append(
                f"step {step.id!r} uses unknown tool {step.tool!r}; "
                f"tools: {', '.join(sorted(tools))}"
            )
        for dep in step.depends_on:
            if dep not in known:
                problems.append(f"step {step.id!r} depends on {dep!r}, which does not exist")
            elif dep == step.id:
                problems.append(f"step {step.id!r} depends on itself")
    try:
        graph = {s.id: {d for d in s.depends_on if d in ids} for s in plan.steps}
        TopologicalSorter(graph).prepare()
    except CycleError as err:
        cycle = " -> ".join(err.args[1])
        problems.append(f"the dependencies form a cycle: {cycle}")
    return problems


class InputState(TypedDict):
    """What a user gives the graph."""

    goal: str
    """The task to achieve, in plain words."""


class OutputState(TypedDict, total=False):
    """What the graph hands back."""

    final_answer: str
    """The answer built from the step results, or why the run stopped."""
    status: Literal["done", "failed"]
    """``done`` when the goal was reached, ``failed`` when a limit stopped the run."""
    results: dict[str, dict[str, Any]]
    """Completed steps by id: tool, args, output, evaluation."""


class State(InputState, OutputState, total=False):
    """Everything the graph keeps between steps (plain JSON, so it checkpoints)."""

    plan: list[dict[str, Any]]
    """The current plan: completed steps followed by the ones still to run."""
    pending: dict[str, Any] | None
    """The call prepared for the current step: step_id, tool, args, risk, key."""
    outcome: dict[str, Any] | None
    """What the current step's tool returned (or why it did not run)."""
    failures: Annotated[list[dict[str, Any]], operator.add]
    """Every failed step attempt, kept for replanning and for the record."""
    stop_reason: str
    """Why the run stopped before reaching the goal (a limit), if it did."""
    budget_limit: int
    """Tokens a person has approved so far under budget gating (0: the Context budget)."""
    replans: int
    """How many times the plan was revised."""
    steps_run: int
    """How many steps were executed, across all plans."""
    usage: Annotated[dict[str, int], add_usage]
    """Tokens used by model calls, summed: input_tokens, output_tokens."""
    remaining_steps: RemainingSteps
    """Supersteps left before LangGraph's recursion limit; used to stop gracefully."""
