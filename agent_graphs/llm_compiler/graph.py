"""LLM Compiler: plan_and_schedule -> [approve, ...] -> plan_and_schedule -> join -> answer.

The planner writes a DAG of tool tasks; while it streams, the scheduler starts each task
the moment its own dependencies are done (no waves, no polling), tools running in
parallel. HIGH-risk tasks are held while everything independent of them goes on; then
one ``approve`` branch per held task (``Send``) asks a person through the shared gate, so
every pending approval is visible at once and answered by its own interrupt id. The
joiner (its own node: a resume never repeats its call) answers or asks for more tasks,
bounded by ``max_replans``; finished tasks are kept and never run again.

Durability inside ``plan_and_schedule``: the planner's call is a ``@task`` (a resume gets
the stored plan instead of calling the model again) and finished tasks go to a journal
``@task`` as they finish (see ``journal.Journal``), so a resume after a crash re-runs
only tasks that had not finished.
"""

from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from functools import lru_cache, partial
from typing import Any, Literal, get_args

from langchain_core.messages import HumanMessage
from langgraph.func import task
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from agent_graphs import actions
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.graphs import RECURSION_LIMIT
from agent_graphs.llm_compiler import prompts
from agent_graphs.llm_compiler.planner import TaskCheck, plan_tasks
from agent_graphs.llm_compiler.joiner import join
from agent_graphs.llm_compiler.journal import Journal, nothing_stored
from agent_graphs.llm_compiler.scheduler import Prepared, Scheduler
from agent_graphs.llm_compiler.settings import compiler_settings
from agent_graphs.llm_compiler.state import (
    GateInput,
    InputState,
    OutputState,
    State,
)
from agent_graphs.models import chat_model
from agent_graphs.plans import plan_schema, resolve_args
from agent_graphs.schemas import settings_update
from agent_graphs.tooling import toolbox_for
from tools import Risk, Toolbox, ToolError
from tools.runner import spawn

__all__ = ["ROLES", "build_graph", "builder", "graph"]

ROLES = ("planner", "joiner")
ExtraTools = Mapping[str, tuple[Any, Risk]]
_LIVE: dict[str, Callable[[], tuple[list[dict[str, Any]], dict[str, int]]]] = {}
"""The planner call each running node waits for, by token (a ``@task`` gets plain data)."""


@task
def planner_call(request: dict[str, Any]) -> dict[str, Any]:
    """Run the planner (its tasks stream to the scheduler as they come); stored when done."""
    tasks, usage = _LIVE[request["token"]]()
    return {"tasks": tasks, "usage": usage}


def _after(event: threading.Event, call: Callable[[], Any]) -> Any:
    event.wait()
    return call()


_PLANNER_HEAD_START = 0.005
"""Longest a first attempt of the node waits for its planner thread to get going."""


def _signalled(event: threading.Event, call: Callable[[], Any]) -> Any:
    event.set()
    return call()


def _fill(future: Future[Any], call: Callable[[], Any]) -> None:
    try:
        future.set_result(call())
    except BaseException as err:  # noqa: BLE001 - the @task raises it in the node's run
        future.set_exception(err)


@task
def journal(entry: dict[str, Any]) -> dict[str, Any]:
    """Return ``entry``: LangGraph stores it as this call's result (``journal.Journal``)."""
    return entry


_EXTENDED: dict[tuple[int, int], Toolbox] = {}


def _toolbox(ctx: Context, tools: ExtraTools | None) -> Toolbox:
    """The run's toolbox plus ``tools`` (built once per pair: building tools takes ms)."""
    box = toolbox_for(ctx)
    if not tools:
        return box
    key = (id(box), id(tools))
    if key not in _EXTENDED:
        _EXTENDED[key] = Toolbox(box.settings, extra_tools=dict(tools))
    return _EXTENDED[key]


@lru_cache(maxsize=32)
def _schema(tools: tuple[str, ...], max_tasks: int, min_steps: int) -> tuple[Any, Any]:
    """The Plan schema for these tools and its Step model (built once: pydantic is slow)."""
    schema = plan_schema(tools, max_tasks, min_steps=min_steps)
    [step_model] = get_args(schema.model_fields["steps"].annotation)
    return schema, step_model


def _line(step: Mapping[str, Any]) -> str:
    after = f" after {', '.join(step['depends_on'])}" if step["depends_on"] else ""
    return f"{step['id']} {step['tool']}({actions.clip(step['args'], 100)}){after}"


def _planner(
    ctx: Context, box: Toolbox, state: State, sched: Scheduler
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    cs = compiler_settings(ctx)
    results = state.get("results") or {}
    rnd = state.get("replans", 0)
    if rnd == 0:
        prompt = prompts.PLANNER_PROMPT.format(tools=box.describe(), goal=state["goal"])
    else:
        done = "\n".join(
            f"- {sid} {r['tool']}({actions.clip(r['args'], 100)}): "
            + actions.clip(r.get("output") or "FAILED: " + str(r.get("error")), 160)
            for sid, r in results.items())
        prompt = prompts.REPLANNER_PROMPT.format(
            tools=box.describe(), goal=state["goal"], done=done or "(none)",
            feedback=state.get("feedback") or "the results do not answer the goal yet")
    earlier = {s["id"] for s in state.get("plan") or []}
    failed = {sid for sid, r in results.items() if not r["ok"]}
    schema, step_model = _schema(tuple(box.names()), cs.compiler_max_tasks, 0 if rnd else 1)

    def make_check(started: Any) -> TaskCheck:
        return TaskCheck(step_model=step_model, tools=box.names(),
                         done=(earlier - failed) | set(started), avoid=failed,
                         max_tasks=cs.compiler_max_tasks - len(started))

    def arrived(step: dict[str, Any]) -> None:
        sched.add(step, announce=True)

    def streamed(step: dict[str, Any]) -> None:  # the rest of the plan is still coming
        sched.hand_over(step, announce=True)

    # NOTE: llama-cpp-python's server (the embedded ``local`` models) streams a forced
    # tool call as empty deltas (measured): its plans are asked for whole, at once.
    stream = cs.compiler_stream_plan and not ctx.role_model("planner").startswith("local")
    return plan_tasks(
        chat_model(ctx, "planner"), schema, [HumanMessage(prompt)], make_check=make_check,
        on_task=arrived, on_streamed_task=streamed, attempts=ctx.max_plan_attempts,
        stream=stream, before_chunk=sched.yield_to_starts,
        min_tasks=0 if rnd else 1,
        on_retry=lambda n, problem: emit("plan_rejected", summary=f"plan rejected: {problem}",
                                         attempt=n, problem=problem),
        on_truncate=lambda kept: emit(
            "plan_truncated", summary=f"plan   cut to {kept} tasks (compiler_max_tasks)",
            kept=kept),
    )


def plan_and_schedule(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["approve", "join"]]:
    """Plan (streaming) and run the tasks, each as soon as its dependencies are done."""
    ctx = get_context(runtime)
    cs = compiler_settings(ctx)
    box = _toolbox(ctx, tools)
    rnd = state.get("replans", 0)
    fresh = state.get("planned_round", -1) < rnd
    if state["remaining_steps"] <= 4:
        return Command(goto="join", update={
            **settings_update(state, ctx),
            "stop_reason": "the run's recursion limit is nearly used up"})
    decisions = state.get("approvals") or {}
    tokens = sum((state.get("usage") or {}).values())
    started: dict[str, float] = {}
    said: dict[str, str] = {}

    def prepare(step: Mapping[str, Any], outcomes: Mapping[str, dict[str, Any]]) -> Prepared:
        if (decided := decisions.get(step["id"])) is not None:
            return ("fail", decided["outcome"]) if "outcome" in decided else (
                "run", decided["action"])
        # References must name dependencies (validate_plan), so only those are resolved.
        values = {d: outcomes[d].get("output") for d in step["depends_on"]
                  if d in outcomes and outcomes[d]["ok"]}
        try:
            action = actions.prepare(
                ctx, box, step_id=step["id"], tool=step["tool"],
                args=resolve_args(step["args"], values), confidence=step.get("confidence"),
                tokens_used=tokens)
        except (KeyError, ToolError) as err:
            return "fail", {"step_id": step["id"], "tool": step["tool"], "args": step["args"],
                            "ok": False, "error": f"cannot call {step['tool']}: {err}"}
        if action["reasons"]:
            emit("task_waiting", summary=f"wait   {step['id']} needs a person's yes",
                 step_id=step["id"])
            return "gate", dict(action)
        return "run", dict(action)

    def start(action: dict[str, Any]) -> None:
        sid = action["step_id"]
        started[sid] = time.monotonic()
        emit("task_started", summary=f"start  {sid} {action['tool']}"
             f"({actions.clip(action['args'], 100)})", step_id=sid, tool=action["tool"])

    def execute(action: dict[str, Any]) -> dict[str, Any]:
        # task_started / task_finished report the call: no second pair of events per task.
        # Inline: the scheduler's worker runs the tool itself, the scheduler times it out.
        return dict(actions.run(ctx, box, action, events=False,  # type: ignore[arg-type]
                                inline=True))

    def expired(action: dict[str, Any]) -> dict[str, Any]:
        return dict(actions.timed_out(ctx, action))  # type: ignore[arg-type]

    def tell_planned(step: Mapping[str, Any]) -> None:  # after it started, if it could
        said[step["id"]] = line = _line(step)  # said again by plan_created
        emit("task_planned", summary=f"plan   {line}", level=1, task=dict(step))

    def finished(outcome: dict[str, Any]) -> None:
        sid = outcome["step_id"]
        took = f" in {time.monotonic() - started[sid]:.2f} s" if sid in started else ""
        text = outcome.get("output") or outcome.get("error") or ""
        emit("task_finished", summary=f"{'done' if outcome['ok'] else 'FAILED':<6} {sid}{took}: "
             f"{' '.join(actions.clip(text, 120).split())}", step_id=sid, ok=outcome["ok"])
        log.add(outcome, hold=sched.ending)  # the last ones go in the node's update

    sched = Scheduler(prepare=prepare, execute=execute, finished=state.get("results"),
                      max_concurrency=cs.compiler_max_concurrency, on_outcome=finished,
                      on_accept=tell_planned, on_start=start, held=True,
                      timeout=ctx.tool_timeout, expired=expired)
    # NOTE: @task results are stored by call position: the planner is always call 0 and
    # the journal reads back what a crashed attempt wrote before it writes anything new
    # (tasks wait for that). On a resume the planner's model call waits for the read-back
    # too: in a sync run it takes a few ms if nothing competes with it for the GIL, and a
    # streaming planner parsing chunks would stretch it many times over.
    token = uuid.uuid4().hex
    read_back = threading.Event()
    planned: Any = None
    if fresh:
        plan = partial(_planner, ctx, box, state, sched)
        if nothing_stored():
            # A first attempt: nothing to read back and no stored plan, so the model call
            # starts first, in its own thread, before any bookkeeping here (the @task
            # alone takes about 1 ms to set up): the first task streams that much sooner.
            early: Future[Any] = Future()
            under_way = threading.Event()
            spawn(partial(contextvars.copy_context().run, _fill, early,
                          partial(_signalled, under_way, plan)), "planner")
            under_way.wait(_PLANNER_HEAD_START)  # it holds the GIL from there on
            _LIVE[token] = early.result
        else:
            _LIVE[token] = partial(_after, read_back, plan)
        planned = planner_call({"token": token, "round": rnd})

        def planner_done(future: Any) -> None:
            if future.exception() is None:  # a stored plan (a resume) arrives whole here
                for step in future.result()["tasks"]:
                    sched.add(step)
            sched.close(future.exception())

        planned.add_done_callback(planner_done)
    else:
        for step in state.get("plan") or []:
            sched.add(step)
        sched.close()
    update: dict[str, Any] = settings_update(state, ctx)
    log = Journal(journal, sched.call_soon, sched.restore, sched.release,
                  call_later=sched.call_later, spacing=cs.compiler_journal_spacing)

    def line(step: Mapping[str, Any]) -> str:  # made once, when the task was planned
        return said.get(step["id"]) or _line(step)

    try:
        log.start()
        read_back.set()
        sched.run()
    finally:
        read_back.set()
        _LIVE.pop(token, None)
    if sched.error is not None:
        log.flush()  # what finished stays finished for the resume
        raise sched.error
    log.settle()

    known = {s["id"] for s in state.get("plan") or []}
    update |= {"results": sched.new,
               "plan": [*(state.get("plan") or []),
                        *(s for s in sched.steps.values() if s["id"] not in known)],
               "waiting": list(sched.gated)}
    if fresh:
        result = planned.result()
        update |= {"planned_round": rnd, "usage": result["usage"]}
        emit("plan_created", summary=f"plan   {len(result['tasks'])} tasks",
             lines=[line(s) for s in result["tasks"]], steps=result["tasks"])
    if not sched.gated:
        return Command(goto="join", update=update)
    lines = [line(s) for s in update["plan"]]
    order = {s["id"]: n for n, s in enumerate(update["plan"])}
    sends = [Send("approve", {"gate": {"action": action, "goal": state["goal"], "plan": lines,
                                       "why": sched.steps[sid]["description"]}})
             for sid, action in sorted(sched.gated.items(), key=lambda kv: order[kv[0]])]
    return Command(goto=sends, update=update)


def approve(gate: GateInput, runtime: Runtime[Context], *,
            tools: ExtraTools | None = None) -> dict[str, Any]:
    """Ask a person about one held task (one branch per task, each its own interrupt id)."""
    box = _toolbox(get_context(runtime), tools)
    request = gate["gate"]
    approved, rejection, _ = actions.review(
        box, request["action"], why=request["why"], goal=request["goal"], plan=request["plan"])
    decided = {"outcome": dict(rejection)} if rejection else {"action": dict(approved)}
    return {"approvals": {request["action"]["step_id"]: decided}}


def build_graph(
    *, tools: ExtraTools | None = None, name: str = "llm_compiler"
) -> StateGraph[State, Context, InputState, OutputState]:
    """Return the uncompiled LLM Compiler graph; compile it with your checkpointer.

    Args:
        tools: Tools to add to the built-in ones, by name, each with its declared risk.
        name: The name a parent that adds it as a subgraph node gives it.
    """
    builder = StateGraph(State, context_schema=Context, input_schema=InputState,
                         output_schema=OutputState)
    # partial() hides the return annotation from LangGraph: name the routes for Studio.
    builder.add_node("plan_and_schedule", partial(plan_and_schedule, tools=tools),
                     destinations=("approve", "join"))
    builder.add_node("approve", partial(approve, tools=tools), input_schema=GateInput)
    builder.add_node("join", join)
    builder.add_edge(START, "plan_and_schedule")
    builder.add_edge("approve", "plan_and_schedule")
    builder.name = name  # type: ignore[attr-defined]
    return builder


builder = build_graph()
# The dev server sets no recursion limit (LangGraph's default is 25): give Studio runs the
# same generous one as the CLI; the Context limits still end every loop first.
graph = builder.compile(name="LLM Compiler").with_config(recursion_limit=RECURSION_LIMIT)
