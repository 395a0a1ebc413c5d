"""The one human-approval gate every graph uses: ``interrupt()`` until a valid decision.

A resume payload may be ``"approve"`` / ``True``, ``"reject"`` / ``False``, or a dict
``{"action": "approve" | "reject" | "edit", "reason": str, "args": {...}}``. A payload
that does not fit does not fail the run: the gate asks again, with the error in the new
request, so the run stays paused and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from langgraph.types import interrupt
from pydantic import BaseModel, Field, ValidationError

from agent_graphs.events import emit


class Decision(BaseModel):
    """A person's answer to an approval request."""

    action: Literal["approve", "reject", "edit"] = Field(description="What to do")
    reason: str = Field(default="", description="Why; the agent sees it on reject")
    args: dict[str, Any] | None = Field(
        default=None, description="New tool arguments, required for edit"
    )


_WORDS = {
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
            raise ValueError(f"bad decision: {err.errors()[0]['msg']} at {err.errors()[0]['loc']}")
        if decision.action == "edit" and not isinstance(decision.args, dict):
            raise ValueError("an edit needs 'args': the new tool arguments as an object")
        return decision
    raise ValueError(f"a decision must be a string or an object, not {type(payload).__name__}")


def request_approval(
    request: dict[str, Any], *, check_args: Callable[[dict[str, Any]], dict[str, Any]]
) -> Decision:
    """Pause the run until a person decides on ``request``; return a valid Decision.

    Args:
        request: What the person sees: tool, args, risk, why, step.
        check_args: Validates edited arguments (raises with a readable message) and
            returns them cleaned; runs before anything executes.
    """
    emit("approval_requested", **request)
    pending = request
    while True:
        # NOTE: on resume LangGraph replays this node; earlier interrupt() calls return
        # their stored answers in order, so a bad answer followed by a good one works.
        payload = interrupt(pending)
        try:
            decision = parse_decision(payload)
            if decision.action == "edit":
                decision.args = check_args(decision.args or {})
            return decision
        except Exception as err:  # noqa: BLE001 - any validation failure is reported back
            pending = {**request, "error": f"Your answer was not applied: {err}"}
