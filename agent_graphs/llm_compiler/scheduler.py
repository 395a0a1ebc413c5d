"""The task scheduler of the LLM Compiler: no barriers, no polling.

A task starts when ITS dependencies are done, not when a wave or superstep is, and the
thread that learns something starts what it made ready, there and then: the worker whose
tool just finished starts the tasks that were waiting on it (and runs one of them itself,
so a chain of tasks hands over from one to the next without any thread waking up), and a
streaming planner's thread starts each task it hands over whose dependencies are done.
The scheduler's state is guarded by one lock; the loop (the node's thread) blocks on a
queue (no sleep, no poll) for what only it does: tasks of a whole plan, the end of the
plan, deadlines, and the bookkeeping after a start or a finish (``on_start`` and
``on_outcome``, where the events go out and the journal writes). Tools run in reused
daemon workers, at most ``max_concurrency`` at once; a failed or timed-out task fails only
the tasks that depend on it, each with a reason. Durability is the journal's job
(``journal.Journal``), fed through ``on_outcome``.

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
"""A streaming planner waits for a task it started to get going only while at most this
many run."""

_START_WAIT = 0.01
"""Longest the loop (and a streaming planner, see :meth:`Scheduler.yield_to_starts`)
waits for the workers just launched to get going."""


class _Countdown:
    """How many launched workers are not yet under way; ``wait`` returns once none is."""

    def __init__(self) -> None:
        self._n = 0
        self._lock = threading.Lock()
        self._none = threading.Event()
        self._none.set()

    def up(self) -> None:
        with self._lock:
            self._n += 1
            self._none.clear()

    def down(self) -> None:
        with self._lock:
            self._n -= 1
            if not self._n:
                self._none.set()

    def wait(self, timeout: float | None) -> None:
        if not self._none.is_set():
            self._none.wait(timeout)


def _skipped(step: Mapping[str, Any], dep: str, why: str) -> dict[str, Any]:
    return {"step_id": step["id"], "tool": step["tool"], "args": step["args"], "ok": False,
            "skipped": True, "error": f"not run: it depends on {dep}, which {why}"}


class Scheduler:
    """Run a DAG of tasks that may still be arriving, each as soon as it can run.

    Args:
        prepare: ``(task, outcomes) -> Prepared``, once per task when its dependencies are
            done, in whichever thread learnt that (the loop, the planner's, a worker's),
            under the scheduler's lock: resolves references and decides run/gate/fail.
        execute: ``action -> outcome``, in a worker thread: runs the tool (must not
            raise; an exception still only fails its own task).
        max_concurrency: Most actions running at once.
        finished: Outcomes known before the run (earlier rounds, a replayed journal).
        on_outcome: Called in the loop thread with each new outcome, in finishing order.
        on_accept: Called in the loop thread with each task added with ``announce``, in
            the order they came, before any ``on_start`` of it (so after it started, when
            it could: the task goes first, what is said about it after).
        on_start: Called in the loop thread with each action started, before its outcome.
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
        on_accept: Callable[[Mapping[str, Any]], None] | None = None,
        on_start: Callable[[dict[str, Any]], None] | None = None,
        held: bool = False,
        timeout: float | None = None,
        expired: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        if timeout is not None and expired is None:
            raise ValueError("a timeout needs expired(action) to say what a late task gives")
        self.prepare, self.execute = prepare, execute
        self.on_start, self.on_accept = on_start, on_accept
        self.timeout, self.expired = timeout, expired
        self._released = threading.Event()
        """Clear while held: ready tasks wait (until the journal is read back)."""
        if not held:
            self._released.set()
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
        self.ending = False
        """While outcomes are reported: the loop ends after them (nothing else can come)."""
        self._lock = threading.Lock()
        """Guards everything above and below: any thread may move the DAG forward."""
        self._queued: deque[tuple[str, dict[str, Any]]] = deque()
        self._missing: dict[str, set[str]] = {}
        self._dependents: defaultdict[str, list[str]] = defaultdict(list)
        self._events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, str, Any]] = []
        """(when, order, kind, payload): a running task's deadline, or a ``call_later``."""
        self._order = 0
        self._report: list[dict[str, Any]] = []
        """New outcomes for ``on_outcome``, in finishing order."""
        self._started: list[dict[str, Any]] = []
        """Actions started since the loop last reported, for ``on_start``."""
        self._accepted: list[Mapping[str, Any]] = []
        """Tasks to announce since the loop last reported, for ``on_accept``."""
        self._starting = _Countdown()
        """Workers launched and still on their way to their tools."""
        self._starting_elsewhere = _Countdown()
        """The same, launched by other threads than a streaming planner's."""

    @property
    def held(self) -> bool:
        """While held, ready tasks wait (until :meth:`release`)."""
        return not self._released.is_set()

    # --- inputs, from any thread ------------------------------------------------------------

    def add(self, task: Mapping[str, Any], *, announce: bool = False) -> None:
        """A task arrived; the loop takes it, and it starts once its dependencies are done.

        ``announce``: pass it to ``on_accept`` (a task the planner just wrote, not one
        replayed from a stored plan)."""
        self._events.put(("task", (task, announce)))

    def hand_over(self, task: Mapping[str, Any], wait: float | None = _START_WAIT, *,
                  announce: bool = False) -> None:
        """Take a task from a busy thread (a streaming planner) and start it from there if
        its dependencies are done; while few tasks run, let its worker get going (at most
        ``wait``): the first tasks are the ones a run waits for. Once a few run, the
        planner streams on: on a wide plan, waiting for every worker stretched the plan
        itself (a planner at 50 µs a token: 200 tasks planned in 0.44 s instead of 0.1)."""
        with self._lock:
            self._accept(task, announce)
            self._pump(elsewhere=False)
            few = len(self.running) <= _HAND_OVER_WHILE_FEWER
            held = self.held and bool(self._queued)
        self._wake()
        if held:
            # The node is still setting up (reading the journal back): it needs the GIL
            # that a planner parsing its stream would keep for up to 5 ms at a time.
            self._released.wait(wait)
        elif few:
            self._starting.wait(wait)

    def yield_to_starts(self, wait: float | None = _START_WAIT) -> None:
        """Wait (at most ``wait``) while tasks that another thread just launched (a fan-out
        a finished task made ready) are still getting to their tools.

        For a busy thread of the same process (a streaming planner parsing chunks): with
        one GIL, every chunk it parses while a fan-out of ready tasks is being started
        delays those tasks, which are on the DAG's critical path; the plan's next chunk
        can wait a fraction of a millisecond.
        """
        self._starting_elsewhere.wait(wait)

    def close(self, error: BaseException | None = None) -> None:
        """No more tasks will arrive; with ``error``, start nothing new either."""
        self._events.put(("close", error))

    def release(self) -> None:
        """Let ready tasks start (e.g. from ``call_soon``, once the journal is read back)."""
        with self._lock:
            self._released.set()
            self._pump()
        self._wake()

    def restore(self, outcomes: list[dict[str, Any]]) -> None:
        """Take outcomes a crashed attempt already had (no ``on_outcome`` for them)."""
        with self._lock:
            for outcome in outcomes:
                self._finish(outcome, journal=False)
            self._pump()

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the loop thread (for callbacks of futures)."""
        self._events.put(("call", fn))

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the loop thread after ``delay`` seconds, if the loop still runs
        (call in the loop thread: its wait is worked out again before it blocks)."""
        with self._lock:
            self._timer(time.monotonic() + delay, "call", fn)

    def blocked(self) -> list[str]:
        """Tasks with no outcome that are not held for a person: they wait on one."""
        with self._lock:
            return [sid for sid in self.steps
                    if sid not in self.outcomes and sid not in self.gated]

    def _wake(self) -> None:
        self._events.put(("wake", None))

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Block until the plan is closed and nothing runs or waits for a free slot.

        Tasks held for a person (``gated``) and the tasks that depend on them stay
        unfinished; ``run`` may be called again after more events.
        """
        while True:
            with self._lock:
                if self.closed and not self.running and not self._queued:
                    break
                due = self._timers[0][0] if self._timers else None
            self._handle(*self._next(due))  # blocks until an event or a deadline: no polling
            # Everything that has already arrived is taken before anything is reported,
            # so a burst of finished tasks goes to the journal as one write.
            while not self._events.empty():
                self._handle(*self._events.get())
            self._report_out()
        self._report_out()  # the last worker may have finished after the last report

    def _next(self, due: float | None) -> tuple[str, Any]:
        if due is None:
            return self._events.get()
        try:
            return self._events.get(timeout=max(0.0, due - time.monotonic()))
        except queue.Empty:
            return "timer", None

    def _handle(self, kind: str, payload: Any) -> None:
        if kind == "call":
            payload()
        with self._lock:
            if kind == "task":
                self._accept(*payload)
            elif kind == "close":
                self.closed = True
                if payload is not None:
                    self.error = payload
            calls = self._expire()
            self._pump()
        for call in calls:
            call()

    def _report_out(self) -> None:
        """Send the starts and outcomes out: after the tasks they made ready have started
        (waiting until their workers are under way: a fan-out of ready tasks is on the
        DAG's critical path), since events and journal writes (about a millisecond of
        the GIL each) can wait."""
        self._starting.wait(_START_WAIT)
        with self._lock:
            accepted, self._accepted = self._accepted, []
            started, self._started = self._started, []
            report, self._report = self._report, []
            self.ending = self.closed and not self.running and not self._queued
        if self.on_accept:
            for task in accepted:
                self.on_accept(task)
        if self.on_start:
            for action in started:
                self.on_start(action)
        if self.on_outcome:
            for outcome in report:
                self.on_outcome(outcome)

    # --- under the lock ---------------------------------------------------------------------

    def _timer(self, when: float, kind: str, payload: Any) -> None:
        self._order += 1
        heapq.heappush(self._timers, (when, self._order, kind, payload))

    def _expire(self) -> list[Callable[[], None]]:
        """Give up on tasks past their deadline; return the ``call_later`` calls now due."""
        now = time.monotonic()
        calls = []
        while self._timers:
            when, _, kind, payload = self._timers[0]
            finished = kind == "task" and payload[0] not in self.running
            if when > now and not finished:
                break
            heapq.heappop(self._timers)
            if kind == "call":
                calls.append(payload)
            elif not finished:
                sid, action = payload
                assert self.expired is not None
                self.running.discard(sid)
                self._finish(self.expired(action))
        return calls

    def _accept(self, task: Mapping[str, Any], announce: bool = False) -> None:
        sid = task["id"]
        if sid in self.steps:
            return  # a plan replayed after its stream: already scheduled
        self.steps[sid] = task
        if announce and self.on_accept:
            self._accepted.append(task)
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

    def _take(self) -> dict[str, Any] | None:
        """The next queued action, marked started, if one may start now."""
        if self.error is not None:
            self._queued.clear()  # the plan failed: finish what runs, start nothing new
        while not self.held and self._queued and len(self.running) < self.max_concurrency:
            sid, action = self._queued.popleft()
            if sid in self.outcomes:
                continue  # read back from the journal while it waited
            self.running.add(sid)
            if self.timeout is not None:
                self._timer(time.monotonic() + self.timeout, "task", (sid, action))
            self._started.append(action)
            return action
        return None

    def _pump(self, *, elsewhere: bool = True) -> None:
        """Start every queued action that may start, each in a worker of its own.

        ``elsewhere``: launched by another thread than a streaming planner's (see
        :meth:`yield_to_starts`)."""
        while (action := self._take()) is not None:
            self._starting.up()
            if elsewhere:
                self._starting_elsewhere.up()
            # Each worker gets its own copy of the node's context (run config, stream
            # writer): one Context object cannot be entered by two threads at once.
            context = contextvars.copy_context()
            spawn(partial(context.run, self._work, action, elsewhere), name="task")

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

    # --- the workers ------------------------------------------------------------------------

    def _work(self, action: dict[str, Any], elsewhere: bool = True) -> None:
        """Run ``action``, start what its outcome made ready, and run one of those too."""
        self._starting.down()
        if elsewhere:
            self._starting_elsewhere.down()
        next_action: dict[str, Any] | None = action
        while next_action is not None:
            outcome = self._execute(next_action)
            with self._lock:
                next_action = None
                if outcome["step_id"] in self.running:  # not given up on already
                    self.running.discard(outcome["step_id"])
                    self._finish(outcome)
                    next_action = self._take()  # this thread is running already: no wake-up
                    self._pump()
            self._wake()  # the loop reports the outcome (and ends after the last one)

    def _execute(self, action: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.execute(action)
        except Exception as err:  # noqa: BLE001 - a broken tool fails its task, not the run
            return {"step_id": action["step_id"], "tool": action["tool"],
                    "args": action["args"], "ok": False,
                    "error": f"{type(err).__name__}: {err}"}
