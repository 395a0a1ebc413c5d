"""The one human-approval gate every graph uses, and the policy that decides when to ask.

A resume payload may be ``"approve"`` / ``True``, ``"reject"`` / ``False``, or a dict
``{"action": "approve" | "reject" | "edit", "reason": str, "args": {...}, "by": str}``.
A payload that does not fit does not fail the run: the gate asks again, with the error in
the new request, so the run stays paused and nothing is lost. Requests and decisions go
to the audit trail beside the checkpoints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from langgraph.config import get_config
from langgraph.types import interrupt
from pydantic import BaseModel, Field, ValidationError

from agent_graphs.context import Context
from agent_graphs.events import emit
from checkpoints import audit

RISK_ORDER = {"low": 0, "medium": 1, "high": 2}


class Decision(BaseModel):
    """A person's answer to an approval request."""

    action: Literal["approve", "reject", "edit"] = Field(description="What to do")
    reason: str = Field(default="", description="Why; the agent sees it on reject")
    args: dict[str, Any] | None = Field(
        default=None, description="New tool arguments (or {'steps': [...]} for a plan)"
    )
    by: str = Field(default="", description="Who decided, for the audit trail")


_WORDS: dict[str, Literal["approve", "reject"]] = {
    "approve": "approve", "approved": "approve", "yes": "approve", "y": "approve",
    "reject": "reject", "rejected": "reject", "no": "reject", "n": "reject",
}


def parse_decision(payload: Any) -> Decision:
    """Turn a resume payload into a Decision, or raise ValueError saying what is wrong."""
    if isinstance(payload, bool):
        return Decision(action="approve" if payload else "reject")
    if isinstance(payload, str):
        if payload.strip().lower() in _WORDS:
            return Decision(action=_WORDS[payload.strip().lower()])
        raise ValueError(f"unknown decision {payload!r}; use approve, reject or edit")
    if isinstance(payload, dict):
        try:
            decision = Decision.model_validate(payload)
        except ValidationError as err:
            first = err.errors()[0]
            raise ValueError(f"bad decision: {first['msg']} at {first['loc']}") from None
        if decision.action == "edit" and not isinstance(decision.args, dict):
            raise ValueError("an edit needs 'args': the new arguments as an object")
        return decision
    raise ValueError(f"a decision must be a string or an object, not {type(payload).__name__}")


def gate_reasons(
    ctx: Context, *, risk: str, confidence: float | None = None, tokens_used: int = 0,
    budget_limit: int = 0,
) -> list[str]:
    """Say why a call needs a person's yes under ``ctx``'s strategies (empty: it doesn't).

    The risk comes from the tool's owner, never from the model; HIGH always asks.
    """
    reasons = []
    if risk == "high":
        reasons.append("high-risk tool: irreversible, always needs a person's yes")
    elif RISK_ORDER.get(risk, 2) >= RISK_ORDER[ctx.approval_risk]:
        reasons.append(f"{risk}-risk tool and approval_risk is {ctx.approval_risk}")
    if ctx.min_confidence > 0 and confidence is not None and confidence < ctx.min_confidence:
        reasons.append(f"planner confidence {confidence:.2f} is below {ctx.min_confidence:.2f}")
    if over_budget(ctx, tokens_used=tokens_used, budget_limit=budget_limit):
        reasons.append(
            f"{tokens_used} tokens used; the approved budget is {budget_limit or ctx.token_budget}"
        )
    return reasons


def over_budget(ctx: Context, *, tokens_used: int, budget_limit: int = 0) -> bool:
    """True when budget gating is on and the tokens used reach the approved budget."""
    return ctx.token_budget > 0 and tokens_used >= (budget_limit or ctx.token_budget)


def thread_id() -> str:
    """The id of the thread this node runs in (``no-thread`` without a checkpointer)."""
    return str(get_config().get("configurable", {}).get("thread_id", "no-thread"))


def request_approval(
    request: dict[str, Any], *, key: str, check_args: Callable[[dict[str, Any]], dict[str, Any]]
) -> Decision:
    """Pause the run until a person decides on ``request``; return a valid Decision.

    Args:
        request: What the person sees: kind, tool, args, risk, reasons, why, step.
        key: Stable id of this request (the call's idempotency key), for the audit trail.
        check_args: Validates edited arguments (raises with a readable message) and
            returns them cleaned; runs before anything executes.
    """
    thread = thread_id()
    audit.record("approval_requested", thread_id=thread, key=key, actor="agent", data=request)
    what = (f"plan of {len(request.get('steps') or [])} steps" if request.get("kind") == "plan"
            else str(request.get("tool") or request.get("kind") or "a decision"))
    emit("approval_requested", summary=f"needs approval: {what} ({request.get('risk')} risk)",
         level=1, **request)
    pending = request
    while True:
        # NOTE: on resume LangGraph replays this node; earlier interrupt() calls return
        # their stored answers in order, so a bad answer followed by a good one works.
        payload = interrupt(pending)
        try:
            decision = parse_decision(payload)
            if decision.action == "edit":
                decision.args = check_args(decision.args or {})
            break
        except Exception as err:  # noqa: BLE001 - any validation failure is reported back
            pending = {**request, "error": f"Your answer was not applied: {err}"}
    # A replayed node records the same decision once; a different answer given after a
    # crash re-asked the person is a new fact and is recorded too.
    answer = decision.model_dump()
    audit.record("approval_decided", thread_id=thread, key=key, actor=decision.by or "person",
                 data=answer, variant=json.dumps(answer, sort_keys=True, default=str))
    emit("approval_decided", summary=f"decision: {decision.action} {decision.reason}".rstrip(),
         level=1, key=key, action=decision.action, reason=decision.reason)
    return decision
