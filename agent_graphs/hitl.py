"""Human in the loop from Python: list what waits for a person, answer it, go on.

The CLI's ``approvals`` and ``resume`` commands are built on these functions::

    with open_saver("runs.sqlite") as saver:
        for request in pending_approvals(saver):
            print(request.thread_id, request.interrupt_id, request.tool, request.args)
        graph = compile_graph("plan_execute", saver)
        decide(graph, "thread-1", "approve")  # every request pending in the thread
        decide(graph, "thread-2", {"decisions": [{"type": "reject", "message": "no"}]})
"""

from __future__ import annotations

import getpass
from dataclasses import asdict, dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, StateSnapshot

from agent_graphs.approval import parse_decision
from agent_graphs.context import context_from
from agent_graphs.graphs import RECURSION_LIMIT, run_config, saved_context
from checkpoints import get_thread, list_threads

__all__ = ["PendingApproval", "decide", "find_approval", "pending_approvals", "resume_map",
           "who"]


@dataclass(frozen=True)
class PendingApproval:
    """One request waiting for a person's decision."""

    thread_id: str
    interrupt_id: str
    """What to answer by: ``decide(graph, thread_id, {interrupt_id: "approve"})``."""
    request: dict[str, Any]
    """What the graph asked: LangChain's ``action_requests`` / ``review_configs`` beside
    kind, tool, args, risk, reasons, why, step_id, delivery..."""
    graph_id: str | None = None

    @property
    def kind(self) -> str:
        """``tool_call`` or ``plan`` (or whatever a custom gate calls it)."""
        return str(self.request.get("kind", "tool_call"))

    def _action(self) -> dict[str, Any]:
        actions = self.request.get("action_requests") or [{}]
        return actions[0] if isinstance(actions[0], dict) else {}

    def _review(self) -> dict[str, Any]:
        configs = self.request.get("review_configs") or [{}]
        return configs[0] if isinstance(configs[0], dict) else {}

    @property
    def action(self) -> str | None:
        """The action's name in the protocol: the tool, ``plan``, ``draft``..."""
        return self._action().get("name") or self.request.get("tool")

    @property
    def tool(self) -> str | None:
        """The tool the agent wants to call (None for a plan)."""
        return self.request.get("tool")

    @property
    def args(self) -> dict[str, Any] | None:
        """The arguments it would run with (a plan's: ``{"steps": [...]}``)."""
        return self.request.get("args") or self._action().get("args")

    @property
    def description(self) -> str:
        """What the person reads: why it asks."""
        return str(self._action().get("description") or self.request.get("why") or "")

    @property
    def allowed_decisions(self) -> list[str]:
        """Decision types the person may give (approve, edit, reject)."""
        return list(self._review().get("allowed_decisions") or ["approve", "edit", "reject"])

    @property
    def args_schema(self) -> dict[str, Any] | None:
        """JSON schema an edit's arguments must fit, when the request gives one."""
        return self._review().get("args_schema")

    @property
    def risk(self) -> str | None:
        """The risk its owner declared for the tool (the highest in a plan)."""
        return self.request.get("risk")

    @property
    def reasons(self) -> list[str]:
        """Why the run asks: high risk, threshold, low confidence, token budget..."""
        return list(self.request.get("reasons") or [])

    @property
    def error(self) -> str | None:
        """Why the last answer was not applied (the request is still pending)."""
        return self.request.get("error")

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-able data: the stored request and the fields every graph's
        requests share, read from it."""
        return {**asdict(self), "kind": self.kind, "action": self.action, "args": self.args,
                "risk": self.risk, "reasons": self.reasons, "description": self.description,
                "allowed_decisions": self.allowed_decisions, "error": self.error}


def _request(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"kind": "question", "question": value}


def pending_approvals(
    saver: BaseCheckpointSaver, *, thread_id: str | None = None
) -> list[PendingApproval]:
    """Return every request waiting for a decision, across all threads of ``saver``.

    Args:
        saver: The checkpointer the runs were stored with (SQLite or in-memory).
        thread_id: Only this thread's requests.
    """
    infos = [get_thread(saver, thread_id)] if thread_id else list_threads(saver)
    return [
        PendingApproval(info.thread_id, str(item["id"]), _request(item["value"]), info.graph_id)
        for info in infos if info is not None
        for item in info.interrupts
    ]


def find_approval(saver: BaseCheckpointSaver, interrupt_id: str) -> PendingApproval | None:
    """Return the pending request with ``interrupt_id`` in any thread, or None."""
    return next((p for p in pending_approvals(saver) if p.interrupt_id == interrupt_id), None)


def who() -> str:
    """Name the person deciding: the OS user (for the audit trail)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "person"


def _signed(payload: Any, by: str | None) -> Any:
    """Put ``by`` into a decision that does not name its decider; leave bad ones as they are.

    A payload that does not parse is passed on unchanged: the gate reports the error and
    the run stays paused.
    """
    if not by or isinstance(payload, dict) and payload.get("by"):
        return payload
    try:
        decision = parse_decision(payload)
    except ValueError:
        return payload
    if isinstance(payload, dict):
        return {**payload, "by": by}
    return {"action": decision.action, "by": by}


def resume_map(
    pending: list[str], decisions: Any, *, by: str | None = None
) -> dict[str, Any]:
    """Build the ``Command(resume=...)`` map for ``pending`` interrupt ids.

    Args:
        pending: Ids of the interrupts waiting in the thread.
        decisions: ``{interrupt_id: payload}`` for some of them, or one payload for all.
        by: Who decides, put into each payload that does not say.

    Raises:
        ValueError: Nothing is pending, or an id is not pending.
    """
    if not pending:
        raise ValueError("nothing is waiting for a decision in this thread")
    if isinstance(decisions, dict) and decisions and set(decisions) & set(pending):
        if unknown := sorted(set(decisions) - set(pending)):
            raise ValueError(f"no pending request {unknown[0]!r}; pending: {', '.join(pending)}")
        chosen = decisions
    elif isinstance(decisions, dict) and decisions and all(
        len(k) == 32 and all(c in "0123456789abcdef" for c in k) for k in decisions
    ):
        raise ValueError(f"no pending request {sorted(decisions)[0]!r}; pending: "
                         f"{', '.join(pending)}")
    else:
        chosen = {i: decisions for i in pending}
    return {i: _signed(payload, by) for i, payload in chosen.items()}


def decide(
    graph: CompiledStateGraph,
    thread_id: str,
    decisions: Any,
    *,
    context: dict[str, Any] | None = None,
    by: str | None = None,
) -> StateSnapshot:
    """Answer pending requests of ``thread_id`` and run the thread on; return its new state.

    Requests not answered stay pending. The run reuses the settings the thread was
    started with (``context`` overrides them) and writes each checkpoint before the
    next step starts (``durability="sync"``).

    Args:
        graph: The thread's graph, compiled with the checkpointer that holds it.
        thread_id: The thread to continue.
        decisions: ``{interrupt_id: payload}``, or one payload for every pending request.
            A payload is LangChain's ``{"decisions": [{"type": "approve"} | {"type":
            "edit", "edited_action": {"name": ..., "args": {...}}} | {"type": "reject",
            "message": ...}]}``, or ``"approve"``, ``"reject"``, or ``{"action":
            "approve" | "reject" | "edit", "reason": ..., "args": {the arguments to
            change}}``. An answer that does not fit leaves its request pending, same id,
            with the error in it.
        context: Settings for the rest of the run, over the stored ones.
        by: Who decides, for the audit trail (default: the OS user).

    Raises:
        ValueError: No such thread, nothing pending, or an unknown interrupt id.
    """
    base: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    saver = graph.checkpointer
    tup = saver.get_tuple(base) if isinstance(saver, BaseCheckpointSaver) else None
    if tup is None:
        raise ValueError(f"no thread {thread_id!r}")
    pending = [i.id for i in graph.get_state(base).interrupts]
    command: Command[Any] = Command(resume=resume_map(pending, decisions, by=by or who()))
    settings = {**saved_context(tup), **(context or {})}
    graph_id = (tup.metadata or {}).get("graph_id")
    config: RunnableConfig = (
        run_config(thread_id, graph_id=str(graph_id), context=settings) if graph_id
        else {**base, "recursion_limit": RECURSION_LIMIT})
    graph.invoke(command, config, context=context_from(settings),  # type: ignore[call-overload]
                 durability="sync")
    return graph.get_state(base)
