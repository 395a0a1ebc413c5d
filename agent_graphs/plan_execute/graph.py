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

from agent_graphs.approval import gate_reasons, over_budget, request_approval, thread_id
from agent_graphs.context import Context
from agent_graphs.events import emit
from agent_graphs.graphs import RECURSION_LIMIT
from agent_graphs.llm import ModelOutputError, forced_tool_call, structured, usage_of
from agent_graphs.models import load_chat_model
from agent_graphs.plan_execute import prompts
from agent_graphs.plan_execute.state import (
    InputState,
    OutputState,
    Plan,
    State,
    StepEvaluation,
    plan_schema,
    renumber,
    validate_plan,
)
from agent_graphs.tooling import toolbox_for
from checkpoints import audit
from tools import Risk, ToolError

# Supersteps one more step can take: execute, approve, act, evaluate, replan, finish.
_STEP_COST = 6
_RESULT_CHARS = 1500


def _context(runtime: Runtime[Context]) -> Context:
    return runtime.context if isinstance(runtime.context, Context) else Context()


def _model(ctx: Context, role: Literal["planner", "executor", "critic"]):
    return load_chat_model(ctx.role_model(role), max_tokens=getattr(ctx, f"{role}_max_tokens"))


def _clip(text: Any, limit: int = _RESULT_CHARS) -> str:
    text = text if isinstance(text, str) else json.dumps(text, default=str)
    return text if len(text) <= limit else text[:limit] + " …[truncated]"


def _plan_check(ctx: Context, tools: set[str], done: set[str], allow_empty: bool):
    def check(plan: Plan) -> list[str]:
        empty = [] if plan.steps or allow_empty else ["the plan has no steps"]
        plan = renumber(plan, done)
        return empty + validate_plan(plan, tools=tools, done=done, max_steps=ctx.max_steps)

    return check


def _ask_planner(
    ctx: Context, prompt: str, *, done: set[str], replanning: bool,
    avoid: set[str] = frozenset(),
) -> tuple[Plan, dict[str, int]]:
    """Ask the planner for a validated plan; only a replan may have no steps (goal reached)."""
    box = toolbox_for(ctx)
    new_plan, usage = structured(
        _model(ctx, "planner"),
        plan_schema(box.names(), ctx.max_steps, min_steps=0 if replanning else 1),
        [HumanMessage(prompt)],
        attempts=ctx.max_plan_attempts,
        check=_plan_check(ctx, set(box.names()), done, allow_empty=replanning),
        on_retry=lambda n, problem: emit("plan_rejected", attempt=n, problem=problem),
    )
    return renumber(new_plan, done, avoid=avoid), usage


def _feedback(state: State) -> str:
    last = (state.get("failures") or [None])[-1]
    if last and last.get("kind") == "plan_rejected":
        return f"\n\n<feedback>A person rejected the last plan: {last['error']}</feedback>"
    return ""


def _after_planning(ctx: Context) -> Literal["review_plan", "execute"]:
    return "review_plan" if ctx.approve_plan else "execute"


def plan(state: State, runtime: Runtime[Context]) -> Command[Literal["review_plan", "execute"]]:
    """Write the first plan; an invalid plan goes back to the planner as feedback."""
    ctx = _context(runtime)
    box = toolbox_for(ctx)
    prompt = prompts.PLANNER_PROMPT.format(tools=box.describe(), goal=state["goal"])
    new_plan, usage = _ask_planner(ctx, prompt + _feedback(state), done=set(), replanning=False)
    steps = [step.model_dump() for step in new_plan.steps]
    emit("plan_created", steps=steps)
    update = {"plan": steps, "results": {}, "steps_run": state.get("steps_run", 0),
              "replans": state.get("replans", 0), "usage": usage}
    return Command(goto=_after_planning(ctx), update=update)


def review_plan(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["execute", "plan", "replan", "finish"]]:
    """Plan approval: a person approves, edits or rejects a new plan before it runs."""
    ctx = _context(runtime)
    box = toolbox_for(ctx)
    results = state.get("results") or {}
    kept = [s for s in state["plan"] if s["id"] in results]
    new = [s for s in state["plan"] if s["id"] not in results]

    def check(args: dict[str, Any]) -> dict[str, Any]:
        edited = renumber(Plan.model_validate(args), set(results))
        problems = _plan_check(ctx, set(box.names()), set(results), allow_empty=False)(edited)
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
        key=f"{thread_id()}:plan:{replans}:{len(state.get('failures') or [])}",
        check_args=check,
    )
    if decision.action == "approve":
        return Command(goto="execute")
    if decision.action == "edit":
        return Command(goto="execute", update={"plan": kept + decision.args["steps"]})
    rejection = {"kind": "plan_rejected", "step_id": None, "tool": None, "ok": False,
                 "error": decision.reason or "no reason given",
                 "evaluation": {"success": False, "issues": "a person rejected the plan: "
                                + (decision.reason or "no reason given"), "suggestion": ""}}
    if replans >= ctx.max_replans:
        reason = f"a person rejected the plan and the replan limit ({ctx.max_replans}) is reached"
        return Command(goto="finish", update={"failures": [rejection], "stop_reason": reason})
    update = {"failures": [rejection], "replans": replans + 1}
    return Command(goto="replan" if results else "plan", update=update)


def execute(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["approve", "act", "evaluate", "finish"]]:
    """Pick the next ready step and let the executor model fill in its tool call."""
    ctx = _context(runtime)
    results = state.get("results") or {}
    todo = [s for s in state["plan"] if s["id"] not in results]
    if not todo:
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
    step = next((s for s in todo if all(d in results for d in s["depends_on"])), None)
    if step is None:  # validate_plan rules this out; kept so a bad state cannot spin
        return Command(goto="finish", update={"stop_reason": "no step has its inputs ready"})

    box = toolbox_for(ctx)
    emit("step_started", step_id=step["id"], description=step["description"], tool=step["tool"])
    # Dependencies first, then any other finished step: small planners often forget to
    # declare that a calculation needs the searches before it.
    order = step["depends_on"] + [sid for sid in results if sid not in step["depends_on"]]
    earlier = "\n".join(
        f"<result step='{sid}'>{_clip(results[sid]['output'])}</result>" for sid in order
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

    thread = thread_id()
    steps_run = state.get("steps_run", 0) + 1
    pending = {
        "step_id": step["id"],
        "tool": step["tool"],
        "risk": box.risk(step["tool"]).value,
        # Stable across replays of later nodes: the tool uses it to ignore a repeat.
        "key": f"{thread}:{step['id']}:{steps_run}",
    }
    update: dict[str, Any] = {"steps_run": steps_run, "outcome": None}
    try:
        args, usage = forced_tool_call(
            _model(ctx, "executor"), box.get(step["tool"]), [HumanMessage(prompt)], check=check
        )
    except ModelOutputError as err:
        outcome = {**pending, "args": step["args"], "ok": False, "error": f"executor: {err}"}
        return Command(goto="evaluate", update={**update, "pending": None, "outcome": outcome})
    pending["args"] = box.validate_args(step["tool"], args)
    tokens = sum((state.get("usage") or {}).values()) + sum(usage.values())
    pending["reasons"] = gate_reasons(
        ctx, risk=pending["risk"], confidence=step.get("confidence"), tokens_used=tokens,
        budget_limit=state.get("budget_limit", 0),
    )
    update |= {"pending": pending, "usage": usage}
    return Command(goto="approve" if pending["reasons"] else "act", update=update)


def approve(state: State, runtime: Runtime[Context]) -> Command[Literal["act", "evaluate"]]:
    """Ask a person before a gated call; a rejection becomes a failed step."""
    ctx = _context(runtime)
    box = toolbox_for(ctx)
    pending = state["pending"]
    step = next(s for s in state["plan"] if s["id"] == pending["step_id"])
    decision = request_approval(
        {
            "kind": "tool_call",
            "tool": pending["tool"],
            "args": pending["args"],
            "risk": pending["risk"],
            "reasons": pending["reasons"],
            "why": step["description"],
            "step_id": step["id"],
            "plan": [f"{s['id']}: {s['tool']} - {s['description']}" for s in state["plan"]],
            "goal": state["goal"],
            "idempotency_key": pending["key"],
            "delivery": box.delivery(pending["tool"]),
            "how_to_answer": "approve | reject (+reason) | edit with new args",
        },
        key=pending["key"],
        check_args=lambda args: box.validate_args(pending["tool"], args),
    )
    if decision.action == "reject":
        why = f"a person rejected the call to {pending['tool']}"
        outcome = {**pending, "ok": False, "rejected": True,
                   "error": why + (f": {decision.reason}" if decision.reason else "")}
        return Command(goto="evaluate", update={"outcome": outcome})
    update: dict[str, Any] = {"pending": {**pending, "approved_by": decision.by or "person"}}
    if decision.action == "edit":
        update["pending"]["args"] = decision.args
    spent = sum((state.get("usage") or {}).values())
    if over_budget(ctx, tokens_used=spent, budget_limit=state.get("budget_limit", 0)):
        update["budget_limit"] = spent + ctx.token_budget  # each yes grants one more budget
    return Command(goto="act", update=update)


def act(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the prepared tool call; an exception or timeout is a failed step, not a crash."""
    ctx = _context(runtime)
    pending = state["pending"]
    emit("tool_called", step_id=pending["step_id"], tool=pending["tool"], args=pending["args"])
    try:
        output = toolbox_for(ctx).run(
            pending["tool"], pending["args"], idempotency_key=pending["key"],
            timeout=ctx.tool_timeout,
        )
        outcome = {**pending, "ok": True, "output": output}
    except ToolError as err:
        outcome = {**pending, "ok": False, "error": str(err)}
    if pending["risk"] != Risk.LOW.value:
        audit.record(
            "tool_executed", thread_id=thread_id(), key=pending["key"],
            actor=pending.get("approved_by", "agent"),
            data={"tool": pending["tool"], "args": pending["args"], "risk": pending["risk"],
                  "ok": outcome["ok"], "result": outcome.get("output") or outcome.get("error")},
        )
    emit("step_finished", step_id=pending["step_id"], ok=outcome["ok"],
         output=_clip(outcome.get("output") or outcome.get("error"), 300))
    return {"outcome": outcome}


def evaluate(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["execute", "replan", "finish"]]:
    """Judge the step's result; route to the next step, a replan, or the end."""
    ctx = _context(runtime)
    outcome = state["outcome"]
    step = next(s for s in state["plan"] if s["id"] == outcome["step_id"])
    usage: dict[str, int] = {}
    if outcome["ok"]:
        prompt = prompts.CRITIC_PROMPT.format(
            step=step["description"], expected=step["expected_output"],
            result=_clip(outcome["output"]),
        )
        verdict, usage = structured(_model(ctx, "critic"), StepEvaluation, [HumanMessage(prompt)])
    else:  # the tool or the executor already said what went wrong: no model call needed
        verdict = StepEvaluation(success=False, issues=outcome["error"])
    emit("step_evaluated", step_id=step["id"], **verdict.model_dump())
    record = {**outcome, "evaluation": verdict.model_dump()}
    update: dict[str, Any] = {"outcome": None, "pending": None, "usage": usage}
    if verdict.success:
        results = {**(state.get("results") or {}), step["id"]: record}
        more = any(s["id"] not in results for s in state["plan"])
        return Command(goto="execute" if more else "finish", update={**update, "results": results})
    update["failures"] = [record]
    if state.get("replans", 0) >= ctx.max_replans:
        reason = (f"step {step['id']} failed and the replan limit ({ctx.max_replans}) "
                  f"is reached: {verdict.issues}")
        return Command(goto="finish", update={**update, "stop_reason": reason})
    return Command(goto="replan", update=update)


def replan(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["review_plan", "execute", "finish"]]:
    """Plan the remaining steps around the failure, keeping completed steps."""
    ctx = _context(runtime)
    box = toolbox_for(ctx)
    results = state.get("results") or {}
    completed = "\n".join(
        # Only a glimpse: the planner needs to know what is done, not the whole document,
        # and a small model copies long results into its plan.
        f"- {sid} {r['tool']}({_clip(r['args'], 100)}): {_clip(r['output'], 160)}"
        for sid, r in results.items()
    )
    failed = state["failures"][-1]
    prompt = prompts.REPLANNER_PROMPT.format(
        tools=box.describe(),
        goal=state["goal"],
        completed=completed or "(none)",
        failed=(
            f"- {failed['step_id']} {failed['tool']}({_clip(failed.get('args'), 160)}): "
            f"{_clip(failed['evaluation']['issues'], 300)}"
            + (f" Suggestion: {failed['evaluation']['suggestion']}"
               if failed["evaluation"]["suggestion"] else "")
        ),
    )
    failed_ids = {f["step_id"] for f in state.get("failures") or [] if f.get("step_id")}
    new_plan, usage = _ask_planner(
        ctx, prompt, done=set(results), replanning=True, avoid=failed_ids - set(results)
    )
    kept = [s for s in state["plan"] if s["id"] in results]
    steps = [step.model_dump() for step in new_plan.steps]
    emit("replanned", replan=state.get("replans", 0) + 1, steps=steps)
    # A plan rejected by a person was already counted as a replan by review_plan.
    rejected = failed.get("kind") == "plan_rejected"
    replans = state.get("replans", 0) + (0 if rejected else 1)
    update = {"plan": kept + steps, "replans": replans, "usage": usage}
    return Command(goto=_after_planning(ctx) if steps else "finish", update=update)


def finish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the final answer from the results, or say why the run stopped."""
    ctx = _context(runtime)
    results = state.get("results") or {}
    listing = "\n".join(
        f"<result step='{sid}' about='{r.get('tool')}'>{_clip(r['output'])}</result>"
        for sid, r in results.items()
    )
    if reason := state.get("stop_reason"):
        answer = f"Stopped before reaching the goal: {reason.rstrip()}"
        answer += "" if answer.endswith((".", "?", "!")) else "."
        if results:
            answer += f" Completed steps: {', '.join(results)}."
        emit("finished", status="failed", answer=answer)
        return {"final_answer": answer, "status": "failed"}
    prompt = prompts.FINISH_PROMPT.format(goal=state["goal"], results=listing or "(none)")
    reply = _model(ctx, "planner").invoke([HumanMessage(prompt)])
    answer = reply.text.strip() or "(the model returned an empty answer)"
    emit("finished", status="done", answer=answer)
    return {"final_answer": answer, "status": "done", "usage": usage_of(reply)}




builder = StateGraph(State, context_schema=Context, input_schema=InputState,
                     output_schema=OutputState)
builder.add_node(plan)
builder.add_node(review_plan)
builder.add_node(execute)
builder.add_node(approve)
builder.add_node(act)
builder.add_node(evaluate)
builder.add_node(replan)
builder.add_node(finish)
builder.add_edge(START, "plan")
builder.add_edge("act", "evaluate")
builder.set_finish_point("finish")

# The dev server sets no recursion limit (LangGraph's default is 25): give Studio runs the
# same generous one as the CLI; the Context limits still end every loop first.
graph = builder.compile(name="Plan and Execute").with_config(recursion_limit=RECURSION_LIMIT)
