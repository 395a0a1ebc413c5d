"""Plan-and-execute: plan -> execute -> [approve] -> act -> evaluate -> replan -> finish.

The planner (strongest model) writes a validated plan; the executor (a smaller model)
fills in each step's tool arguments; the tool runs; the critic judges the result. A
failed step triggers a bounded replan that keeps completed steps. Every loop ends by the
limits in ``Context``, never by LangGraph's recursion limit.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent_graphs import actions
from agent_graphs.actions import clip
from agent_graphs.approval import over_budget, request_approval, thread_id
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.graphs import RECURSION_LIMIT
from agent_graphs.grounding import (
    asked_actions,
    claimed_actions,
    missing_actions,
    missing_results,
    results_answer,
    unsupported_numbers,
)
from agent_graphs.llm import ModelOutputError, add_usage, forced_tool_call, structured, usage_of
from agent_graphs.models import MODEL_RETRY, chat_model
from agent_graphs.plan_execute import prompts
from agent_graphs.plan_execute.state import (
    InputState,
    OutputState,
    State,
    StepEvaluation,
    StepRecord,
)
from agent_graphs.plan_execute.steps import (
    bind_references,
    judge,
    link_placeholders,
    planned_args_ready,
)
from agent_graphs.plans import (
    Plan,
    plain,
    plan_schema,
    ready_steps,
    renumber,
    resolve_args,
    validate_plan,
)
from agent_graphs.schemas import settings_update
from agent_graphs.tooling import ExtraTools, toolbox_for, with_tools
from tools import Toolbox, ToolError

__all__ = ["ROLES", "build_graph", "builder", "graph"]

ROLES = ("planner", "executor", "critic")
"""The model roles this graph calls (each resolved by ``Context.role_model``)."""

# Supersteps one more step can take: execute, approve, act, evaluate, replan, finish.
_STEP_COST = 6


def _plan_check(
    ctx: Context, box: Toolbox, done: set[str], allow_empty: bool, needs: list[str],
    goal: str = "",
):
    """Validate a plan; ``needs`` are tools the goal asks for that no result has used.

    A calculator step may compute only with numbers of the goal and ``$id``s: a planner
    has seen no result yet, so any other number in its expression is made up.
    """

    def check(plan: Plan) -> list[str]:
        empty = [] if plan.steps or allow_empty else ["the plan has no steps"]
        plan = renumber(link_placeholders(plain(plan), done), done)
        planned = {step.tool for step in plan.steps}
        missing = [f"the goal asks for it: add a {tool} step" for tool in needs
                   if tool not in planned and (plan.steps or not allow_empty)]
        invented = [
            f"step {step.id!r} computes with {', '.join(made_up)}, which no step found: "
            "write $ and the id of the step that finds each number"
            for step in plan.steps if step.tool == "calculator"
            and (made_up := unsupported_numbers(str(step.args.get("expression", "")),
                                                ["100 1000"], goal))
        ]
        return empty + missing + invented + _bad_args(box, plan) + validate_plan(
            plan, tools=set(box.names()), done=done, max_steps=ctx.max_steps)

    return check


def _bad_args(box: Toolbox, plan: Plan) -> list[str]:
    """Arguments a step's tool would refuse (``$id``s stand in for values and pass)."""
    problems = []
    for step in plan.steps:
        if step.tool not in box.names():
            continue  # validate_plan names the unknown tool
        try:
            box.validate_args(step.tool, step.args)
        except ToolError as err:
            problems.append(f"step {step.id!r}: {err}")
    return problems


def _ask_planner(
    ctx: Context, box: Toolbox, prompt: str, *, done: set[str], replanning: bool,
    needs: list[str], goal: str, avoid: set[str] | frozenset[str] = frozenset(),
) -> tuple[Plan, dict[str, int]]:
    """Ask the planner for a validated plan; only a replan may have no steps (goal reached)."""
    new_plan, usage = structured(
        chat_model(ctx, "planner"),
        # NOTE: tool names only: spelling out every tool's arguments in the grammar
        # nearly tripled the prompt (1009 -> 2783 tokens on the demo goal) and the 0.5B
        # model then copied the example's arithmetic; arguments are checked below instead.
        plan_schema(box.names(), ctx.max_steps, min_steps=0 if replanning else 1),
        [HumanMessage(prompt)],
        attempts=ctx.max_plan_attempts,
        check=_plan_check(ctx, box, done, allow_empty=replanning, needs=needs, goal=goal),
        on_retry=lambda n, problem: emit(
            "plan_rejected", summary=f"planner answer {n} rejected: {clip(problem, 200)}",
            attempt=n, problem=problem, level=1),
    )
    return renumber(link_placeholders(plain(new_plan), done), done, avoid=avoid), usage


def _step_lines(steps: list[dict[str, Any]]) -> list[str]:
    return [
        f"{s['id']:<4} {s['tool']:<11} {clip(s['description'], 90)}"
        + (f"  [after {', '.join(s['depends_on'])}]" if s["depends_on"] else "")
        for s in steps
    ]


def _feedback(state: State) -> str:
    failures = state.get("failures") or []
    last = failures[-1] if failures else None
    if last and last.get("kind") == "plan_rejected":
        return f"\n\n<feedback>A person rejected the last plan: {last['error']}</feedback>"
    return ""


def _after_planning(ctx: Context) -> Literal["review_plan", "execute"]:
    return "review_plan" if ctx.approve_plan else "execute"


def plan(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["review_plan", "execute"]]:
    """Write the first plan; an invalid plan goes back to the planner as feedback."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx, tools)
    prompt = prompts.PLANNER_PROMPT.format(tools=box.describe(), goal=state["goal"])
    new_plan, usage = _ask_planner(ctx, box, prompt + _feedback(state), done=set(),
                                   replanning=False, needs=asked_actions(state["goal"]),
                                   goal=state["goal"])
    steps = [step.model_dump() for step in new_plan.steps]
    emit("plan_created", summary=f"Plan ({len(steps)} steps):", lines=_step_lines(steps),
         steps=steps)
    update = {"plan": steps, "usage": usage, **settings_update(state, ctx)}
    return Command(goto=_after_planning(ctx), update=update)


def review_plan(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["execute", "plan", "replan", "finish"]]:
    """Plan approval: a person approves, edits or rejects a new plan before it runs."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx, tools)
    results = state.get("results") or {}
    kept = [s for s in state["plan"] if s["id"] in results]
    new = [s for s in state["plan"] if s["id"] not in results]

    def check(args: dict[str, Any]) -> dict[str, Any]:
        edited = renumber(Plan.model_validate(args), set(results))
        problems = _plan_check(ctx, box, set(results), allow_empty=False,
                               needs=[], goal=state["goal"])(edited)
        if problems:
            raise ValueError("; ".join(problems))
        return {"steps": [step.model_dump() for step in edited.steps]}

    replans = state.get("replans", 0)
    risks = {box.risk(s["tool"]).value for s in new}
    decision = request_approval(
        {"kind": "plan", "goal": state["goal"], "steps": new,
         "risk": max(risks, key=["low", "medium", "high"].index, default="low"),
         "reasons": ["plan approval is on"],
         "how_to_answer": "approve | reject (+reason: the planner sees it) | "
                          "edit with {'steps': [...]}"},
        key=f"{actions.action_key('plan', replans + 1)}:{len(state.get('failures') or [])}",
        check_args=check, name="plan", args={"steps": new},
        args_schema=plan_schema(box.names(), ctx.max_steps).model_json_schema(),
        description=f"a new plan of {len(new)} steps for: {clip(state['goal'], 200)} "
                    "(nothing runs before a person approves it)",
    )
    if decision.action == "approve":
        return Command(goto="execute")
    if decision.action == "edit":
        edited = (decision.args or {})["steps"]
        return Command(goto="execute", update={"plan": kept + edited})
    reason = decision.reason or "no reason given"
    rejection: Any = {
        "kind": "plan_rejected", "step_id": None, "tool": None, "args": {}, "ok": False,
        "error": reason, "evaluation": {"success": False, "suggestion": "",
                                        "issues": f"a person rejected the plan: {reason}"}}
    if replans >= ctx.max_replans:
        why = f"a person rejected the plan and the replan limit ({ctx.max_replans}) is reached"
        return Command(goto="finish", update={"failures": [rejection], "stop_reason": why})
    update = {"failures": [rejection], "replans": 1}
    return Command(goto="replan" if results else "plan", update=update)


def execute(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["approve", "act", "evaluate", "finish"]]:
    """Pick the next ready step and let the executor model fill in its tool call."""
    ctx = get_context(runtime)
    results = state.get("results") or {}
    if not any(s["id"] not in results for s in state["plan"]):
        return Command(goto="finish")
    if state.get("steps_run", 0) >= ctx.max_steps:
        return Command(
            goto="finish", update={"stop_reason": f"the step limit ({ctx.max_steps}) was reached"}
        )
    if state["remaining_steps"] <= _STEP_COST:
        return Command(
            goto="finish",
            update={"stop_reason": "the run's recursion limit is nearly used up"},
        )
    ready = ready_steps(state["plan"], results)
    if not ready:  # validate_plan rules this out; kept so a bad state cannot spin
        return Command(goto="finish", update={"stop_reason": "no step has its inputs ready"})
    step = ready[0]  # one at a time: this pattern runs its plan in order

    box = toolbox_for(ctx, tools)
    emit("step_started", summary=f"> {step['id']} {step['tool']}: {clip(step['description'])}",
         step_id=step["id"], description=step["description"], tool=step["tool"])
    attempt = 1 + sum(1 for f in state.get("failures") or [] if f.get("step_id") == step["id"])
    update: dict[str, Any] = {"steps_run": 1}
    values, extracted, usage, problem = bind_references(ctx, step, results)
    update |= {"results": extracted, "usage": usage}
    if problem:
        outcome = {"step_id": step["id"], "tool": step["tool"], "args": step["args"],
                   "ok": False, "error": problem}
        return Command(goto="evaluate", update={**update, "outcomes": {step["id"]: outcome}})
    planned = resolve_args(step["args"], values)
    args = planned_args_ready(box, step["tool"], planned)
    if args is not None:  # the plan says it all: no executor call
        return _prepared(ctx, box, state, step, args, attempt, update)
    # Dependencies first, then any other finished step: small planners often forget to
    # declare that a calculation needs the searches before it.
    order = step["depends_on"] + [sid for sid in results if sid not in step["depends_on"]]
    earlier = "\n".join(
        f"<result step='{sid}'>{clip(results[sid].get('output'))}</result>" for sid in order
    )
    prompt = prompts.EXECUTOR_PROMPT.format(
        goal=state["goal"],
        tool=step["tool"],
        step=step["description"],
        args=json.dumps(step["args"]),
        context=earlier or "(none)",
    )

    def check(args: dict[str, Any]) -> str | None:
        try:
            box.validate_args(step["tool"], args)
        except ToolError as err:
            return str(err)
        return None

    try:
        args, used = forced_tool_call(
            chat_model(ctx, "executor"), box.get(step["tool"]), [HumanMessage(prompt)],
            check=check,
        )
    except ModelOutputError as err:
        outcome = {"step_id": step["id"], "tool": step["tool"], "args": step["args"],
                   "ok": False, "error": f"executor: {err}"}
        return Command(goto="evaluate", update={**update, "outcomes": {step["id"]: outcome}})
    update["usage"] = add_usage(usage, used)
    return _prepared(ctx, box, state, step, args, attempt, update)


def _prepared(
    ctx: Context, box: Toolbox, state: State, step: Any, args: dict[str, Any], attempt: int,
    update: dict[str, Any],
) -> Command[Literal["approve", "act", "evaluate", "finish"]]:
    """Validate the call and route it to approval or straight to the tool."""
    tokens = sum((state.get("usage") or {}).values()) + sum(update["usage"].values())
    try:
        action = actions.prepare(
            ctx, box, step_id=step["id"], tool=step["tool"], args=args, attempt=attempt,
            confidence=step.get("confidence"), tokens_used=tokens,
            budget_limit=state.get("budget_limit", 0),
        )
    except ToolError as err:  # refused before any person sees it
        outcome = {"step_id": step["id"], "tool": step["tool"], "args": args, "ok": False,
                   "error": str(err)}
        return Command(goto="evaluate", update={**update, "outcomes": {step["id"]: outcome}})
    update |= {"pending": {step["id"]: action}}
    return Command(goto="approve" if action["reasons"] else "act", update=update)


def approve(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["act", "evaluate"]]:
    """Ask a person before a gated call; a rejection becomes a failed step."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx, tools)
    (sid, action), = state["pending"].items()
    step = next(s for s in state["plan"] if s["id"] == sid)
    approved, rejection, _ = actions.review(
        box, action, why=step["description"], goal=state["goal"],
        plan=[f"{s['id']}: {s['tool']} - {s['description']}" for s in state["plan"]],
    )
    if rejection is not None:
        return Command(goto="evaluate",
                       update={"pending": {sid: None}, "outcomes": {sid: rejection}})
    update: dict[str, Any] = {"pending": {sid: approved}}
    spent = sum((state.get("usage") or {}).values())
    if over_budget(ctx, tokens_used=spent, budget_limit=state.get("budget_limit", 0)):
        update["budget_limit"] = spent + ctx.token_budget  # each yes grants one more budget
    return Command(goto="act", update=update)


def act(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> dict[str, Any]:
    """Run the prepared tool call; an exception or timeout is a failed step, not a crash."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx, tools)
    outcomes = {sid: actions.run(ctx, box, action) for sid, action in state["pending"].items()}
    return {"outcomes": outcomes, "pending": dict.fromkeys(outcomes)}


def evaluate(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["execute", "replan", "finish"]]:
    """Judge the step's result; route to the next step, a replan, or the end."""
    ctx = get_context(runtime)
    (sid, outcome), = state["outcomes"].items()
    step = next(s for s in state["plan"] if s["id"] == sid)
    usage: dict[str, int] = {}
    judged = judge(outcome)
    if judged is None:  # a tool the runtime cannot judge: ask the critic
        prompt = prompts.CRITIC_PROMPT.format(
            step=step["description"], expected=step["expected_output"],
            result=clip(outcome.get("output")),
        )
        verdict, usage = structured(chat_model(ctx, "critic"), StepEvaluation,
                                    [HumanMessage(prompt)])
        who = "critic"
    else:  # the result itself decides: no model call needed
        verdict = StepEvaluation(success=judged[0], issues=judged[1])
        who = "check"
    said = "success" if verdict.success else f"failure: {clip(verdict.issues, 150)}"
    emit("step_evaluated", summary=f"{who} {said}", step_id=sid, level=1,
         **verdict.model_dump())
    record: StepRecord = {**outcome, "evaluation": verdict.model_dump(),
                          "description": step["description"],
                          "expected": step["expected_output"]}
    if outcome["ok"] and step["tool"] == "calculator":
        record["value"] = float(outcome.get("output", "nan"))
    update: dict[str, Any] = {"outcomes": {sid: None}, "usage": usage}
    if verdict.success:
        done = {*(state.get("results") or {}), sid}
        more = any(s["id"] not in done for s in state["plan"])
        return Command(goto="execute" if more else "finish",
                       update={**update, "results": {sid: record}})
    # How many steps had succeeded by now: only a later success can stand in for this one.
    update["failures"] = [{**record, "done_before": len(state.get("results") or {})}]
    if state.get("replans", 0) >= ctx.max_replans:
        reason = (f"step {sid} failed and the replan limit ({ctx.max_replans}) "
                  f"is reached: {verdict.issues}")
        return Command(goto="finish", update={**update, "stop_reason": reason})
    return Command(goto="replan", update=update)


def replan(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["review_plan", "execute", "finish"]]:
    """Plan the remaining steps around the failure, keeping completed steps."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx, tools)
    results = state.get("results") or {}
    completed = "\n".join(
        # Only a glimpse: the planner needs to know what is done, not the whole document,
        # and a small model copies long results into its plan.
        f"- {sid} {r['tool']}({clip(r['args'], 100)}): {clip(r.get('output'), 160)}"
        for sid, r in results.items()
    )
    failed = state["failures"][-1]
    suggestion = failed["evaluation"].get("suggestion")
    prompt = prompts.REPLANNER_PROMPT.format(
        tools=box.describe(),
        goal=state["goal"],
        completed=completed or "(none)",
        failed=(
            f"- {failed['step_id']} {failed['tool']}({clip(failed.get('args'), 160)}): "
            f"{clip(failed['evaluation']['issues'], 300)}"
            + (f" Suggestion: {suggestion}" if suggestion else "")
        ),
    )
    failed_ids = {f["step_id"] for f in state.get("failures") or [] if f.get("step_id")}
    # An action still owed, unless it ran or a person said no to it.
    settled = {r["tool"] for r in results.values()} | {
        f["tool"] for f in state.get("failures") or [] if f.get("rejected")}
    new_plan, usage = _ask_planner(
        ctx, box, prompt, done=set(results), replanning=True,
        needs=[t for t in asked_actions(state["goal"]) if t not in settled], goal=state["goal"],
        avoid=failed_ids - set(results),
    )
    kept = [s for s in state["plan"] if s["id"] in results]
    steps = [step.model_dump() for step in new_plan.steps]
    # A plan rejected by a person was already counted as a replan by review_plan.
    rejected = failed.get("kind") == "plan_rejected"
    replans = 0 if rejected else 1
    emit("replanned", summary=f"Replan #{state.get('replans', 0) + replans} "
         f"({len(steps)} new steps):", lines=_step_lines(steps),
         replan=state.get("replans", 0) + replans, steps=steps)
    update = {"plan": kept + steps, "replans": replans, "usage": usage}
    return Command(goto=_after_planning(ctx) if steps else "finish", update=update)


def _unresolved(state: State) -> list[Any]:
    """Failed steps (not a person's no) that no later successful step of their tool
    replaced: what they were for is still undone."""
    done = list((state.get("results") or {}).values())
    return [f for f in state.get("failures") or []
            if f.get("step_id") and not f.get("rejected")
            and not any(r["tool"] == f["tool"] for r in done[f.get("done_before", 0):])]


def _why_not_done(state: State) -> str:
    """Say why the results do not support a finished answer (empty: they do)."""
    results = state.get("results") or {}
    rejected = [f["tool"] for f in state.get("failures") or [] if f.get("rejected")]
    if reason := state.get("stop_reason"):
        return reason
    if not results and not rejected:  # a person's no is an outcome the answer reports
        return "no step succeeded, so there is no result to answer from"
    if unresolved := _unresolved(state):
        f = unresolved[-1]
        return (f"step {f['step_id']} ({f['tool']}) failed and no later step replaced it: "
                f"{f['evaluation']['issues']}")
    if missing := missing_actions(state["goal"], results, rejected):
        return (f"the goal asks for {' and '.join(missing)} but no such step ran, so "
                "nothing was done")
    return ""


def _stopped(ctx: Context, state: State, reason: str) -> dict[str, Any]:
    results = state.get("results") or {}
    answer = f"Stopped before reaching the goal: {reason.rstrip()}"
    answer += "" if answer.endswith((".", "?", "!")) else "."
    if results:
        answer += f" Completed steps: {', '.join(results)}."
    if any(ctx.role_model(r).startswith("local") for r in ROLES):
        larger = all(ctx.role_model(r) == "local:1.5b" for r in ROLES)
        answer += prompts.STRONGER_REMOTE_TIP if larger else prompts.STRONGER_MODEL_TIP
    emit("finished", summary=f"failed: {clip(answer, 200)}", status="failed", answer=answer)
    return {"final_answer": answer, "status": "failed"}


def _end_values(state: State) -> dict[str, float]:
    """The run's last computation, unless a later step used it: what the run was for,
    which the answer must give (numbers that only fed it need not be repeated)."""
    results = state.get("results") or {}
    used = {d for s in state.get("plan") or [] for d in s["depends_on"]}
    computed = [(sid, r["value"]) for sid, r in results.items()
                if r.get("tool") == "calculator" and isinstance(r.get("value"), float)]
    return dict(computed[-1:]) if computed and computed[-1][0] not in used else {}


def finish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the final answer from the results, or say why the run stopped.

    The run is ``done`` only when the answer rests on successful results: a step that
    failed for good, an action the goal asked for that never ran, or a number the model
    made up ends the run ``failed`` or replaces the model's words with the results'.
    """
    ctx = get_context(runtime)
    if reason := _why_not_done(state):
        return _stopped(ctx, state, reason)
    results = state.get("results") or {}
    listing = "\n".join(
        f"<result step='{sid}' about='{r.get('tool')}'>"
        + (f"{r['value']:g} (from: {r.get('quote') or r.get('output')})"
           if isinstance(r.get("value"), float) else clip(r.get("output")))
        + "</result>"
        for sid, r in results.items()
    )
    rejected = [f for f in state.get("failures") or [] if f.get("rejected")]
    prompt = prompts.FINISH_PROMPT.format(goal=state["goal"], results=listing)
    usage: dict[str, int] = {}
    known = [r.get("output") for r in results.values()] + [
        r.get("value") for r in results.values() if r.get("value") is not None]
    problems: list[str] = []
    for _ in range(2):  # one retry with the problem named, then the results speak
        reply = chat_model(ctx, "planner").invoke(
            [HumanMessage(prompt + (f"\n\n<feedback>{problems[-1]}</feedback>"
                                    if problems else ""))])
        usage = add_usage(usage, usage_of(reply))
        answer = reply.text.strip()
        made_up = unsupported_numbers(answer, known, state["goal"])
        claimed = claimed_actions(answer, results)
        left_out = missing_results(answer, _end_values(state))
        if answer and not made_up and not claimed and not left_out:
            break
        problems.append(
            "Your answer was not used: "
            + (f"the numbers {', '.join(made_up)} appear in no result; " if made_up else "")
            + "".join(f"it does not give step {sid}'s result "
                      f"({results[sid]['value']:.10g}); " for sid in left_out)
            + (f"it says {', '.join(claimed)} happened, but no result records it; "
               if claimed else "")
            + ("it was empty; " if not answer else "")
            + "use only the results' figures and facts.")
    else:
        answer = results_answer(results) + f"\n(The model's answer was set aside: "\
            f"{problems[-1].removeprefix('Your answer was not used: ')})"
    for f in rejected:
        answer = f"A person rejected the {f['tool']} call ({f['error']}).\n" + answer
    emit("finished", summary=f"done: {clip(answer, 200)}", status="done", answer=answer)
    return {"final_answer": answer, "status": "done", "usage": usage}


def build_graph(
    *, tools: ExtraTools | None = None, name: str = "plan_execute"
) -> StateGraph[State, Context, InputState, OutputState]:
    """Return the uncompiled plan-and-execute graph; compile it with your checkpointer.

    Args:
        tools: Tools to add to the built-in ones, by name, each with its declared risk.
        name: The name ``agent_graphs.graphs.compile_graph`` gives the compiled graph (a
            parent that adds it as a subgraph node gets this node name).
    """

    def use(node: Any) -> Any:  # nodes that build a toolbox get the extra tools
        return with_tools(node, tools)

    builder = StateGraph(State, context_schema=Context, input_schema=InputState,
                         output_schema=OutputState)
    builder.add_node(use(plan), retry_policy=MODEL_RETRY)
    builder.add_node(use(review_plan))
    builder.add_node(use(execute), retry_policy=MODEL_RETRY)
    builder.add_node(use(approve))
    builder.add_node(use(act))  # runs tools: never retried
    builder.add_node(evaluate, retry_policy=MODEL_RETRY)
    builder.add_node(use(replan), retry_policy=MODEL_RETRY)
    builder.add_node(finish, retry_policy=MODEL_RETRY)
    builder.add_edge(START, "plan")
    builder.add_edge("act", "evaluate")
    builder.set_finish_point("finish")
    builder.name = name  # type: ignore[attr-defined]
    return builder


builder = build_graph()
# The dev server sets no recursion limit (LangGraph's default is 25): give Studio runs the
# same generous one as the CLI; the Context limits still end every loop first.
graph = builder.compile(name="Plan and Execute").with_config(recursion_limit=RECURSION_LIMIT)
