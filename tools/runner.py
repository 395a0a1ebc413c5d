"""Daemon worker threads for tool calls, reused from call to call.

``Toolbox.run`` runs each tool in a worker so it can give up on a tool after its timeout.
A ``ThreadPoolExecutor`` cannot serve: its threads are joined at interpreter exit, so a
hung tool would keep the process alive, and its fixed size would let hung tools starve
every later call. A fresh daemon thread per call has neither problem but costs about
0.3 ms to start, which a DAG of 200 small tool calls pays 200 times. So: daemon threads
that wait for the next call when they finish, and a new one whenever none is idle (a
tool stuck past its timeout just keeps its own thread). Idle threads exit after a while.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["spawn"]

_IDLE_SECONDS = 60.0
"""An idle worker exits after this long without work."""

_work: queue.SimpleQueue[Callable[[], Any]] = queue.SimpleQueue()
_lock = threading.Lock()
_idle = 0
"""Workers waiting for work and not yet promised to a call."""


def spawn(job: Callable[[], Any], name: str = "tool") -> None:
    """Run ``job()`` in a daemon worker thread (an idle one, or a new one).

    ``job`` must not raise: report its outcome through a future or a queue.
    """
    global _idle
    with _lock:
        if _idle:
            _idle -= 1  # this worker is promised to the job we are about to queue
            _work.put(job)
            return
    threading.Thread(target=_worker, args=(job,), name=f"tool-{name}", daemon=True).start()


def _worker(job: Callable[[], Any]) -> None:
    global _idle
    while True:
        job()
        with _lock:
            _idle += 1
        try:
            job = _work.get(timeout=_IDLE_SECONDS)
        except queue.Empty:
            with _lock:
                if _idle:  # nobody was promised this worker: leave
                    _idle -= 1
                    return
            # A job was promised to an idle worker while this one timed out: take it.
            job = _work.get()
