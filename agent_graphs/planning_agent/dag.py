"""The planning agent's parallel stage: run the plan's DAG, then judge every result.

``execute`` hands the plan to the LLM Compiler's :class:`Scheduler` (each task starts the
moment its own dependencies are done, tools on a bounded pool) with its :class:`Journal`
(a finished task is stored as it finishes, so a resume after a crash re-runs only the
tasks that had not finished). Tasks the shared gate holds go to the LLM Compiler's own
``approve`` node, one ``Send`` branch each, while everything independent of them runs.

A task whose result a later task refers to (``$s1``) gets its value inside the task, in
its pool thread: plan-and-execute's grounded extraction (``steps.bind_references``), so
two searches read their figures at the same time, and only verified values go on.

``evaluate`` judges each outcome as plan-and-execute does (``steps.judge``; the critic
only for tools the runtime cannot judge), keeps what succeeded and sends what failed to
the replanner, bounded by ``max_replans``. When the runtime can judge every outcome (no
critic call), ``execute`` runs it itself instead of taking a superstep to get there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from agent_graphs import actions
from agent_graphs.actions import clip
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.llm import ModelOutputError, add_usage, forced_tool_call, structured
from agent_graphs.llm_compiler.graph import journal
from agent_graphs.llm_compiler.journal import Journal
from agent_graphs.llm_compiler.scheduler import Prepared, Scheduler
from agent_graphs.llm_compiler.settings import compiler_settings
from agent_graphs.models import chat_model
from agent_graphs.plan_execute import prompts as pe_prompts
from agent_graphs.plan_execute.state import StepEvaluation
from agent_graphs.plan_execute.steps import bind_references, judge, planned_args_ready
from agent_graphs.planning_agent import prompts
from agent_graphs.planning_agent.report_stage import to_report
from agent_graphs.planning_agent.settings import agent_settings
from agent_graphs.planning_agent.state import State, add_role_usage
from agent_graphs.plans import references, resolve_args
from agent_graphs.schemas import merge_by_id
from agent_graphs.tooling import ExtraTools, toolbox_for
from tools import Toolbox, ToolError

__all__ = ["evaluate", "execute", "step_line"]


def step_line(step: Mapping[str, Any]) -> str:
    """One line per step for events and approval requests."""
    after = f"  [after {', '.join(step['depends_on'])}]" if step["depends_on"] else ""
    return f"{step['id']:<4} {step['tool']:<11} {clip(step['description'], 90)}{after}"


def _fail(step: Mapping[str, Any], error: str) -> Prepared:
    return "fail", {"step_id": step["id"], "tool": step["tool"], "args": step["args"],
                    "ok": False, "error": error}


def _fill(ctx: Context, box: Toolbox, goal: str, step: Mapping[str, Any], planned: Any,
          done: Mapping[str, dict[str, Any]], used: dict[str, int]) -> dict[str, Any]:
    """Let the executor complete arguments the plan left unfinished (rare: plans are
    grammar-constrained); raises ModelOutputError when it cannot."""
    earlier = "\n".join(f"<result step='{sid}'>{clip(o.get('output'))}</result>"
                        for sid, o in done.items() if o["ok"])
    prompt = prompts.EXECUTOR_PROMPT.format(goal=goal, tool=step["tool"],
                                            step=step["description"], args=json.dumps(planned),
                                            context=earlier or "(none)")

    def check(args: dict[str, Any]) -> str | None:
        try:
            box.validate_args(step["tool"], args)
        except ToolError as err:
            return str(err)
        return None

    args, usage = forced_tool_call(chat_model(ctx, "executor"), box.get(step["tool"]),
                                   [HumanMessage(prompt)], check=check)
    used.update(add_usage(used, usage))
    return args


def execute(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["approve", "evaluate", "replan", "report_write", "finish"]]:
    """Run every task of the plan that can run, in parallel, each as soon as it can; then
    judge them (here when the runtime can judge every one, else in ``evaluate``)."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx, tools)
    results = state.get("results") or {}
    plan = state.get("plan") or []
    decisions = state.get("approvals") or {}
    referenced = set().union(*(references(s["args"]) for s in plan)) if plan else set()
    by_id = {s["id"]: s for s in plan}
    tokens = sum((state.get("usage") or {}).values())
    filled: dict[str, int] = {}

    def prepare(step: Mapping[str, Any], done: Mapping[str, dict[str, Any]]) -> Prepared:
        if (decided := decisions.get(step["id"])) is not None:
            return ("fail", decided["outcome"]) if "outcome" in decided else (
                "run", decided["action"])
        for ref in sorted(references(step["args"])):
            if done[ref].get("value_problem"):
                return _fail(step, f"no value for ${ref}: {done[ref]['value_problem']}")
        values = {sid: o.get("value", o.get("output")) for sid, o in done.items() if o["ok"]}
        try:
            planned = resolve_args(step["args"], values)
            args = planned_args_ready(box, step["tool"], planned)
            if args is None:
                args = _fill(ctx, box, state["goal"], step, planned, done, filled)
            action = actions.prepare(ctx, box, step_id=step["id"], tool=step["tool"],
                                     args=args, confidence=step.get("confidence"),
                                     tokens_used=tokens)
        except (KeyError, ToolError, ModelOutputError) as err:
            return _fail(step, f"cannot call {step['tool']}: {err}")
        if action["reasons"]:
            emit("task_waiting", summary=f"wait   {step['id']} needs a person's yes",
                 step_id=step["id"])
            return "gate", dict(action)
        return "run", dict(action)

    def run_task(action: dict[str, Any]) -> dict[str, Any]:
        sid, began, clock = action["step_id"], time.time(), time.monotonic()
        emit("task_started", summary=f"start  {sid} {action['tool']}"
             f"({clip(action['args'], 100)})", step_id=sid, tool=action["tool"])
        outcome: dict[str, Any] = dict(actions.run(ctx, box, action))  # type: ignore[arg-type]
        step: Mapping[str, Any] = by_id.get(sid, {})
        outcome |= {"description": step.get("description", ""),
                    "expected": step.get("expected_output", "")}
        if outcome["ok"] and sid in referenced:  # a later task needs its value: read it now
            _, found, used, problem = bind_references(ctx, {"args": f"${sid}"}, {sid: outcome})
            outcome |= found.get(sid, {}) | ({"value_problem": problem} if problem else {})
            if used:
                outcome["usage"] = {"executor": used}
        outcome |= {"started": began, "seconds": round(time.monotonic() - clock, 4)}
        return outcome

    def finished(outcome: dict[str, Any]) -> None:
        sid = outcome["step_id"]
        took = f" in {outcome['seconds']:.2f} s" if "seconds" in outcome else ""
        text = outcome.get("output") or outcome.get("error") or ""
        emit("task_finished", summary=f"{'done' if outcome['ok'] else 'FAILED':<6} {sid}{took}: "
             f"{' '.join(clip(text, 120).split())}", step_id=sid, ok=outcome["ok"])
        log.add(outcome, hold=sched.ending)  # the last ones go in the node's own update

    sched = Scheduler(prepare=prepare, execute=run_task,
                      max_concurrency=agent_settings(ctx).agent_max_concurrency,
                      finished={**results, **(state.get("outcomes") or {})},
                      on_outcome=finished, held=True)
    # Tasks finishing within the spacing of one write share the next (a write costs ~1 ms
    # of the GIL), as in the LLM Compiler
    log = Journal(journal, sched.call_soon, sched.restore, sched.release,
                  call_later=sched.call_later,
                  spacing=compiler_settings(ctx).compiler_journal_spacing)
    for step in plan:
        sched.add(step)
    sched.close()
    log.start()
    sched.run()
    log.settle()
    update: dict[str, Any] = {"outcomes": sched.new}
    if filled:
        update |= {"usage": filled, "tokens": {"executor": filled}}
    if not sched.gated:
        outcomes = merge_by_id(state.get("outcomes"), sched.new)
        if all(judge(o) is not None for o in outcomes.values()):
            return _evaluated_here(state, runtime, update, outcomes)
        return Command(goto="evaluate", update=update)
    lines = [step_line(s) for s in plan]
    sends = [Send("approve", {"gate": {"action": action, "goal": state["goal"], "plan": lines,
                                       "why": by_id[sid]["description"]}})
             for sid, action in sorted(sched.gated.items(), key=lambda kv: list(by_id).index(kv[0]))]
    return Command(goto=sends, update=update)


def _evaluated_here(state: State, runtime: Runtime[Context], update: dict[str, Any],
                    outcomes: dict[str, Any]) -> Command[Any]:
    """:func:`evaluate` run inside ``execute``, on the state as it would find it.

    Only when the runtime judges every outcome itself (built-in tools): no model call, so
    nothing that a retry of this node (which never re-runs a journaled task) would redo.
    Its own superstep cost ~1 ms of LangGraph bookkeeping a round for this Python.
    """
    after = {**state, "outcomes": outcomes, "remaining_steps": state["remaining_steps"] - 1}
    judged = evaluate(after, runtime)  # type: ignore[arg-type]
    merged = dict(judged.update or {})
    if "usage" in update:  # the executor's tokens filling arguments, then the judge's
        merged["usage"] = add_usage(update["usage"], merged.get("usage") or {})
        merged["tokens"] = add_role_usage(update["tokens"], merged.get("tokens") or {})
    return Command(goto=judged.goto, update=merged)


def evaluate(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["replan", "report_write", "finish"]]:
    """Judge this round's results; keep what succeeded, replan what failed (bounded)."""
    ctx = get_context(runtime)
    outcomes = state.get("outcomes") or {}
    order = [s["id"] for s in state.get("plan") or []]
    kept: dict[str, Any] = {}
    failed: list[dict[str, Any]] = []
    usage: dict[str, int] = {}
    tokens: dict[str, dict[str, int]] = {}
    for sid in sorted(outcomes, key=lambda i: order.index(i) if i in order else len(order)):
        outcome = outcomes[sid]
        for role, used in (outcome.get("usage") or {}).items():
            tokens[role] = add_usage(tokens.get(role, {}), used)
            usage = add_usage(usage, used)
        judged = judge(outcome)
        if judged is None:  # a tool the runtime cannot judge: ask the critic
            prompt = pe_prompts.CRITIC_PROMPT.format(
                step=outcome.get("description", ""), expected=outcome.get("expected", ""),
                result=clip(outcome.get("output")))
            verdict, used = structured(chat_model(ctx, "critic"), StepEvaluation,
                                       [HumanMessage(prompt)])
            tokens["critic"] = add_usage(tokens.get("critic", {}), used)
            usage = add_usage(usage, used)
        else:
            verdict = StepEvaluation(success=judged[0], issues=judged[1])
        if verdict.success and outcome.get("value_problem"):
            verdict = StepEvaluation(success=False,
                                     issues=f"no usable value: {outcome['value_problem']}")
        record = {**outcome, "evaluation": verdict.model_dump()}
        emit("step_evaluated", summary=f"{sid} " + (
            "success" if verdict.success else f"failure: {clip(verdict.issues, 150)}"),
            step_id=sid, level=1, **verdict.model_dump())
        if verdict.success:
            kept[sid] = record
        else:
            failed.append(record)
    approvals = state.get("approvals") or {}
    decided = [
        {"what": f"task {sid} {d.get('action', d.get('outcome', {})).get('tool', '')}",
         "risk": d.get("action", d.get("outcome", {})).get("risk", ""),
         "decision": "approve" if "action" in d else "reject",
         "by": d.get("action", {}).get("approved_by", ""),
         "reason": d.get("outcome", {}).get("error", "")} for sid, d in approvals.items()]
    update: dict[str, Any] = {"outcomes": dict.fromkeys(outcomes), "results": kept,
                              "failures": failed, "usage": usage, "tokens": tokens,
                              "approvals": dict.fromkeys(approvals), "decisions": decided}
    if not failed:
        return to_report(state, runtime, update)
    if state.get("replans", 0) < ctx.max_replans and state["remaining_steps"] > 12:
        return Command(goto="replan", update=update)
    why = (f"{len(failed)} step(s) failed and the replan limit ({ctx.max_replans}) is "
           f"reached: " + "; ".join(f"{f['step_id']}: {clip(f['evaluation']['issues'], 120)}"
                                   for f in failed))
    update["stop_reason"] = why
    return to_report(state, runtime, update)
