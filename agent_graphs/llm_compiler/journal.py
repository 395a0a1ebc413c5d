"""Per-task durability for the LLM Compiler on LangGraph's functional API.

Finished tasks are written through a ``@task`` called inside the scheduling node: LangGraph
stores each call's result as the call completes, and a resume of the node gets stored
results back instead of running the calls again. But a ``@task`` result is stored under
its call position inside the node, not its arguments, and tasks finish in a different
order on every run: keyed by position, a resume would hand one task another's result. So
every entry names the tasks it holds, and the journal is read back by content.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

from langgraph._internal._constants import CONFIG_KEY_CALL, RETURN
from langgraph.config import get_config
from langgraph.pregel import _runner

__all__ = ["LOOKAHEAD", "Journal", "nothing_stored"]

LOOKAHEAD = 3
"""Fresh positions in a row that end the read-back (writes in flight at a crash are few)."""


class Journal:
    """Finished tasks written through a ``@task`` as they come, read back by content.

    The first writes are markers alone. On a fresh attempt of the node each comes
    straight back; on a resume, each call at a position an earlier attempt wrote returns
    what was written there (outcomes, or that attempt's marker), whatever it is passed
    now: the journal takes those outcomes and writes again at the next position. LangGraph
    persists writes in the background, so a crash can leave a gap (a later write on disk,
    an earlier one not): reading stops only after ``LOOKAHEAD`` positions in a row came
    back fresh. Only then is it ``replayed`` (the scheduler starts no task before: a task
    finished in the crashed attempt must not run again). An old entry met later (a wider
    gap) is still taken, and the write that met it is made again further on.

    One write is in flight at a time; outcomes that finish meanwhile go together in the
    next (group commit), so 200 tasks finishing at once cost a few writes, not 200. With
    ``call_later``, writes are also at least ``spacing`` seconds apart: a ``@task`` call
    costs LangGraph about a millisecond of the GIL, which the tasks and the planner's
    stream are waiting for (a wide DAG wrote 80 times in a run). What finishes within
    ``spacing`` of a crash may run again on resume, as a write in flight may today.

    Args:
        record: Calls the node's ``@task`` that returns its argument (its result is what
            LangGraph persists); must be called from the node's thread.
        call_soon: Runs a callback in the node's thread (``Scheduler.call_soon``).
        restore: Takes outcomes an earlier attempt wrote.
        replayed: Called once every earlier write has been read back.
        call_later: ``(delay, fn)``: runs ``fn`` in the node's thread after ``delay``
            (``Scheduler.call_later``); without it, writes are not spaced.
        spacing: Least seconds from one write to the next, once read back.
    """

    def __init__(
        self, record: Callable[[dict[str, Any]], Future[Any]],
        call_soon: Callable[[Callable[[], None]], None],
        restore: Callable[[list[dict[str, Any]]], None],
        replayed: Callable[[], None],
        call_later: Callable[[float, Callable[[], None]], None] | None = None,
        spacing: float = 0.0,
    ) -> None:
        self.record, self.call_soon, self.restore = record, call_soon, restore
        self.call_later, self.spacing = call_later, spacing
        self._sent_at = float("-inf")
        self._armed = False  # a call_later is on its way
        self._on_replayed: Callable[[], None] | None = replayed
        self._pending: list[dict[str, Any]] = []
        self._fresh = 0  # positions in a row that came back fresh while reading back
        self._inflight: tuple[str, list[dict[str, Any]], Future[Any]] | None = None

    def start(self) -> None:
        """Read back what an earlier attempt wrote, then let the tasks go (node thread).

        In a sync run a stored result comes back inside the call, so the read-back is
        done before this returns; otherwise ``replayed`` follows when the writes return.
        A first attempt, with no stored ``@task`` result at all, has nothing to read.
        """
        if nothing_stored():
            done, self._on_replayed = self._on_replayed, None
            if done is not None:
                done()
            return
        if not _stored_results_come_back_inline():
            self._send()
            return
        fresh = 0
        while fresh < LOOKAHEAD:
            marker = uuid.uuid4().hex
            future = self.record({"entry": marker, "outcomes": []})
            # Not done: a new position, being written now. Done with another marker: an
            # earlier attempt's write (a fresh write may also finish this fast: ours).
            if future.done() and (entry := future.result()).get("entry") != marker:
                self.restore(entry.get("outcomes") or [])
                fresh = 0
            else:
                fresh += 1
        done, self._on_replayed = self._on_replayed, None
        if done is not None:
            done()

    def add(self, outcome: dict[str, Any], *, hold: bool = False) -> None:
        """Write ``outcome`` now, or with the next write if one is in flight.

        ``hold``: keep it for :meth:`flush` without writing it now: the node is about to
        return it in its own update (a last write would only delay that).
        """
        self._pending.append(outcome)
        if self._inflight is None and not hold:
            self._send_when_due()

    def flush(self) -> None:
        """Write everything pending and wait for it (node thread)."""
        while self._inflight is not None or self._pending:
            if self._inflight is None:
                self._send()
            assert self._inflight is not None
            future = self._inflight[2]
            future.result()
            self._acked(future)

    def settle(self) -> None:
        """Wait for the write in flight, dropping what is not yet sent (node thread)."""
        self._pending.clear()
        if self._inflight is not None:
            future = self._inflight[2]
            future.result()
            self._acked(future, resend=False)

    def _send_when_due(self) -> None:
        """Send now, or once ``spacing`` has passed since the last write."""
        wait = self._sent_at + self.spacing - time.monotonic()
        if wait <= 0 or self.call_later is None or self._on_replayed is not None:
            self._send()
        elif not self._armed:
            self._armed = True
            self.call_later(wait, self._due)

    def _due(self) -> None:
        self._armed = False
        if self._inflight is None and self._pending:
            self._send()

    def _send(self) -> None:
        self._sent_at = time.monotonic()
        batch, self._pending = self._pending, []
        marker = uuid.uuid4().hex
        future = self.record({"entry": marker, "outcomes": batch})
        self._inflight = (marker, batch, future)
        future.add_done_callback(lambda f: self.call_soon(partial(self._acked, f)))

    def _acked(self, future: Future[Any], resend: bool = True) -> None:
        if self._inflight is None or self._inflight[2] is not future:
            return  # handled already (flush waited for it before its callback ran)
        marker, batch, _ = self._inflight
        self._inflight = None
        entry = future.result()
        if entry.get("entry") != marker:
            self._fresh = 0
            self.restore(entry.get("outcomes") or [])
            self._pending = batch + self._pending
            if resend:
                self._send()  # even with nothing pending: our own marker must come back
            return
        if self._on_replayed is not None:
            self._fresh += 1
            if self._fresh < LOOKAHEAD:
                if resend:
                    self._send_marker()
                return
            done, self._on_replayed = self._on_replayed, None
            done()
        if resend and self._pending:
            self._send_when_due()

    def _send_marker(self) -> None:
        """Probe the next position with a marker alone (outcomes wait until replayed)."""
        pending, self._pending = self._pending, []
        self._send()
        self._pending = pending


def nothing_stored() -> bool:
    """Whether this attempt of the node can get no stored ``@task`` result back.

    LangGraph keeps a step's stored writes in its loop (``checkpoint_pending_writes``),
    loaded from the checkpointer on a resume; a ``@task`` result is a ``RETURN`` write.
    None at all there means a first attempt, so the read-back (three write round trips,
    about 3 ms) can be skipped. Another node's ``@task`` in the same step only makes this
    answer "no": the read-back then runs as before.
    """
    # NOTE: this reads LangGraph's private call hook (the loop is the owner of its
    # ``schedule_task``); anything unexpected answers "no", which only costs the read-back.
    try:
        call: Any = get_config()["configurable"].get(CONFIG_KEY_CALL)
        writes = call.keywords["schedule_task"].__self__.checkpoint_pending_writes
        return not any(channel == RETURN for _, channel, _ in writes)
    except Exception:  # noqa: BLE001 - outside a run, or another LangGraph
        return False


def _stored_results_come_back_inline() -> bool:
    """Whether a ``@task`` result stored by an earlier attempt is handed back inside the call.

    LangGraph's sync runner (``_runner._call``) sets a stored result on the future before
    the call returns, so one look tells a stored position from a new one; the async
    runner resolves it later on the event loop, where only waiting tells them apart.
    """
    # NOTE: this reads LangGraph's private call hook; anything unexpected answers
    # "no", which only costs the slower read-back.
    try:
        call = get_config()["configurable"].get(CONFIG_KEY_CALL)
    except Exception:  # noqa: BLE001 - outside a run
        return False
    return isinstance(call, partial) and call.func is getattr(_runner, "_call", None)
