"""The one human-approval gate every graph uses, and the policy that decides when to ask.

Requests speak LangChain's human-in-the-loop protocol (``HumanInTheLoopMiddleware``,
langchain v1): the interrupt value is an ``HITLRequest`` (``action_requests`` and
``review_configs``, see :mod:`agent_graphs.hitl_protocol`) beside the project's own
fields (kind, tool, args, risk, reasons, why, step, plan, goal, idempotency key,
delivery). Answers are accepted in either form (:func:`parse_decision`):

- ``{"decisions": [{"type": "approve"} | {"type": "edit", "edited_action": {"name",
  "args"}} | {"type": "reject", "message": "..."}]}``, one decision per action (one
  here), or that one decision alone; ``edited_action.args`` is the whole new call;
- ``"approve"`` / ``True``, ``"reject"`` / ``False``, or ``{"action": "approve" |
  "reject" | "edit", "reason": str, "args": {...}, "by": str}``, where an edit names
  only the arguments to change and is merged with the proposed ones.

An answer that does not fit (a decision type the action does not allow, a wrong count,
edited arguments the tool refuses) does not fail the run: the request stays pending
under the SAME interrupt id, with the error in it, so nothing is lost and a UI holding
the id can answer again. Requests and decisions go to the audit trail beside the
checkpoints, and their progress events are emitted once, not again when the node
replays on resume.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from langgraph.config import get_config
from langgraph.errors import GraphBubbleUp, GraphInterrupt
from langgraph.types import Interrupt, interrupt

from agent_graphs.context import Context
from agent_graphs.events import emit
from agent_graphs.hitl_protocol import DECISION_TYPES, Decision, hitl_request, read_answer
from checkpoints import audit

__all__ = ["DECISION_TYPES", "Decision", "gate_reasons", "hitl_request", "over_budget",
           "parse_decision", "request_approval", "thread_id"]

RISK_ORDER = {"low": 0, "medium": 1, "high": 2}

def parse_decision(payload: Any, request: dict[str, Any] | None = None) -> Decision:
    """Turn a resume payload into a Decision, or raise ValueError saying what is wrong.

    Args:
        payload: The answer, in the protocol's form or the project's (module docstring).
        request: The request it answers (as :func:`hitl_request` shaped it). With it,
            the decision type must be one the action allows, the count must match its
            actions, an edit may not switch the action, and an edit in the project's
            form is merged with the proposed arguments; the returned ``args`` are the
            whole call, still to be checked against the tool's schema.
    """
    answer = read_answer(payload, actions=len(request["action_requests"]) if request else 1)
    decision = answer.decision
    if request is None:
        return decision
    action = request["action_requests"][0]
    allowed = request["review_configs"][0]["allowed_decisions"]
    if decision.action not in allowed:
        raise ValueError(f"{decision.action!r} is not allowed for {action['name']}; "
                         f"allowed: {', '.join(allowed)}")
    if decision.action == "edit":
        if answer.edited_name is not None and answer.edited_name != action["name"]:
            raise ValueError(f"edited_action.name is {answer.edited_name!r}, not "
                             f"{action['name']!r}: an edit cannot switch the action")
        if not answer.whole:  # name the arguments to change; keep the others
            decision.args = {**action["args"], **(decision.args or {})}
    return decision


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


def _announce(kind: str, *, thread: str, key: str, actor: str, data: dict[str, Any],
              event: dict[str, Any], variant: str = "") -> None:
    """Emit ``event`` unless the audit trail already holds this record; then record it.

    The trail outlives the process, so a node replayed after a resume or a crash finds
    its records there and does not announce them again. The event goes first: a crash
    between the two shows it twice rather than never (the record itself is written once).
    """
    same = json.loads(json.dumps(data, default=str))
    if not any(not variant or r.data == same
               for r in audit.find(kind, key, thread_id=thread)):
        emit(**event)
    audit.record(kind, thread_id=thread, key=key, actor=actor, data=data, variant=variant)


def _ask_again(value: dict[str, Any]) -> NoReturn:
    """Leave the request pending under the id it had, with ``value``, after a bad answer.

    ``interrupt()`` numbers a node's interrupts by how many answers the task holds, and
    stores the answers with the task when it pauses. Forgetting the bad answer (in memory
    and in the stored answers) and pausing at the same slot keeps the interrupt id, so a
    UI holding it can answer again; a second ``interrupt()`` call would take a new slot
    and a new id. NOTE: uses LangGraph internals (checked with langgraph 1.2 by
    tests/test_hitl_protocol.py, which fails if they change).
    """
    from langgraph._internal._constants import (
        CONFIG_KEY_CHECKPOINT_NS,
        CONFIG_KEY_SCRATCHPAD,
        CONFIG_KEY_SEND,
        RESUME,
    )
    from langgraph.types import _interrupt_id

    conf = get_config()["configurable"]
    answers: list[Any] = conf[CONFIG_KEY_SCRATCHPAD].resume
    slot = len(answers) - 1  # the bad answer is the last one this node took
    del answers[slot:]
    conf[CONFIG_KEY_SEND]([(RESUME, list(answers))])  # replaces the stored answers
    same_id = _interrupt_id(conf[CONFIG_KEY_CHECKPOINT_NS], slot)
    raise GraphInterrupt((Interrupt(value=value, id=same_id),))


def _what(request: dict[str, Any]) -> str:
    if request.get("kind") == "plan":
        return f"plan of {len(request.get('steps') or [])} steps"
    return str(request["action_requests"][0]["name"])


def request_approval(
    request: dict[str, Any],
    *,
    key: str,
    check_args: Callable[[dict[str, Any]], dict[str, Any]],
    name: str | None = None,
    args: dict[str, Any] | None = None,
    allowed: Sequence[str] | None = None,
    args_schema: dict[str, Any] | None = None,
    description: str | None = None,
) -> Decision:
    """Pause the run until a person decides on ``request``; return a valid Decision.

    Args:
        request: What the person sees: kind, tool, args, risk, reasons, why, step...
        key: Stable id of this request (the call's idempotency key), for the audit trail.
        check_args: Validates the whole edited arguments (raises with a readable
            message) and returns them cleaned; runs before anything executes.
        name: The action's name in the protocol (default: the request's tool or kind).
        args: The proposed arguments (default: the request's ``args``).
        allowed: Decision types the person may give (default: approve, edit, reject).
        args_schema: JSON schema of the arguments, shown to the person and their UI.
        description: What the person reads (default: the request's why and reasons).
    """
    asked = hitl_request(request, name=name, args=args, allowed=allowed,
                         args_schema=args_schema, description=description)
    thread = thread_id()
    try:
        payload = interrupt(asked)
    except GraphInterrupt:  # no answer yet: this is when a person is asked
        _announce("approval_requested", thread=thread, key=key, actor="agent", data=asked,
                  event={"event": "approval_requested", "level": 1, **asked, "summary":
                         f"needs approval: {_what(asked)} ({asked.get('risk')} risk)"})
        raise
    try:
        decision = parse_decision(payload, asked)
        if decision.action == "edit":
            decision.args = check_args(decision.args or {})
    except GraphBubbleUp:
        raise
    except Exception as err:  # noqa: BLE001 - any validation failure is reported back
        emit("approval_answer_invalid", summary=f"answer not applied: {err}", level=1,
             key=key, error=str(err))
        _ask_again({**asked, "error": f"Your answer was not applied: {err}"})
    # A replayed node records the same decision once; a different answer given after a
    # crash re-asked the person is a new fact and is recorded (and shown) too.
    answer = decision.model_dump()
    _announce("approval_decided", thread=thread, key=key, actor=decision.by or "person",
              data=answer, variant=json.dumps(answer, sort_keys=True, default=str),
              event={"event": "approval_decided", "level": 1, "key": key,
                     "summary": f"decision: {decision.action} {decision.reason}".rstrip(),
                     "action": decision.action, "reason": decision.reason})
    return decision
