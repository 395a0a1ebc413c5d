"""The planning agent: each pattern for what it does best, composed in one graph.

    plan -> [review_plan] -> execute -> [approve ...] -> evaluate -> replan -> ...
         -> report_write -> report_critique -> [report_review] -> ...
         -> [prepare_delivery -> review_delivery -> deliver] (or finish)

- **plan / replan**: the planner writes a validated plan (``plans``: one grammar per
  tool, ``$id`` references); a replan plans only what failed, keeping what succeeded.
- **review_plan** (``approve_plan``): plan-and-execute's own plan review node.
- **execute / approve / evaluate** (``dag.py``): the LLM Compiler's scheduler runs the
  plan's DAG in parallel, its ``approve`` branches ask the shared gate for held tasks;
  each result is judged, failures go to a bounded replan.
- **report_write / report_critique / [report_review]**: the reflection loop's own nodes
  (``reflection.compose.Loop``), started on the results by the node that ends the plan's
  rounds, draft the report and revise it; its checks refuse numbers no result holds. The
  node that ends the loop finishes the run when the goal asks for no delivery.
- **prepare_delivery / review_delivery / deliver**: what the goal asks to do with the
  report (email it, save it) goes through the shared gate and runs once.
- **finish**: the report with the sources of its facts, or why the run stopped (run
  inside the node that ends the loop or the delivery when the run ends there).
"""

from __future__ import annotations

import os
import time
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Literal, get_args

from langchain_core.messages import HumanMessage
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import BaseModel, Field, create_model

from agent_graphs import actions
from agent_graphs.actions import clip
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.graphs import RECURSION_LIMIT
from agent_graphs.llm import ModelOutputError, structured
from agent_graphs.llm_compiler.graph import approve as compiler_approve
from agent_graphs.llm_compiler.state import GateInput
from agent_graphs.models import MODEL_RETRY, chat_model
from agent_graphs.plan_execute.graph import review_plan as pe_review_plan
from agent_graphs.planning_agent import prompts
from agent_graphs.planning_agent.dag import evaluate, execute, step_line
from agent_graphs.planning_agent.delivery import (
    CONTENT,
    deliver,
    prepare_delivery,
    review_delivery,
)
from agent_graphs.planning_agent.report_stage import LOOP, finish, to_report
from agent_graphs.planning_agent.state import InputState, OutputState, State
from agent_graphs.plans import (
    Plan,
    implied_dependencies,
    plain,
    plan_schema,
    renumber,
    validate_plan,
)
from agent_graphs.schemas import settings_update
from agent_graphs.tooling import ExtraTools, plan_arg_schemas, toolbox_for, with_tools
from tools import Toolbox

__all__ = ["ROLES", "build_graph", "builder", "graph"]

ROLES = ("planner", "executor", "critic", "writer")
"""The model roles this graph calls: plans; values and delivery arguments; step results
the runtime cannot judge and the report's critique; the report."""

# Tools a plan may not use: the report's delivery (email it, save it) comes after the
# report, not in it (a small planner otherwise "creates the summary" with write_file
# before any result exists).
_AFTER_REPORT = frozenset(CONTENT)


_LISTED_FILES = 50
"""Most workspace files a plan's read_file may name (listed in the prompt and grammar)."""


def _workspace_files(ctx: Context) -> tuple[str, ...]:
    """The files read_file can read: the workspace's, sorted, hidden ones left out.

    The listing is kept while no folder it walked has changed (a file added, removed or
    renamed changes its folder's mtime): one stat a folder instead of a walk every plan.
    """
    root = Path(ctx.workspace)
    kept = _LISTINGS.get(str(root))
    if kept is not None and all(_mtime(folder) == stamp for folder, stamp in kept[0]):
        return kept[1]
    found: list[str] = []
    walked: list[tuple[str, int | None]] = [(str(root), _mtime(str(root)))]
    for folder, dirs, names in os.walk(root):
        if folder != str(root):
            walked.append((folder, _mtime(folder)))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(n for n in names if not n.startswith(".")):
            found.append(Path(folder, name).relative_to(root).as_posix())
            if len(found) >= _LISTED_FILES:
                break
        if len(found) >= _LISTED_FILES:
            break
    # NOTE: kept only when every folder is older than _SETTLED: a change right after the
    # listing then gives a new mtime even where mtimes are coarse (1-2 s on some disks)
    settled = time.time_ns() - _SETTLED
    if all(stamp is not None and stamp < settled for _, stamp in walked):
        _LISTINGS[str(root)] = (tuple(walked), tuple(found))
    return tuple(found)


_LISTINGS: dict[str, tuple[tuple[tuple[str, int | None], ...], tuple[str, ...]]] = {}
"""Each workspace's last listing, with the mtime of every folder walked for it."""
_SETTLED = 3_000_000_000
"""Nanoseconds since its last change after which a folder's listing may be kept."""


def _mtime(folder: str) -> int | None:
    try:
        return os.stat(folder).st_mtime_ns
    except OSError:  # gone, or never there
        return None


@lru_cache(maxsize=32)
def _read_file_args(files: tuple[str, ...]) -> type[BaseModel]:
    # One class per set of files: the plan schema built on it is cached by class.
    literal: Any = Literal
    return create_model("read_file_args", path=(literal[files], Field(
        description="A file of the workspace, exactly as listed")))


def _plan_arg_schemas(ctx: Context, box: Toolbox) -> dict[str, type[BaseModel]]:
    """The tools a plan may use, each with its arguments' schema.

    No delivery tools (they come after the report). read_file only names a file that is
    in the workspace (a plan step cannot write one): a small planner otherwise plans to
    read files it made up ("sales_data.csv") instead of searching the documents, so with
    an empty workspace read_file is left out, and otherwise its path is one of the files.
    """
    schemas = {n: s for n, s in plan_arg_schemas(box).items() if n not in _AFTER_REPORT}
    if "read_file" in schemas:
        files = _workspace_files(ctx)
        if files:
            schemas["read_file"] = _read_file_args(files)
        else:
            del schemas["read_file"]
    return schemas


def _plan_tools(box: Toolbox, usable: dict[str, type[BaseModel]]) -> str:
    """The planner's tool list: the ``usable`` tools (:func:`_plan_arg_schemas`), one a line."""
    files = (get_args(usable["read_file"].model_fields["path"].annotation)
             if "read_file" in usable else ())
    return _tool_lines(box, tuple(usable), files)


@lru_cache(maxsize=32)
def _tool_lines(box: Toolbox, usable: tuple[str, ...], files: tuple[str, ...]) -> str:
    # Once per toolbox (toolbox_for keeps one per settings) and set of tools and files.
    lines = [line for line in box.describe().splitlines() if line.split()[1] in usable]
    if files:
        lines.append("  workspace files read_file can read: " + ", ".join(files))
    return "\n".join(lines)


def _ask_planner(ctx: Context, schemas: dict[str, type[BaseModel]], prompt: str, *,
                 done: set[str], avoid: set[str], replanning: bool
                 ) -> tuple[Plan, dict[str, int]]:

    def check(plan: Plan) -> list[str]:
        empty = [] if plan.steps or replanning else ["the plan has no steps"]
        implied = implied_dependencies(plan, done)
        return empty + validate_plan(renumber(implied, done, avoid=avoid), tools=set(schemas),
                                     done=done, max_steps=ctx.max_steps)

    new_plan, usage = structured(
        chat_model(ctx, "planner"),
        plan_schema(schemas, ctx.max_steps, min_steps=0 if replanning else 1),
        [HumanMessage(prompt)], attempts=ctx.max_plan_attempts, check=check,
        on_retry=lambda n, problem: emit(
            "plan_rejected", summary=f"planner answer {n} rejected: {clip(problem, 200)}",
            attempt=n, problem=problem, level=1))
    return renumber(implied_dependencies(plain(new_plan), done), done, avoid=avoid), usage


def _next(ctx: Context) -> Literal["review_plan", "execute"]:
    return "review_plan" if ctx.approve_plan else "execute"


def plan(state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
         ) -> Command[Literal["review_plan", "execute"]]:
    """Write the plan: a DAG of tool steps, the independent ones free to run together."""
    ctx = get_context(runtime)
    if not isinstance(state.get("goal"), str) or not state["goal"].strip():
        raise ValueError("goal must be a non-empty string")
    box = toolbox_for(ctx, tools)
    failures = state.get("failures") or []
    last = failures[-1] if failures else None
    feedback = (f"\n\n<feedback>A person rejected the last plan: {last['error']}</feedback>"
                if last and last.get("kind") == "plan_rejected" else "")
    schemas = _plan_arg_schemas(ctx, box)
    prompt = prompts.PLANNER_PROMPT.format(tools=_plan_tools(box, schemas), goal=state["goal"],
                                           feedback=feedback)
    new_plan, usage = _ask_planner(ctx, schemas, prompt, done=set(), avoid=set(),
                                   replanning=False)
    steps = [step.model_dump() for step in new_plan.steps]
    emit("plan_created", summary=f"Plan ({len(steps)} steps):",
         lines=[step_line(s) for s in steps], steps=steps)
    return Command(goto=_next(ctx), update={
        "plan": steps, "usage": usage, "tokens": {"planner": usage},
        **settings_update(state, ctx)})


def review_plan(state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
                ) -> Command[Literal["execute", "plan", "replan", "finish"]]:
    """Plan approval (``approve_plan``): plan-and-execute's review, with its decision kept
    for the run report."""
    command = pe_review_plan(state, runtime, tools=tools)  # type: ignore[arg-type]
    update = dict(command.update or {})
    new = [s["id"] for s in state.get("plan") or [] if s["id"] not in (state.get("results") or {})]
    answer = ("approve" if command.goto == "execute" and "plan" not in update else
              "edit" if command.goto == "execute" else "reject")
    update["decisions"] = [{"what": f"plan ({', '.join(new)})", "risk": "plan",
                            "decision": answer,
                            "reason": (update.get("failures") or [{}])[-1].get("error", "")}]
    return Command(goto=command.goto, update=update)


def replan(state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
           ) -> Command[Literal["review_plan", "execute", "report_write", "finish"]]:
    """Plan only what failed again, keeping every step that succeeded."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx, tools)
    results = state.get("results") or {}
    failures = state.get("failures") or []
    in_plan = {s["id"] for s in state.get("plan") or []}
    failed = [f for f in failures if f.get("step_id") in in_plan - set(results)]
    rejected_plan = bool(failures) and failures[-1].get("kind") == "plan_rejected"
    completed = "\n".join(f"- {sid} {r['tool']}({clip(r['args'], 100)}): "
                          f"{clip(r.get('output'), 160)}" for sid, r in results.items())
    problems = "\n".join(f"- {f['step_id']} {f['tool']}({clip(f.get('args'), 120)}): "
                         f"{clip(f['evaluation']['issues'], 200)}" for f in failed)
    if rejected_plan:
        problems += f"\n- A person rejected the last plan: {failures[-1]['error']}"
    schemas = _plan_arg_schemas(ctx, box)
    prompt = prompts.REPLANNER_PROMPT.format(tools=_plan_tools(box, schemas), goal=state["goal"],
                                             completed=completed or "(none)",
                                             failed=problems.strip() or "(none)")
    ids = {f["step_id"] for f in failures if f.get("step_id")}
    try:
        new_plan, usage = _ask_planner(ctx, schemas, prompt, done=set(results),
                                       avoid=ids - set(results), replanning=True)
    except ModelOutputError as err:
        # NOTE: the loop ends as at the replan limit, keeping what succeeded (the run
        # finishes at once when nothing did), not the run with an error
        emit("replan_failed", summary=f"no usable replan: {clip(err, 200)}", error=str(err))
        return to_report(state, runtime, {
            "stop_reason": f"the planner gave no usable plan for what failed ({err})"})
    steps = [step.model_dump() for step in new_plan.steps]
    count = state.get("replans", 0) + (0 if rejected_plan else 1)
    emit("replanned", summary=f"Replan #{count} ({len(steps)} new steps):",
         lines=[step_line(s) for s in steps], replan=count, steps=steps)
    kept = [s for s in state.get("plan") or [] if s["id"] in results]
    update = {"plan": kept + steps, "replans": 0 if rejected_plan else 1, "usage": usage,
              "tokens": {"planner": usage}}
    return Command(goto=_next(ctx), update=update) if steps else to_report(state, runtime, update)


def build_graph(
    *, tools: ExtraTools | None = None, name: str = "planning_agent"
) -> StateGraph[State, Context, InputState, OutputState]:
    """Return the uncompiled planning agent; compile it with your checkpointer.

    Args:
        tools: Tools to add to the built-in ones, by name, each with its declared risk.
        name: The name a parent that adds it as a subgraph node gives it.
    """

    def use(node: Any) -> Any:  # nodes that build a toolbox get the extra tools
        return with_tools(node, tools)

    graph_builder = StateGraph(State, context_schema=Context, input_schema=InputState,
                               output_schema=OutputState)
    graph_builder.add_node(use(plan), retry_policy=MODEL_RETRY)
    graph_builder.add_node(use(review_plan))
    # execute runs tools (never retried); its model calls are grounded extractions
    graph_builder.add_node(use(execute))
    graph_builder.add_node("approve", partial(compiler_approve, tools=tools),
                           input_schema=GateInput)
    graph_builder.add_node(evaluate, retry_policy=MODEL_RETRY)
    graph_builder.add_node(use(replan), retry_policy=MODEL_RETRY)
    LOOP.add_to(graph_builder, retry_policy=MODEL_RETRY)  # the loop's rounds
    graph_builder.add_node(use(prepare_delivery), retry_policy=MODEL_RETRY)
    graph_builder.add_node(use(review_delivery))
    graph_builder.add_node(use(deliver))  # runs the tool: never retried
    graph_builder.add_node(finish)
    graph_builder.add_edge(START, "plan")
    graph_builder.add_edge("approve", "execute")
    graph_builder.set_finish_point("finish")
    graph_builder.name = name  # type: ignore[attr-defined]
    return graph_builder


builder = build_graph()
# The dev server sets no recursion limit (LangGraph's default is 25): give Studio runs the
# CLI's; the Context limits still end every loop first.
graph = builder.compile(name="Planning Agent").with_config(recursion_limit=RECURSION_LIMIT)
