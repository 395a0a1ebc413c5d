"""The task scheduler of the LLM Compiler: no barriers, no polling.

Everything the scheduler learns arrives as an event on one queue: a task from the
planner's stream, the end of the plan, a finished tool call, a journal write coming back.
The loop blocks on that queue (no sleep, no poll) and each event starts exactly the
tasks it made ready, so a task starts when ITS dependencies are done, not when a wave or
superstep is. Tools run in reused daemon workers, at most ``max_concurrency`` at once;
a failed or timed-out task fails only the tasks that depend on it, each with a reason.
Durability is the journal's job (``journal.Journal``), fed through ``on_outcome``.

With a ``timeout``, the scheduler gives up on a task itself: the loop's blocking wait
ends at the nearest deadline (still no polling), so a worker can run its tool directly
instead of handing it to one more thread that it then waits on with a timeout (a
hand-off that cost about a millisecond per task while the planner kept the GIL busy).
"""

from __future__ import annotations

import contextvars
import heapq
import queue
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal

from tools.runner import spawn

__all__ = ["Prepared", "Scheduler"]

Prepared = tuple[Literal["run", "gate", "fail"], dict[str, Any]]
"""What to do with a ready task: run this action, hold it for a person, or fail it."""


_HAND_OVER_WHILE_FEWER = 4
"""A streaming planner waits for each task to start only while fewer than this run."""

_START_WAIT = 0.01
"""Longest the loop (and a streaming planner, see :meth:`Scheduler.yield_to_starts`)
waits for the workers it has just launched to get going."""


def _skipped(step: Mapping[str, Any], dep: str, why: str) -> dict[str, Any]:
    return {"step_id": step["id"], "tool": step["tool"], "args": step["args"], "ok": False,
            "skipped": True, "error": f"not run: it depends on {dep}, which {why}"}


class Scheduler:
    """Run a DAG of tasks that may still be arriving, each as soon as it can run.

    Args:
        prepare: ``(task, outcomes) -> Prepared``, in the loop thread, once per task when
            its dependencies are done: resolves references and decides run/gate/fail.
        execute: ``action -> outcome``, in a worker thread: runs the tool (must not
            raise; an exception still only fails its own task).
        max_concurrency: Most actions running at once.
        finished: Outcomes known before the run (earlier rounds, a replayed journal).
        on_outcome: Called in the loop thread with each new outcome, in finishing order.
        on_start: Called in the loop thread with each action just handed to a worker.
        held: Start no task until :meth:`release`.
        timeout: Seconds after which a running task is given up on: its outcome is
            ``expired(action)`` and whatever its worker returns later is dropped (the
            worker's thread stays with the tool; the task's slot is freed).
        expired: ``action -> outcome`` of a task given up on (required with ``timeout``).
    """

    def __init__(
        self,
        *,
        prepare: Callable[[Mapping[str, Any], Mapping[str, dict[str, Any]]], Prepared],
        execute: Callable[[dict[str, Any]], dict[str, Any]],
        max_concurrency: int,
        finished: Mapping[str, dict[str, Any]] | None = None,
        on_outcome: Callable[[dict[str, Any]], None] | None = None,
        on_start: Callable[[dict[str, Any]], None] | None = None,
        held: bool = False,
        timeout: float | None = None,
        expired: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        if timeout is not None and expired is None:
            raise ValueError("a timeout needs expired(action) to say what a late task gives")
        self.prepare, self.execute = prepare, execute
        self.on_start = on_start
        self.timeout, self.expired = timeout, expired
        self.held = held
        """While held, ready tasks wait (until the journal is read back)."""
        self.max_concurrency = max(1, max_concurrency)
        self.on_outcome = on_outcome
        self.steps: dict[str, Mapping[str, Any]] = {}
        self.outcomes: dict[str, dict[str, Any]] = dict(finished or {})
        self.new: dict[str, dict[str, Any]] = {}
        """Outcomes learnt during this run (not the ones passed in as finished)."""
        self.gated: dict[str, dict[str, Any]] = {}
        self.running: set[str] = set()
        self.closed = False
        self.error: BaseException | None = None
        self._queued: deque[tuple[str, dict[str, Any]]] = deque()
        self._missing: dict[str, set[str]] = {}
        self._dependents: defaultdict[str, list[str]] = defaultdict(list)
        self._events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, str, Any]] = []
        """(when, order, kind, payload): a running task's deadline, or a ``call_later``."""
        self._order = 0
        self._report: list[dict[str, Any]] = []
        self._launched = False
        self._just_started: list[dict[str, Any]] = []
        self.ending = False
        """While outcomes are reported: the loop ends after them (nothing else can come)."""
        self._handed: dict[str, threading.Event] = {}
        """Tasks whose sender waits until they start (or cannot start yet)."""
        self._starting = 0
        self._starting_lock = threading.Lock()
        self._all_started = threading.Event()
        """Set while no launched worker is still on its way to its tool."""
        self._all_started.set()

    # --- thread-safe inputs ---------------------------------------------------------------

    def add(self, task: Mapping[str, Any]) -> None:
        """A task arrived (from any thread); it starts once its dependencies are done."""
        self._events.put(("task", task))

    def hand_over(self, task: Mapping[str, Any], wait: float | None = 0.05) -> None:
        """:meth:`add` from a busy thread (a streaming planner), then, while no task is
        running yet, wait until this one has started in its worker or was found not ready
        to start (at most ``wait``).

        NOTE: with one GIL, a thread that keeps computing (parsing the planner's stream)
        holds it until the interpreter's switch interval (5 ms) takes it away: the loop,
        then the worker, each waited that long to get going, so a ready task started 8-15
        ms after it was planned. Waiting here hands the GIL over at once, hop by hop.
        """
        if len(self.running) >= _HAND_OVER_WHILE_FEWER:  # a read of the loop's set: a hint
            # Many tasks run already: the planner keeps streaming (on a fan-out, waiting
            # at every task stretched its stream by ~1.5 ms a task).
            self.add(task)
            return
        handed = threading.Event()
        self._events.put(("task", (task, handed)))
        handed.wait(wait)

    def yield_to_starts(self) -> None:
        """Wait (briefly) while tasks just launched are still getting to their tools.

        For a busy thread of the same process (a streaming planner parsing chunks): with
        one GIL, every chunk it parses while a fan-out of ready tasks is being started
        delays those tasks, which are on the DAG's critical path; the plan's next chunk
        can wait a fraction of a millisecond.
        """
        if not self._all_started.is_set():
            self._all_started.wait(_START_WAIT)

    def close(self, error: BaseException | None = None) -> None:
        """No more tasks will arrive; with ``error``, start nothing new either."""
        self._events.put(("close", error))

    def release(self) -> None:
        """Let ready tasks start (call in the loop thread, e.g. from ``call_soon``)."""
        self.held = False

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the loop thread (for callbacks of futures)."""
        self._events.put(("call", fn))

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the loop thread after ``delay`` seconds (call in the loop thread),
        if the loop still runs then."""
        self._timer(time.monotonic() + delay, "call", fn)

    def _timer(self, when: float, kind: str, payload: Any) -> None:
        self._order += 1
        heapq.heappush(self._timers, (when, self._order, kind, payload))

    # --- the loop ---------------------------------------------------------------------------

    def restore(self, outcomes: list[dict[str, Any]]) -> None:
        """Take outcomes a crashed attempt already had (loop thread, or before ``run``)."""
        for outcome in outcomes:
            self._finish(outcome, journal=False)

    def run(self) -> None:
        """Block until the plan is closed and nothing runs or waits for a free slot.

        Tasks held for a person (``gated``) and the tasks that depend on them stay
        unfinished; ``run`` may be called again after more events.
        """
        while not (self.closed and not self.running and not self._queued):
            self._handle(*self._next())  # blocks until an event or a deadline: no polling
            self._expire()
            self._pump()
            # Everything that has already arrived is taken before anything is reported,
            # so a burst of finished tasks goes to the journal as one write.
            while not self._events.empty():
                self._handle(*self._events.get())
                self._pump()
            # Reported after the pump: the tasks an outcome made ready start first (the
            # loop waits until their workers are under way: a fan-out of ready tasks is
            # the DAG's critical path), then events go out and outcomes are journaled (a
            # journal write costs the loop about a millisecond).
            if self._launched:
                self._all_started.wait(_START_WAIT)
                self._launched = False
                if self.on_start:
                    for action in self._just_started:
                        self.on_start(action)
                self._just_started.clear()
            self.ending = self.closed and not self.running and not self._queued
            while self._report and self.on_outcome:
                self.on_outcome(self._report.pop(0))

    def _next(self) -> tuple[str, Any]:
        if not self._timers:
            return self._events.get()
        try:
            return self._events.get(timeout=max(0.0, self._timers[0][0] - time.monotonic()))
        except queue.Empty:
            return "timer", None

    def _expire(self) -> None:
        """Give up on tasks past their deadline and run the timers that are due."""
        now = time.monotonic()
        while self._timers:
            when, _, kind, payload = self._timers[0]
            finished = kind == "task" and payload[0] not in self.running
            if when > now and not finished:
                break
            heapq.heappop(self._timers)
            if kind == "call":
                payload()
            elif not finished:
                sid, action = payload
                assert self.expired is not None
                self.running.discard(sid)
                self._finish(self.expired(action))

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "task":
            if isinstance(payload, tuple):  # hand_over: told when it starts, or cannot yet
                payload, handed = payload
                self._handed[payload["id"]] = handed
            self._accept(payload)
        elif kind == "done":
            if payload["step_id"] in self.running:  # not given up on already
                self.running.discard(payload["step_id"])
                self._finish(payload)
        elif kind == "close":
            self.closed = True
            if payload is not None:
                self.error = payload
                self._queued.clear()
        elif kind == "call":
            payload()

    def blocked(self) -> list[str]:
        """Tasks with no outcome that are not held for a person: they wait on one."""
        return [sid for sid in self.steps if sid not in self.outcomes and sid not in self.gated]

    def _accept(self, task: Mapping[str, Any]) -> None:
        sid = task["id"]
        if sid in self.steps:
            return  # a plan replayed after its stream: already scheduled
        self.steps[sid] = task
        if sid in self.outcomes:
            return  # finished in a crashed attempt (journal) or an earlier round
        failed = next((d for d in task["depends_on"]
                       if d in self.outcomes and not self.outcomes[d]["ok"]), None)
        if failed is not None:
            self._finish(_skipped(task, failed, "failed"))
            return
        missing = {d for d in task["depends_on"] if d not in self.outcomes}
        if missing:
            self._missing[sid] = missing
            for dep in missing:
                self._dependents[dep].append(sid)
        else:
            self._ready(sid)

    def _ready(self, sid: str) -> None:
        kind, payload = self.prepare(self.steps[sid], self.outcomes)
        if kind == "run":
            self._queued.append((sid, payload))
        elif kind == "gate":
            self.gated[sid] = payload
        else:
            self._finish(payload)

    def _pump(self) -> None:
        if self.error is not None:
            self._queued.clear()  # the plan failed: finish what runs, start nothing new
        while not self.held and self._queued and len(self.running) < self.max_concurrency:
            sid, action = self._queued.popleft()
            if sid in self.outcomes:
                continue  # read back from the journal while it waited
            self.running.add(sid)
            self._launched = True
            if self.timeout is not None:
                self._timer(time.monotonic() + self.timeout, "task", (sid, action))
            # Each worker gets its own copy of the node's context (run config, stream
            # writer): one Context object cannot be entered by two threads at once.
            context = contextvars.copy_context()
            with self._starting_lock:
                self._starting += 1
                self._all_started.clear()
            spawn(partial(context.run, self._work, action, self._handed.pop(sid, None)),
                  name="task")
            self._just_started.append(action)  # on_start once the workers are under way
        for handed in self._handed.values():  # waiting on dependencies, a slot or a person
            handed.set()
        self._handed.clear()

    def _work(self, action: dict[str, Any], handed: threading.Event | None = None) -> None:
        with self._starting_lock:
            self._starting -= 1
            if not self._starting:
                self._all_started.set()
        if handed is not None:
            handed.set()
        try:
            outcome = self.execute(action)
        except Exception as err:  # noqa: BLE001 - a broken tool fails its task, not the run
            outcome = {"step_id": action["step_id"], "tool": action["tool"],
                       "args": action["args"], "ok": False,
                       "error": f"{type(err).__name__}: {err}"}
        self._events.put(("done", outcome))

    def _finish(self, outcome: dict[str, Any], *, journal: bool = True) -> None:
        work = [(outcome, journal)]
        while work:  # a worklist, not recursion: a failure may cascade down a long chain
            outcome, journal = work.pop()
            sid = outcome["step_id"]
            if sid in self.outcomes:
                continue  # a replayed journal entry and a fresh run of the same task
            self.outcomes[sid] = self.new[sid] = outcome
            self.gated.pop(sid, None)
            if journal and self.on_outcome:
                self._report.append(outcome)
            for dependent in self._dependents.pop(sid, []):
                if dependent in self.outcomes:
                    continue
                if not outcome["ok"]:
                    self._missing.pop(dependent, None)
                    why = "timed out" if "timed out" in str(outcome.get("error")) else "failed"
                    work.append((_skipped(self.steps[dependent], sid, why), True))
                    continue
                missing = self._missing.get(dependent)
                if missing is not None:
                    missing.discard(sid)
                    if not missing:
                        del self._missing[dependent]
                        self._ready(dependent)
