"""Gated actions, once for every graph: prepare a tool call, ask a person if the policy
says so, run it with a timeout, audit it.

The three halves are separate functions so a graph puts them in separate nodes (or
tasks): LangGraph re-runs an interrupted node from its start on resume, so the model
call that prepared an action must not live in the node that asks for approval, and the
tool must not run in it either. A prepared :class:`Action` carries everything the later
halves need, including its idempotency key, so it travels through graph state.

Keys are unique per action across subgraphs and parallel branches: thread, the
namespace of the (sub)graph the action runs in, the step id and the attempt. Two
subgraphs of one thread that both run a step ``s1`` get different keys, so the outbox
sends both emails and the audit trail keeps both records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.config import get_config
from pydantic import BaseModel
from typing_extensions import NotRequired, TypedDict

from agent_graphs.approval import (
    DECISION_TYPES,
    Decision,
    gate_reasons,
    request_approval,
    thread_id,
)
from agent_graphs.context import Context
from agent_graphs.events import emit
from checkpoints import audit
from tools import Risk, Toolbox, ToolError, ToolTimeout

__all__ = ["Action", "Outcome", "action_key", "clip", "prepare", "review", "run", "scope",
           "timed_out"]

_OUTPUT_CHARS = 300


class Action(TypedDict):
    """A validated tool call, ready to be approved and run."""

    step_id: str
    tool: str
    args: dict[str, Any]
    risk: str
    """Declared by the tool's owner: low, medium or high."""
    key: str
    """Idempotency key: the tool ignores a repeat, the audit trail records it once."""
    reasons: list[str]
    """Why a person must approve it first (empty: it runs at once)."""
    approved_by: NotRequired[str]


class Outcome(TypedDict):
    """What happened when an action ran (or why it did not)."""

    step_id: str
    tool: str
    args: dict[str, Any]
    ok: bool
    output: NotRequired[str]
    error: NotRequired[str]
    rejected: NotRequired[bool]
    """A person said no; ``error`` holds their reason."""
    key: NotRequired[str]
    risk: NotRequired[str]
    approved_by: NotRequired[str]


def clip(value: Any, limit: int = 1500) -> str:
    """Return ``value`` as text of at most about ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + " …[truncated]"


def scope() -> str:
    """Name the (sub)graph the current node runs in: its checkpoint namespace path.

    LangGraph gives each task a namespace ``parent:task|...|node:task``; dropping the
    node's own segment leaves the path of the graph it belongs to (``""`` at the root),
    which is the same for every node of one subgraph run and differs between subgraphs.
    """
    ns = str(get_config().get("configurable", {}).get("checkpoint_ns", ""))
    return "|".join(ns.split("|")[:-1])


def action_key(step_id: str, attempt: int = 1) -> str:
    """Return the idempotency key of attempt ``attempt`` at step ``step_id`` in this run."""
    parts = [thread_id(), scope(), step_id, str(attempt)]
    return ":".join(p for p in parts if p)


def prepare(
    ctx: Context,
    box: Toolbox,
    *,
    step_id: str,
    tool: str,
    args: Mapping[str, Any],
    attempt: int = 1,
    confidence: float | None = None,
    tokens_used: int = 0,
    budget_limit: int = 0,
) -> Action:
    """Validate a call and decide whether it needs a person's yes.

    Raises:
        ToolError: Unknown tool or arguments the tool's schema refuses; nothing is asked.
    """
    clean = box.validate_args(tool, dict(args))
    risk = box.risk(tool).value
    return Action(
        step_id=step_id, tool=tool, args=clean, risk=risk, key=action_key(step_id, attempt),
        reasons=gate_reasons(ctx, risk=risk, confidence=confidence, tokens_used=tokens_used,
                             budget_limit=budget_limit),
    )


def _args_schema(box: Toolbox, tool: str) -> dict[str, Any] | None:
    """The JSON schema of ``tool``'s model-visible arguments (None: it has none to show)."""
    schema = box.get(tool).tool_call_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema()
    return dict(schema) if isinstance(schema, Mapping) else None


def review(
    box: Toolbox, action: Action, *, why: str, goal: str, plan: list[str] | None = None,
    allowed: Sequence[str] | None = None, description: str | None = None,
) -> tuple[Action, Outcome | None, Decision]:
    """Ask a person about ``action``; return it as approved (or edited), or a rejection.

    The request carries the tool's argument schema (``args_schema``): the same one that
    constrains the model and checks an edit. A person may approve, reject or edit; a
    tool whose schema cannot check an edit (a plain JSON schema) allows approve and
    reject only, unless ``allowed`` says otherwise.

    Returns:
        The action to run (with ``approved_by``; edited args already validated), the
        outcome of a rejection (None when approved), and the decision itself.
    """
    schema = _args_schema(box, action["tool"])
    given = box.get(action["tool"]).args_schema
    checkable = isinstance(given, type) and issubclass(given, BaseModel)
    decision = request_approval(
        {
            "kind": "tool_call",
            "tool": action["tool"],
            "args": action["args"],
            "risk": action["risk"],
            "reasons": action["reasons"],
            "why": why,
            "step_id": action["step_id"],
            "plan": plan or [],
            "goal": goal,
            "idempotency_key": action["key"],
            "delivery": box.delivery(action["tool"]),
            "how_to_answer": "approve | reject (+reason) | edit with the arguments to change",
        },
        key=action["key"],
        check_args=lambda args: box.validate_args(action["tool"], args),
        allowed=allowed or (DECISION_TYPES if checkable else ("approve", "reject")),
        args_schema=schema,
        description=description,
    )
    if decision.action == "reject":
        why_not = f"a person rejected the call to {action['tool']}"
        outcome = Outcome(
            step_id=action["step_id"], tool=action["tool"], args=action["args"], ok=False,
            rejected=True, key=action["key"], risk=action["risk"],
            error=why_not + (f": {decision.reason}" if decision.reason else ""),
        )
        return action, outcome, decision
    approved = Action(**{**action, "approved_by": decision.by or "person"})
    if decision.action == "edit" and decision.args is not None:
        approved["args"] = decision.args
    return approved, None, decision


def run(ctx: Context, box: Toolbox, action: Action, *, events: bool = True,
        inline: bool = False) -> Outcome:
    """Run ``action``'s tool with the run's timeout; a failure is an outcome, not a crash.

    MEDIUM and HIGH calls are written to the audit trail (once per key). ``events=False``
    leaves the progress events to a caller that reports the call itself. ``inline=True``
    runs the tool in this thread with no timeout: the caller gives up on it after
    ``ctx.tool_timeout`` and answers with :func:`timed_out` (the LLM Compiler's scheduler).
    """
    if events:
        emit("tool_called", summary=f"call   {action['tool']}({clip(action['args'], 140)})",
             level=1, step_id=action["step_id"], tool=action["tool"], args=action["args"])
    base = Outcome(step_id=action["step_id"], tool=action["tool"], args=action["args"],
                   ok=True, key=action["key"], risk=action["risk"])
    if "approved_by" in action:
        base["approved_by"] = action["approved_by"]
    try:
        output = box.run(action["tool"], action["args"], idempotency_key=action["key"],
                         timeout=None if inline else ctx.tool_timeout)
        outcome = Outcome(**base, output=output)
    except ToolError as err:
        outcome = Outcome(**{**base, "ok": False}, error=str(err))
    _audit(action, outcome)
    if not events:
        return outcome
    text = outcome.get("output") or outcome.get("error") or ""
    mark = "ok" if outcome["ok"] else "FAILED"
    emit("step_finished", summary=f"{mark:<6} {' '.join(clip(text, 150).split())}", level=1,
         step_id=action["step_id"], ok=outcome["ok"], output=clip(text, _OUTPUT_CHARS))
    return outcome


def timed_out(ctx: Context, action: Action) -> Outcome:
    """The outcome of a call given up on after ``ctx.tool_timeout`` (see ``run(inline=)``).

    Worded as ``Toolbox.run``'s own timeout, and audited like any other outcome: the
    trail keeps one record per key, so a call that ends later is not recorded again.
    """
    outcome = Outcome(step_id=action["step_id"], tool=action["tool"], args=action["args"],
                      ok=False, key=action["key"], risk=action["risk"],
                      error=str(ToolTimeout(
                          f"{action['tool']} timed out after {ctx.tool_timeout:g} seconds")))
    if "approved_by" in action:
        outcome["approved_by"] = action["approved_by"]
    _audit(action, outcome)
    return outcome


def _audit(action: Action, outcome: Outcome) -> None:
    """Write a MEDIUM or HIGH call's outcome to the audit trail (once per key)."""
    if action["risk"] != Risk.LOW.value:
        audit.record(
            "tool_executed", thread_id=thread_id(), key=action["key"],
            actor=action.get("approved_by", "agent"),
            data={"tool": action["tool"], "args": action["args"], "risk": action["risk"],
                  "ok": outcome["ok"],
                  "result": outcome.get("output") or outcome.get("error")},
        )
