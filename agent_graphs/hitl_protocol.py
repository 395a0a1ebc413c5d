"""LangChain's human-in-the-loop protocol, as this project's approval gate speaks it.

``HumanInTheLoopMiddleware`` (langchain v1, also Deep Agents) defined the shapes that
LangChain's UIs and their users' code read and write: a request is an ``HITLRequest``
and the answer a ``HITLResponse``, one decision per action, in order. The TypedDicts
below have the same fields as langchain's (tests/test_hitl_protocol.py compares them),
without making langchain a dependency. Each request here has one action, so a reviewer
tool written for the protocol approves this project's runs without knowing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, Discriminator, Field, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

__all__ = ["DECISION_TYPES", "ActionRequest", "Answer", "ApproveDecision", "Decision",
           "EditDecision", "EditedAction", "HITLRequest", "HITLResponse", "RejectDecision",
           "ReviewConfig", "hitl_request", "read_answer"]

DecisionType = Literal["approve", "edit", "reject"]
DECISION_TYPES: tuple[DecisionType, ...] = ("approve", "edit", "reject")
"""The decision types this gate applies (the protocol's ``respond`` has no meaning here)."""


class ActionRequest(TypedDict):
    """One action a person is asked about."""

    name: str
    """The tool's name (or ``plan``, ``draft``...: what the action is)."""
    args: dict[str, Any]
    """The arguments it would run with."""
    description: NotRequired[str]
    """What the person reads: why it asks."""


class ReviewConfig(TypedDict):
    """What a person may answer about one action."""

    action_name: str
    allowed_decisions: list[DecisionType]
    args_schema: NotRequired[dict[str, Any]]
    """JSON schema of the arguments an edit must fit (the tool's own)."""


class HITLRequest(TypedDict):
    """The protocol's part of an interrupt value."""

    action_requests: list[ActionRequest]
    review_configs: list[ReviewConfig]


class EditedAction(TypedDict):
    """The whole call an edit replaces the proposed one with."""

    name: str
    args: dict[str, Any]


class ApproveDecision(TypedDict):
    """Run the action as proposed."""

    type: Literal["approve"]


class EditDecision(TypedDict):
    """Run the action with these arguments instead."""

    type: Literal["edit"]
    edited_action: EditedAction


class RejectDecision(TypedDict):
    """Do not run it; the agent sees the message."""

    type: Literal["reject"]
    message: NotRequired[str]


ProtocolDecision = Annotated[ApproveDecision | EditDecision | RejectDecision,
                             Discriminator("type")]


class HITLResponse(TypedDict):
    """The protocol's answer: one decision per action, in order."""

    decisions: list[ProtocolDecision]


_DECISION: TypeAdapter[Any] = TypeAdapter(ProtocolDecision)


class Decision(BaseModel):
    """A person's answer to an approval request."""

    action: Literal["approve", "reject", "edit"] = Field(description="What to do")
    reason: str = Field(default="", description="Why; the agent sees it on reject")
    args: dict[str, Any] | None = Field(
        default=None, description="New tool arguments (or {'steps': [...]} for a plan)"
    )
    by: str = Field(default="", description="Who decided, for the audit trail")


class Answer(NamedTuple):
    """A decision as read from a resume payload, with how its edit is meant."""

    decision: Decision
    whole: bool = False
    """The edit's args are the whole call (protocol) rather than the changes (project)."""
    edited_name: str | None = None
    """The action a protocol edit names (must be the one asked about)."""


_WORDS: dict[str, Literal["approve", "reject"]] = {
    "approve": "approve", "approved": "approve", "yes": "approve", "y": "approve",
    "reject": "reject", "rejected": "reject", "no": "reject", "n": "reject",
}


def _problem(err: ValidationError, what: str) -> ValueError:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or what
    return ValueError(f"bad {what}: {first['msg']} at {where}")


def _protocol(item: Any, by: str) -> Answer:
    if isinstance(item, dict) and item.get("type") not in DECISION_TYPES:
        raise ValueError(f"unknown decision type {item.get('type')!r}; use approve, edit "
                         "or reject")
    try:
        found = _DECISION.validate_python(item)
    except ValidationError as err:
        raise _problem(err, "decision") from None
    if found["type"] == "edit":
        edited = found["edited_action"]
        return Answer(Decision(action="edit", args=dict(edited["args"]), by=by),
                      whole=True, edited_name=edited["name"])
    return Answer(Decision(action=found["type"], reason=found.get("message") or "", by=by))


def read_answer(payload: Any, *, actions: int = 1) -> Answer:
    """Read a resume payload in either form, or raise ValueError saying what is wrong.

    Args:
        payload: ``{"decisions": [...]}``, one protocol decision (``{"type": ...}``), a
            word (approve/reject, yes/no), a bool, or ``{"action": ..., "args": ...}``.
        actions: How many actions the request holds (decisions must match, in order).
    """
    if isinstance(payload, bool):
        return Answer(Decision(action="approve" if payload else "reject"))
    if isinstance(payload, str):
        if payload.strip().lower() in _WORDS:
            return Answer(Decision(action=_WORDS[payload.strip().lower()]))
        raise ValueError(f"unknown decision {payload!r}; use approve, reject or edit")
    if not isinstance(payload, dict):
        raise ValueError(f"a decision must be a string or an object, not "
                         f"{type(payload).__name__}")
    by = str(payload.get("by") or "")
    if "decisions" in payload:
        decisions = payload["decisions"]
        if not isinstance(decisions, list):
            raise ValueError("'decisions' must be a list: one decision per action, in order")
        if len(decisions) != actions:
            raise ValueError(f"expected {actions} decision{'s' * (actions != 1)} (one per "
                             f"action, in order), got {len(decisions)}")
        return _protocol(decisions[0], by)
    if "type" in payload and "action" not in payload:
        return _protocol(payload, by)
    try:
        decision = Decision.model_validate(payload)
    except ValidationError as err:
        raise _problem(err, "decision") from None
    if decision.action == "edit" and not decision.args:
        raise ValueError("an edit needs 'args': the arguments to change, as an object")
    return Answer(decision)


def _describe(request: dict[str, Any], name: str) -> str:
    why = str(request.get("why") or "").strip()
    reasons = "; ".join(str(r) for r in request.get("reasons") or [])
    text = why or f"{name} needs a person's decision"
    return f"{text} (asked because: {reasons})" if reasons else text


def hitl_request(
    request: dict[str, Any],
    *,
    name: str | None = None,
    args: dict[str, Any] | None = None,
    allowed: Sequence[str] | None = None,
    args_schema: dict[str, Any] | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Return ``request`` with the ``HITLRequest`` fields beside its own (kept if there).

    Args:
        request: The project's request: kind, tool, args, risk, reasons, why...
        name: The action's name (default: the request's ``tool``, else its ``kind``).
        args: The proposed arguments (default: the request's ``args``).
        allowed: Decision types the person may give (default: approve, edit, reject).
        args_schema: JSON schema of the arguments, for the person's UI and for edits.
        description: What the person reads (default: why, and the reasons it asks).

    Raises:
        ValueError: ``allowed`` is empty or names a type this gate cannot apply.
    """
    if "action_requests" in request and "review_configs" in request:
        return dict(request)
    decisions = list(dict.fromkeys(allowed or DECISION_TYPES))
    if not decisions or any(d not in DECISION_TYPES for d in decisions):
        raise ValueError(f"allowed decisions must be some of {', '.join(DECISION_TYPES)}, "
                         f"not {list(allowed or [])!r}")
    action = str(name or request.get("tool") or request.get("kind") or "decision")
    proposed = args if args is not None else request.get("args")
    config: dict[str, Any] = {"action_name": action, "allowed_decisions": decisions}
    if args_schema is not None:
        config["args_schema"] = args_schema
    return {
        **request,
        "action_requests": [{
            "name": action, "args": dict(proposed) if isinstance(proposed, dict) else {},
            "description": description or _describe(request, action)}],
        "review_configs": [config],
    }
