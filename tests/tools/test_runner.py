"""The tool workers: reused between calls, and a hung tool never blocks the next call."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from tools import runner


def _run(job) -> object:
    done: Future[object] = Future()
    runner.spawn(lambda: done.set_result(job()))
    return done.result(timeout=10)


def test_sequential_calls_reuse_one_worker_instead_of_starting_threads(monkeypatch):
    _run(lambda: None)  # at least one idle worker now
    started: list[str] = []

    class Counted(threading.Thread):
        def start(self) -> None:
            started.append(self.name)
            super().start()

    # NOTE: other idle workers (graph runs share them) may take a job too: what matters
    # is that no call starts a thread
    monkeypatch.setattr(runner.threading, "Thread", Counted)
    idents = {_run(lambda: threading.current_thread().ident) for _ in range(20)}
    assert started == []
    assert idents and all(ident is not None for ident in idents)


def test_a_stuck_job_keeps_its_own_worker_and_the_next_job_gets_another():
    release = threading.Event()
    stuck_started = threading.Event()

    def stuck() -> None:
        stuck_started.set()
        release.wait()

    runner.spawn(stuck)
    stuck_started.wait(10)
    try:
        assert _run(lambda: "ran") == "ran"  # not queued behind the stuck job
    finally:
        release.set()


def test_workers_are_daemons_so_a_hung_tool_cannot_keep_the_process_alive():
    assert _run(lambda: threading.current_thread().daemon) is True
