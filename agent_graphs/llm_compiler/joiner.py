"""The LLM Compiler's joiner: answer from the tasks' results, or ask for more tasks.

Its own node, so a resume never repeats the planner's or the tools' work; bounded by
``max_replans``; finished tasks are kept and listed to it with their results.
"""

from __future__ import annotations

import json
from typing import Literal

from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent_graphs import actions
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.llm import structured
from agent_graphs.llm_compiler import prompts
from agent_graphs.llm_compiler.state import JoinDecision, State
from agent_graphs.models import chat_model

__all__ = ["join"]

_CLIP = 1500


def _listing(state: State) -> str:
    results = state.get("results") or {}
    rows = []
    for step in state.get("plan") or []:
        r = results.get(step["id"])
        if r is None:
            continue
        body = r.get("output") if r["ok"] else "FAILED: " + str(r.get("error"))
        rows.append(f"<task id='{step['id']}' tool='{step['tool']}' args='"
                    f"{json.dumps(r['args'], default=str)[:200]}'>"
                    f"{actions.clip(body, _CLIP)}</task>")
    return "\n".join(rows) or "(no task ran)"


def join(state: State, runtime: Runtime[Context]) -> Command[Literal["plan_and_schedule",
                                                                     "__end__"]]:
    """Answer from the results, or ask for more tasks (bounded by max_replans)."""
    ctx = get_context(runtime)
    rnd = state.get("replans", 0)
    if reason := state.get("stop_reason"):
        answer = f"Stopped before reaching the goal: {reason}."
        emit("finished", summary=f"failed: {answer}", status="failed", answer=answer)
        return Command(goto="__end__", update={"final_answer": answer, "status": "failed"})
    last = rnd >= ctx.max_replans
    prompt = prompts.JOINER_PROMPT.format(
        goal=state["goal"], tasks=_listing(state), last_chance=prompts.LAST_CHANCE if last else "")
    decision, usage = structured(chat_model(ctx, "joiner"), JoinDecision, [HumanMessage(prompt)],
                                 attempts=ctx.max_plan_attempts)
    emit("joined", summary=f"join   {decision.action}: {actions.clip(decision.thought, 160)}",
         **decision.model_dump())
    answer = decision.answer.strip() or decision.thought.strip()
    if decision.action == "finish" and answer:
        emit("finished", summary=f"done: {actions.clip(answer, 200)}", status="done",
             answer=answer)
        return Command(goto="__end__",
                       update={"final_answer": answer, "status": "done", "usage": usage})
    if not last:
        return Command(goto="plan_and_schedule", update={
            "replans": rnd + 1, "usage": usage,
            "feedback": decision.feedback or decision.thought})
    answer = (f"Stopped before reaching the goal: the replan limit ({ctx.max_replans}) is "
              f"reached. {decision.feedback or decision.thought}").strip()
    emit("finished", summary=f"failed: {actions.clip(answer, 200)}", status="failed",
         answer=answer)
    return Command(goto="__end__", update={"final_answer": answer, "status": "failed",
                                           "usage": usage})
