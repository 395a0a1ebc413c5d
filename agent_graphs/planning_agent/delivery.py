"""What the goal asks to do with the finished report (email it, save it), done once.

The same three halves as every gated call (``actions``): ``prepare_delivery`` lets the
executor pick the recipient or path from the results (the report itself is attached as
it is, whatever the model writes), ``review_delivery`` asks a person through the shared
gate when the policy says so, ``deliver`` runs the tool under its idempotency key (and
ends the run when nothing more is owed). Each half is its own node: a resume re-runs a
node from its top, so the model call, the question and the tool never share one.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent_graphs import actions
from agent_graphs.actions import clip
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.llm import ModelOutputError, forced_tool_call
from agent_graphs.models import chat_model
from agent_graphs.planning_agent import prompts
from agent_graphs.planning_agent.report_stage import CONTENT, final_text, finish, still_owed
from agent_graphs.planning_agent.state import State
from agent_graphs.tooling import ExtraTools, toolbox_for
from tools import ToolError

__all__ = ["CONTENT", "deliver", "prepare_delivery", "review_delivery", "still_owed"]

def prepare_delivery(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["review_delivery", "deliver", "finish"]]:
    """Fill in the next delivery call the goal asks for; the report is its content."""
    ctx = get_context(runtime)
    owed = still_owed(ctx, state)
    if not owed:
        return Command(goto="finish")
    tool, box = owed[0], toolbox_for(ctx, tools)
    field, text = CONTENT[tool], final_text(state, state["report"])
    listing = "\n".join(f"<result step='{sid}'>{clip(r.get('output'), 1500)}</result>"
                        for sid, r in (state.get("results") or {}).items())
    prompt = prompts.DELIVERY_PROMPT.format(tool=tool, content=field, goal=state["goal"],
                                            results=listing, report=clip(state["report"], 800))

    def check(args: dict[str, Any]) -> str | None:
        try:
            box.validate_args(tool, {**args, field: text})
        except ToolError as err:
            return str(err)
        return None

    step_id = f"deliver-{tool}"
    try:
        args, usage = forced_tool_call(chat_model(ctx, "executor"), box.get(tool),
                                       [HumanMessage(prompt)], check=check)
        action = actions.prepare(ctx, box, step_id=step_id, tool=tool,
                                 args={**args, field: text})
    except (ModelOutputError, ToolError) as err:
        failed = {"step_id": step_id, "tool": tool, "args": {}, "ok": False,
                  "error": f"could not prepare {tool}: {err}"}
        emit("delivery_failed", summary=f"FAILED {tool}: {clip(str(err), 160)}", tool=tool)
        return Command(goto="finish", update={"delivery": {tool: failed}})
    shown = {k: v for k, v in action["args"].items() if k != field}
    emit("delivery_prepared", summary=f"deliver {tool}({clip(shown, 140)})", tool=tool,
         args=shown)
    return Command(goto="review_delivery" if action["reasons"] else "deliver",
                   update={"pending": {step_id: action}, "usage": usage,
                           "tokens": {"executor": usage}})


def review_delivery(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["deliver", "prepare_delivery"]]:
    """Ask a person before the delivery (a HIGH tool always asks); a no is an outcome."""
    box = toolbox_for(get_context(runtime), tools)
    (sid, action), = state["pending"].items()
    shown = {k: v for k, v in action["args"].items() if k != CONTENT[action["tool"]]}
    approved, rejection, decision = actions.review(
        box, action, why=f"the goal asks for it: {clip(state['goal'], 160)}",
        goal=state["goal"], plan=[f"{action['tool']}({clip(shown, 160)}) with the report"],
        description=f"{action['tool']} the finished report ({clip(shown, 160)})")
    record = {"what": f"{action['tool']}({clip(shown, 120)})", "risk": action["risk"],
              "decision": decision.action, "by": decision.by, "reason": decision.reason}
    if rejection is not None:
        return Command(goto="prepare_delivery", update={
            "pending": {sid: None}, "delivery": {action["tool"]: dict(rejection)},
            "decisions": [record]})
    return Command(goto="deliver", update={"pending": {sid: approved}, "decisions": [record]})


def deliver(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["prepare_delivery", "__end__"]]:
    """Run the approved delivery once (its idempotency key makes a repeat a no-op); then
    prepare the next one the goal asks for, or end the run."""
    ctx = get_context(runtime)
    box = toolbox_for(ctx, tools)
    (sid, action), = state["pending"].items()
    outcome = actions.run(ctx, box, action)
    done = {action["tool"]: dict(outcome)}
    update = {"pending": {sid: None}, "delivery": done}
    after = {**state, "delivery": {**(state.get("delivery") or {}), **done}}
    if still_owed(ctx, after):
        return Command(goto="prepare_delivery", update=update)
    # NOTE: nothing more to deliver: the run ends here with finish's answer (going through
    # prepare_delivery and finish took two supersteps, ~2 ms, to do what these lines do)
    return Command(goto=END, update={**update, **finish(after, runtime)})  # type: ignore[arg-type]
