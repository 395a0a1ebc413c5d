"""Plans and task DAGs, once for every graph: schema, validation, references, readiness.

A plan is a list of steps; each step is one tool call that may depend on earlier steps.
A later step names an earlier result instead of copying it: ``$s1`` (or ``${s1}``) in any
string argument stands for the value of step ``s1``. An argument that is exactly one
reference takes the value as it is (a number stays a number); a reference inside longer
text is replaced by the value's text, so ``"($s2 - $s1) / $s1 * 100"`` becomes an
expression over numbers the tools produced, not numbers the model copied. A reference must
name a step the plan declares in ``depends_on``: anything else is a plan error.
"""

from __future__ import annotations

import functools

import re
from collections.abc import Collection, Iterable, Mapping
from graphlib import CycleError, TopologicalSorter
from typing import Any, Literal, Union

from pydantic import BaseModel, Field, create_model
from typing_extensions import TypedDict

__all__ = [
    "Plan",
    "PlanStep",
    "Step",
    "implied_dependencies",
    "plain",
    "plan_schema",
    "ready_steps",
    "references",
    "renumber",
    "resolve_args",
    "validate_plan",
]

REFERENCE = re.compile(r"\$\{(?P<braced>[A-Za-z_][\w-]*)\}|\$(?P<bare>[A-Za-z_][\w-]*)")


class Step(BaseModel):
    """One step of a plan: a single tool call with its purpose."""

    id: str = Field(description="Short unique id such as 's1'")
    # NOTE: length caps become part of the grammar on llama.cpp: a small model cannot paste
    # whole documents into a plan (seen with the 0.5B model) and plans stay quick to write.
    description: str = Field(max_length=160, description="What this step does, in one line")
    tool: str = Field(description="Name of the one tool this step calls")
    args: dict[str, Any] = Field(
        description="Arguments for the tool, as the tool's schema says; write $s1 where an "
        "argument needs the result of step s1"
    )
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


class PlanStep(TypedDict):
    """A step as graph state keeps it (``Step.model_dump()``)."""

    id: str
    description: str
    tool: str
    args: dict[str, Any]
    depends_on: list[str]
    expected_output: str
    confidence: float


def plan_schema(
    tools: Iterable[str] | Mapping[str, type[BaseModel]], max_steps: int, *, min_steps: int = 1
) -> type[Plan]:
    """Return a Plan schema that only admits the given tools, at most ``max_steps`` steps.

    Function calling turns the schema into the model's grammar (llama.cpp) or a strict
    schema hint (OpenAI), so a small model cannot name a tool that does not exist. Given
    each tool's argument schema (``{name: model}``), a step's ``args`` must also fit its
    tool's schema: the grammar then spells out every argument of every tool.

    The same arguments give the same class (built once: about 10 ms), so what is derived
    from it, such as its tool definition, is cached with it.
    """
    key: tuple[Any, ...] = (tuple(sorted(tools.items())) if isinstance(tools, Mapping)
                            else tuple(sorted(tools)))
    return _plan_schema(key, isinstance(tools, Mapping), max_steps, min_steps)


@functools.lru_cache(maxsize=64)
def _plan_schema(key: tuple[Any, ...], by_schema: bool, max_steps: int,
                 min_steps: int) -> type[Plan]:
    tools: Iterable[str] | Mapping[str, type[BaseModel]] = dict(key) if by_schema else key
    if isinstance(tools, Mapping):
        literal: Any = Literal  # one literal type per tool, built at run time
        variants = [
            create_model(
                f"{name.title().replace('_', '')}Step", __base__=Step,
                tool=(literal[name], Field(description="Name of the one tool this step calls")),
                args=(schema, Field(description=Step.model_fields["args"].description)),
            )
            for name, schema in sorted(tools.items())
        ]
        step: Any = variants[0] if len(variants) == 1 else Union[tuple(variants)]  # noqa: UP007
    else:
        tool_names: Any = Literal[tuple(sorted(tools))]
        step = create_model(
            "Step", __base__=Step,
            tool=(tool_names, Field(description="Name of the one tool this step calls")),
        )
    plan: type[Plan] = create_model(
        "Plan", __base__=Plan,
        steps=(list[step], Field(min_length=min_steps, max_length=max(1, max_steps),
                                 description="The steps, in the order they should run")),
    )
    return plan


def plain(plan: Plan) -> Plan:
    """Return ``plan`` with every step's args as a plain dict (as graph state keeps them)."""
    if all(isinstance(step.args, dict) for step in plan.steps):
        return plan
    return Plan.model_validate(plan.model_dump())


def implied_dependencies(plan: Plan, done: Collection[str] = ()) -> Plan:
    """Add to each step's ``depends_on`` the steps its arguments refer to (``$id``).

    The reference says the dependency, as in LLMCompiler, where it is all there is; a
    small planner often writes ``$s1`` and forgets to list ``s1`` again. Only steps
    earlier in the plan (or completed) count: references to the step itself, to a later
    step or to ids that exist nowhere are left for ``validate_plan`` to refuse.
    """
    plan = plain(plan)
    known = set(done)
    steps, changed = [], False
    for step in plan.steps:
        extra = sorted(r for r in references(step.args)
                       if r in known and r not in step.depends_on)
        if extra:
            changed = True
            step = step.model_copy(update={"depends_on": [*step.depends_on, *extra]})
        steps.append(step)
        known.add(step.id)
    return plan.model_copy(update={"steps": steps}) if changed else plan


def references(value: Any) -> set[str]:
    """Return the step ids that ``value`` (args, a string, a list...) refers to."""
    if isinstance(value, str):
        return {m["braced"] or m["bare"] for m in REFERENCE.finditer(value)}
    if isinstance(value, Mapping):
        return set().union(*(references(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(references(v) for v in value))
    return set()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def resolve_args(value: Any, values: Mapping[str, Any]) -> Any:
    """Replace every ``$id`` in ``value`` by ``values[id]``; see the module docstring.

    Raises:
        KeyError: A reference names a step that has no value (yet).
    """
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            return values[whole["braced"] or whole["bare"]]
        return REFERENCE.sub(lambda m: _text(values[m["braced"] or m["bare"]]), value)
    if isinstance(value, Mapping):
        return {k: resolve_args(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve_args(v, values) for v in value]
    return value


def ready_steps(
    steps: Iterable[Mapping[str, Any]], done: Collection[str], started: Collection[str] = ()
) -> list[Mapping[str, Any]]:
    """Return every step not done or started whose dependencies are all done, in plan order."""
    return [
        s for s in steps
        if s["id"] not in done and s["id"] not in started
        and all(d in done for d in s["depends_on"])
    ]


def renumber(plan: Plan, done: Collection[str], *, avoid: Collection[str] = ()) -> Plan:
    """Give new steps whose ids collide with completed (or ``avoid``) ones fresh ids.

    Ids are bookkeeping, not meaning: a replanner (a small model especially) often starts
    again at ``s1``. Inside the new plan its own ids win, so its references follow the
    rename; references to ids it does not define still point at completed steps. Ids of
    failed attempts go in ``avoid`` so a thread's record never gives two steps one id.
    """
    plan = plain(plan)
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

    def rename(match: re.Match[str]) -> str:
        sid = match["braced"] or match["bare"]
        return "${" + mapping[sid] + "}" if sid in mapping else match[0]

    def rename_all(value: Any) -> Any:
        if isinstance(value, str):
            return REFERENCE.sub(rename, value)
        if isinstance(value, Mapping):
            return {k: rename_all(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename_all(v) for v in value]
        return value

    steps = [
        step.model_copy(update={
            "id": mapping.get(step.id, step.id),
            "depends_on": [mapping.get(d, d) for d in step.depends_on],
            "args": rename_all(step.args),
        })
        for step in plan.steps
    ]
    return plan.model_copy(update={"steps": steps})


def validate_plan(
    plan: Plan, *, tools: Collection[str], done: Collection[str] = (), max_steps: int = 50,
    ordered: bool = False,
) -> list[str]:
    """Return every problem with ``plan``; an empty list means it can run.

    Args:
        plan: The plan as the model produced it.
        tools: Names of the tools the plan may use.
        done: Ids of steps already completed, which new steps may depend on but not reuse.
        max_steps: Most steps one plan may have.
        ordered: Also require every dependency to come earlier in the list (a streamed
            plan is scheduled in the order it arrives).
    """
    plan = plain(plan)
    problems: list[str] = []
    ids = [step.id for step in plan.steps]
    # NOTE: ``done`` is looked into, never copied: a streamed plan checks each task alone
    # against every task before it (copying them each time was quadratic).
    done = done if isinstance(done, (set, frozenset)) else set(done)
    if len(plan.steps) > max_steps:
        problems.append(f"the plan has {len(plan.steps)} steps; use at most {max_steps}")
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"step id {dup!r} is used more than once")
    for reused in sorted({i for i in ids if i in done}):
        problems.append(f"step id {reused!r} belongs to a completed step; pick a new id")
    mine = set(ids)

    def exists(sid: str) -> bool:
        return sid in mine or sid in done

    seen: set[str] = set()  # this plan's steps so far
    for step in plan.steps:
        if step.tool not in tools:
            problems.append(
                f"step {step.id!r} uses unknown tool {step.tool!r}; "
                f"tools: {', '.join(sorted(tools))}"
            )
        for dep in step.depends_on:
            if dep == step.id:
                problems.append(f"step {step.id!r} depends on itself")
            elif not exists(dep):
                problems.append(f"step {step.id!r} depends on {dep!r}, which does not exist")
            elif ordered and dep not in seen and dep not in done:
                problems.append(f"step {step.id!r} depends on {dep!r}, which comes after it")
        for ref in sorted(references(step.args)):
            if ref == step.id:
                problems.append(
                    f"step {step.id!r} refers to its own result ${ref}: a step can use only "
                    "the results of steps before it; add a step that finds that number and "
                    "refer to its id")
            elif not exists(ref):
                problems.append(f"step {step.id!r} refers to ${ref}, which does not exist")
            elif ref not in step.depends_on:
                problems.append(
                    f"step {step.id!r} refers to ${ref} but does not list {ref!r} in depends_on"
                )
        seen.add(step.id)
    try:
        graph = {s.id: {d for d in s.depends_on if d in ids} for s in plan.steps}
        TopologicalSorter(graph).prepare()
    except CycleError as err:
        cycle = " -> ".join(err.args[1])
        problems.append(f"the dependencies form a cycle: {cycle}")
    return problems
