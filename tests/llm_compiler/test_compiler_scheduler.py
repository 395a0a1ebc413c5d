"""The scheduler, the streamed-plan reader and the task checks, without a graph."""

from __future__ import annotations

import json
import random
import threading
from concurrent.futures import Future
from typing import Any

import pytest

from agent_graphs.llm_compiler.planner import StepStream, TaskCheck
from agent_graphs.llm_compiler.journal import Journal
from agent_graphs.llm_compiler.scheduler import Scheduler
from agent_graphs.plans import plan_schema

WAIT = 10  # seconds a rendezvous may take before the test fails (never reached when it works)


def _dag(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        deps = sorted(rng.sample([f"t{j}" for j in range(i)], k=min(i, rng.randint(0, 3))))
        tasks.append({"id": f"t{i}", "tool": "x", "args": {}, "depends_on": deps})
    return tasks


def _topological_shuffle(tasks: list[dict[str, Any]], seed: int) -> list[str]:
    """A random order in which every task comes after its dependencies."""
    rng = random.Random(seed)
    done: list[str] = []
    left = {t["id"]: set(t["depends_on"]) for t in tasks}
    while left:
        ready = sorted(sid for sid, deps in left.items() if deps <= set(done))
        pick = rng.choice(ready)
        done.append(pick)
        del left[pick]
    return done


def _run(tasks, execute, *, max_concurrency=64, prepare=None, finished=None):
    sched = Scheduler(prepare=prepare or (lambda step, outcomes: ("run", {
        "step_id": step["id"], "tool": step["tool"], "args": step["args"]})),
        execute=execute, max_concurrency=max_concurrency, finished=finished)
    for t in tasks:
        sched.add(t)
    sched.close()
    sched.run()
    return sched


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_task_starts_only_after_its_own_dependencies_whatever_order_they_finish(seed):
    tasks = _dag(40, seed)
    order = _topological_shuffle(tasks, seed + 100)  # tasks finish in this order
    finished = {sid: threading.Event() for sid in order}
    log: list[tuple[str, str]] = []
    lock = threading.Lock()

    def execute(action):
        sid = action["step_id"]
        with lock:
            log.append(("start", sid))
        previous = order.index(sid) - 1
        if previous >= 0:
            assert finished[order[previous]].wait(WAIT), f"{sid} waited in vain"
        with lock:
            log.append(("end", sid))
        finished[sid].set()
        return {"step_id": sid, "tool": "x", "args": {}, "ok": True, "output": sid}

    sched = _run(tasks, execute)
    assert all(o["ok"] for o in sched.outcomes.values()) and len(sched.outcomes) == 40
    assert [sid for kind, sid in log if kind == "end"] == order
    for t in tasks:
        for dep in t["depends_on"]:
            assert log.index(("end", dep)) < log.index(("start", t["id"])), (t["id"], dep)
    # no barrier: some task started while a task that is not its dependency still ran
    overlaps = [t["id"] for t in tasks for other in tasks
                if other["id"] not in t["depends_on"] and other["id"] != t["id"]
                and log.index(("start", other["id"])) < log.index(("start", t["id"]))
                < log.index(("end", other["id"]))]
    assert overlaps


def test_concurrency_is_bounded_by_the_setting_and_used_up_to_it():
    running, peak = [0], [0]
    lock = threading.Lock()
    barrier = threading.Barrier(3, timeout=WAIT)  # passes only with 3 calls at once

    def execute(action):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        barrier.wait()
        with lock:
            running[0] -= 1
        return {"step_id": action["step_id"], "tool": "x", "args": {}, "ok": True, "output": ""}

    tasks = [{"id": f"t{i}", "tool": "x", "args": {}, "depends_on": []} for i in range(9)]
    sched = _run(tasks, execute, max_concurrency=3)
    assert all(o["ok"] for o in sched.outcomes.values())
    assert peak[0] == 3


def test_a_failure_fails_only_its_dependents_with_the_reason():
    tasks = [{"id": "a", "tool": "x", "args": {}, "depends_on": []},
             {"id": "b", "tool": "x", "args": {}, "depends_on": ["a"]},
             {"id": "c", "tool": "x", "args": {}, "depends_on": ["b"]},
             {"id": "d", "tool": "x", "args": {}, "depends_on": []},
             {"id": "e", "tool": "x", "args": {}, "depends_on": ["d"]}]
    ran: list[str] = []

    def execute(action):
        ran.append(action["step_id"])
        if action["step_id"] == "a":
            raise RuntimeError("boom")
        return {"step_id": action["step_id"], "tool": "x", "args": {}, "ok": True, "output": ""}

    sched = _run(tasks, execute)
    assert sorted(ran) == ["a", "d", "e"]
    assert "RuntimeError: boom" in sched.outcomes["a"]["error"]
    assert sched.outcomes["b"]["skipped"] and "depends on a" in sched.outcomes["b"]["error"]
    assert "depends on b" in sched.outcomes["c"]["error"]
    assert sched.outcomes["d"]["ok"] and sched.outcomes["e"]["ok"]


def test_tasks_arriving_while_others_run_start_at_once_and_known_results_are_not_rerun():
    first_started = threading.Event()
    ran: list[str] = []
    sched = Scheduler(
        prepare=lambda step, outcomes: ("run", {"step_id": step["id"], "tool": "x",
                                                "args": {}}),
        execute=lambda action: (ran.append(action["step_id"]), first_started.set(),
                                {"step_id": action["step_id"], "tool": "x", "args": {},
                                 "ok": True, "output": ""})[-1],
        max_concurrency=4,
        finished={"old": {"step_id": "old", "ok": True, "output": "kept"}})

    def planner() -> None:  # streams: the second task arrives only once the first runs
        sched.add({"id": "n1", "tool": "x", "args": {}, "depends_on": ["old"]})
        assert first_started.wait(WAIT)
        sched.add({"id": "n2", "tool": "x", "args": {}, "depends_on": ["n1"]})
        sched.close()

    thread = threading.Thread(target=planner)
    thread.start()
    sched.run()
    thread.join()
    assert ran == ["n1", "n2"]
    assert set(sched.new) == {"n1", "n2"}


def test_gated_tasks_are_held_with_their_dependents_while_the_rest_runs():
    tasks = [{"id": "mail", "tool": "send", "args": {}, "depends_on": []},
             {"id": "after", "tool": "x", "args": {}, "depends_on": ["mail"]},
             {"id": "free", "tool": "x", "args": {}, "depends_on": []}]

    def prepare(step, outcomes):
        kind = "gate" if step["tool"] == "send" else "run"
        return kind, {"step_id": step["id"], "tool": step["tool"], "args": {}}

    sched = _run(tasks, lambda a: {"step_id": a["step_id"], "tool": a["tool"], "args": {},
                                   "ok": True, "output": ""}, prepare=prepare)
    assert list(sched.gated) == ["mail"]
    assert sched.blocked() == ["after"]
    assert list(sched.outcomes) == ["free"]


def test_step_stream_hands_over_each_step_when_its_object_closes():
    steps = [{"id": "s1", "description": 'tricky "quotes" and } braces {', "tool": "search",
              "args": {"query": "a\\b \"c\" [d]", "nested": {"k": [1, {"x": "}"}]}},
              "depends_on": [], "expected_output": "x"},
             {"id": "s2", "description": "second", "tool": "calculator",
              "args": {"expression": "$s1 + 1"}, "depends_on": ["s1"], "expected_output": "y"}]
    text = json.dumps({"steps": steps})
    reader = StepStream()
    got: list[tuple[int, dict]] = []
    for i, ch in enumerate(text):  # one character at a time, the worst case
        got += [(i, step) for step in reader.feed(ch)]
    assert [s for _, s in got] == steps
    first_closed = text.index('"expected_output": "x"}') + len('"expected_output": "x"}') - 1
    assert got[0][0] == first_closed  # handed over on its closing brace, not at the end


def _check(done=(), max_tasks=5):
    schema = plan_schema(["search", "calculator"], max_tasks)
    [step_model] = schema.model_fields["steps"].annotation.__args__
    return TaskCheck(step_model=step_model, tools=["search", "calculator"], done=done,
                     max_tasks=max_tasks)


def _raw(sid, tool="search", deps=(), args=None):
    return {"id": sid, "description": "d", "tool": tool, "args": args or {"query": "q"},
            "depends_on": list(deps), "expected_output": "e"}


@pytest.mark.parametrize("plan, problem", [
    ([_raw("s1", deps=["s2"]), _raw("s2", deps=["s1"])], "depends on 's2', which does not"),
    ([_raw("s1", tool="fax")], "tool: Input should be"),
    ([_raw("s1", args={"query": "$s2"}, deps=["s2"]), _raw("s2")], "which does not exist"),
    ([_raw("s1", args={"query": "$s1"}, deps=["s1"])], "depends on itself"),
    ([_raw("s1"), _raw("s2", args={"query": "$s1"})], "does not list 's1' in depends_on"),
    ([_raw("s1"), _raw("s1")], "used more than once"),
])
def test_cycles_unknown_tools_and_forward_references_are_rejected_before_running(plan, problem):
    check = _check()
    accepted = [check.offer(raw) for raw in plan]
    assert accepted[-1] is None
    assert problem in "; ".join(check.problems)
    assert check.offer(_raw("s9")) is None  # after a problem nothing more is handed over


def test_a_replan_reusing_done_ids_is_renamed_and_its_references_follow():
    check = _check(done={"s1", "s2"})
    a = check.offer(_raw("s1"))
    b = check.offer(_raw("s3", args={"query": "$s1 and $s2"}, deps=["s1", "s2"]))
    assert a["id"] == "s1_2"
    assert b["depends_on"] == ["s1_2", "s2"]
    assert b["args"] == {"query": "${s1_2} and $s2"}
    assert not check.problems


class _Positions:
    """LangGraph's rule for @task calls in a node: a position written before returns what
    was written there, whatever it is passed now; a new position stores the argument."""

    def __init__(self, stored: dict[int, dict]) -> None:
        self.stored, self.calls, self.later = dict(stored), 0, []

    def record(self, entry: dict) -> Future:
        position, self.calls = self.calls, self.calls + 1
        self.stored.setdefault(position, entry)
        future: Future = Future()
        future.set_result(self.stored[position])
        return future

    def call_soon(self, fn) -> None:
        self.later.append(fn)

    def drain(self) -> None:
        while self.later:
            self.later.pop(0)()


def test_the_journal_reads_back_by_content_across_gaps_and_out_of_order_writes():
    old = {0: {"entry": "old-marker", "outcomes": []},
           1: {"entry": "old-1", "outcomes": [{"step_id": "a"}]},
           # position 2 never reached the disk before the crash; 3 did
           3: {"entry": "old-3", "outcomes": [{"step_id": "c"}]}}
    pos, restored, replayed = _Positions(old), [], []
    log = Journal(pos.record, pos.call_soon, restored.extend, lambda: replayed.append(True))
    log.start()
    log.add({"step_id": "x"})  # finished while reading back
    pos.drain()
    # read past the gap at 2 until LOOKAHEAD fresh positions in a row (4, 5, 6)
    assert [o["step_id"] for o in restored] == ["a", "c"] and replayed == [True]
    assert pos.stored[2]["outcomes"] == [{"step_id": "x"}]  # the first fresh position
    assert [pos.stored[p]["outcomes"] for p in (4, 5, 6)] == [[], [], []]
    pos.stored[8] = {"entry": "old-8", "outcomes": [{"step_id": "z"}]}  # a wider gap
    log.add({"step_id": "y"})  # position 7
    log.add({"step_id": "w"})  # position 8 answers with the old entry: w goes to 9
    log.flush()
    assert [o["step_id"] for o in restored] == ["a", "c", "z"]
    assert pos.stored[7]["outcomes"] == [{"step_id": "y"}]
    assert pos.stored[9]["outcomes"] == [{"step_id": "w"}] and replayed == [True]


def test_journal_writes_are_spaced_and_what_finishes_meanwhile_goes_in_one_write():
    pos, timers = _Positions({}), []
    log = Journal(pos.record, pos.call_soon, lambda outs: None, lambda: None,
                  call_later=lambda delay, fn: timers.append((delay, fn)), spacing=60.0)
    log.start()
    pos.drain()  # the read-back's markers go unspaced: tasks wait for them
    assert len(pos.stored) == 3 and not timers

    def written() -> list[list[str]]:
        return [[o["step_id"] for o in e["outcomes"]] for e in pos.stored.values()
                if e["outcomes"]]

    log.add({"step_id": "a"})  # the last marker went just now: a waits for the spacing
    for sid in ("b", "c"):
        log.add({"step_id": sid})
        pos.drain()
    assert written() == []
    [(delay, due)] = timers  # one timer for all three
    assert 59.0 < delay <= 60.0
    due()
    pos.drain()
    assert written() == [["a", "b", "c"]]
    log.add({"step_id": "d"})  # flush (an error ends the run) does not wait for the spacing
    log.flush()
    assert written() == [["a", "b", "c"], ["d"]]


def test_a_plan_longer_than_the_limit_is_cut_not_refused():
    check = _check(max_tasks=2)
    kept = [check.offer(_raw(f"s{i}")) for i in range(1, 5)]
    assert [t["id"] for t in kept if t] == ["s1", "s2"]
    assert check.truncated and not check.problems


def test_a_handed_over_task_has_started_when_hand_over_returns():
    # A streaming planner hands each task over and starts it from its own thread when it
    # is ready, then lets its worker get going, so the GIL passes to the worker at once.
    release = threading.Event()
    entered: list[str] = []

    class Recording(Scheduler):
        def _work(self, action, elsewhere=True):
            entered.append(action["step_id"])
            super()._work(action, elsewhere)

    sched = Recording(
        prepare=lambda step, outcomes: ("run", {"step_id": step["id"], "tool": "x",
                                                "args": {}}),
        execute=lambda action: (release.wait(WAIT), {"step_id": action["step_id"], "tool": "x",
                                                     "args": {}, "ok": True, "output": ""})[-1],
        max_concurrency=4)
    seen: dict[str, list[str]] = {}

    def planner() -> None:
        sched.hand_over({"id": "a", "tool": "x", "args": {}, "depends_on": []}, wait=None)
        seen["after a"] = list(entered)
        # not ready (waits on a): handed back at once, not started
        sched.hand_over({"id": "b", "tool": "x", "args": {}, "depends_on": ["a"]}, wait=None)
        seen["after b"] = list(entered)
        release.set()
        sched.close()

    thread = threading.Thread(target=planner)
    thread.start()
    sched.run()
    thread.join()
    assert seen == {"after a": ["a"], "after b": ["a"]}
    assert set(sched.new) == {"a", "b"}


def test_a_task_past_its_deadline_is_given_up_and_its_slot_freed_while_it_still_runs():
    release = threading.Event()
    ran: list[str] = []

    def execute(action):
        ran.append(action["step_id"])
        if action["step_id"] == "hang":
            release.wait(WAIT)  # still running when the next task starts
        return {"step_id": action["step_id"], "tool": "x", "args": {}, "ok": True,
                "output": "late" if action["step_id"] == "hang" else "fine"}

    sched = Scheduler(
        prepare=lambda step, outcomes: ("run", {"step_id": step["id"], "tool": "x",
                                                "args": {}}),
        execute=execute, max_concurrency=1, timeout=0.2,
        expired=lambda action: {"step_id": action["step_id"], "tool": "x", "args": {},
                                "ok": False, "error": "x timed out after 0.2 seconds"})
    for t in [{"id": "hang", "tool": "x", "args": {}, "depends_on": []},
              {"id": "next", "tool": "x", "args": {}, "depends_on": []},
              {"id": "after", "tool": "x", "args": {}, "depends_on": ["hang"]}]:
        sched.add(t)
    sched.close()
    try:
        sched.run()  # returns although "hang" never finished: one slot, and "next" ran
    finally:
        release.set()
    assert ran == ["hang", "next"]
    assert sched.outcomes["hang"]["error"] == "x timed out after 0.2 seconds"
    assert sched.outcomes["next"]["ok"]
    assert "hang, which timed out" in sched.outcomes["after"]["error"]
    with pytest.raises(ValueError, match="expired"):
        Scheduler(prepare=lambda s, o: ("fail", {}), execute=execute, max_concurrency=1,
                  timeout=1.0)


def test_a_finished_task_starts_its_dependents_itself_while_the_loop_is_busy():
    # The worker whose tool finished starts what waited on it and runs one of those itself:
    # the DAG goes on while the loop is busy (here reporting x, as with a journal write),
    # and no thread has to wake up between two tasks of a chain.
    x_reported, b_started = threading.Event(), threading.Event()
    ran_on: dict[str, int] = {}

    def execute(action):
        ran_on[action["step_id"]] = threading.get_ident()
        if action["step_id"] == "a":
            assert x_reported.wait(WAIT)  # a finishes while the loop is busy with x
        if action["step_id"] == "b":
            b_started.set()
        return {"step_id": action["step_id"], "tool": "x", "args": {}, "ok": True,
                "output": ""}

    def on_outcome(outcome):
        if outcome["step_id"] == "x":
            x_reported.set()
            assert b_started.wait(WAIT), "b waited for the loop"

    sched = Scheduler(prepare=lambda step, outcomes: ("run", {
        "step_id": step["id"], "tool": step["tool"], "args": step["args"]}),
        execute=execute, max_concurrency=4, on_outcome=on_outcome)
    for sid, deps in (("x", []), ("a", []), ("b", ["a"]), ("c", ["b"])):
        sched.add({"id": sid, "tool": "x", "args": {}, "depends_on": deps})
    sched.close()
    sched.run()
    assert set(sched.new) == {"x", "a", "b", "c"}
    assert ran_on["a"] == ran_on["b"] == ran_on["c"]


def test_announced_tasks_are_told_in_order_and_before_they_are_said_to_start():
    said: list[tuple[str, str]] = []
    sched = Scheduler(
        prepare=lambda step, outcomes: ("run", {"step_id": step["id"], "tool": "x",
                                                "args": {}}),
        execute=lambda action: {"step_id": action["step_id"], "tool": "x", "args": {},
                                "ok": True, "output": ""},
        max_concurrency=4, on_accept=lambda task: said.append(("planned", task["id"])),
        on_start=lambda action: said.append(("started", action["step_id"])))
    planner = threading.Thread(target=lambda: [
        sched.hand_over({"id": "a", "tool": "x", "args": {}, "depends_on": []}, announce=True),
        sched.hand_over({"id": "b", "tool": "x", "args": {}, "depends_on": ["a"]},
                        announce=True),
        sched.add({"id": "c", "tool": "x", "args": {}, "depends_on": []}),  # replayed
        sched.close()])
    planner.start()
    sched.run()
    planner.join()
    assert [sid for kind, sid in said if kind == "planned"] == ["a", "b"]
    for sid in "ab":
        assert said.index(("planned", sid)) < said.index(("started", sid))
    assert ("started", "c") in said


def test_a_task_handed_over_while_held_waits_for_the_release_not_for_the_planner():
    # While the node reads the journal back, a task the planner hands over cannot start:
    # the planner waits for the release (out of the node's way) instead of parsing on.
    sched = Scheduler(
        prepare=lambda step, outcomes: ("run", {"step_id": step["id"], "tool": "x",
                                                "args": {}}),
        execute=lambda action: {"step_id": action["step_id"], "tool": "x", "args": {},
                                "ok": True, "output": ""},
        max_concurrency=4, held=True)
    returned = threading.Event()
    planner = threading.Thread(target=lambda: (sched.hand_over(
        {"id": "a", "tool": "x", "args": {}, "depends_on": []}, wait=None), returned.set()))
    planner.start()
    assert not returned.wait(0.2)  # held: still waiting
    sched.release()
    assert returned.wait(WAIT)
    planner.join()
    sched.close()
    sched.run()
    assert set(sched.new) == {"a"}
