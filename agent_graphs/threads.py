"""LangGraph's sync runs on reused worker threads instead of fresh ones per invoke.

Every sync ``invoke`` / ``stream`` of a graph with a checkpointer opens a
``BackgroundExecutor``, which asks ``langchain_core`` for a new thread pool; the pool
starts threads as the run submits nodes and checkpoint writes, and stops them when the
run ends. A planning-agent run (the graph and its reflection subgraph) started 8 threads
and spent 6.6 ms waiting in ``Thread.start`` (measured here: a new thread must get the
GIL to say it has started, and a checkpoint write holds it meanwhile), about a third of
the run's whole orchestration budget. The ``BackgroundExecutor`` keeps its own list of
what it submitted and waits for all of it when the run ends, so the threads themselves
need not be the run's own: :func:`install` hands it the daemon workers the tools already
reuse (``tools.runner``), which never refuse work (a busy pool gets a new thread, so a
node that waits for its subgraph cannot starve it).

A run configured with ``max_concurrency`` keeps LangGraph's bounded pool of its own.
Set ``AGENT_GRAPHS_FRESH_THREADS=1`` to leave LangGraph as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables import config as lc_config

from tools.runner import spawn

__all__ = ["ReusedThreads", "install"]


class ReusedThreads(Executor):
    """An executor on ``tools.runner``'s reused daemon threads; shutting it down is a
    no-op (the threads outlive any one run and leave when idle)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the future, as a pool does
                future.set_exception(exc)
            else:
                future.set_result(result)

        spawn(job, name="graph")
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Keep the shared threads: each run waits for its own work itself."""


_SHARED = ReusedThreads()
_original = lc_config.get_executor_for_config


@contextmanager
def _executor_for_config(config: RunnableConfig | None) -> Iterator[Executor]:
    if (config or {}).get("max_concurrency") is not None:
        with _original(config) as bounded:
            yield bounded
        return
    yield _SHARED


def install() -> bool:
    """Point LangGraph's ``BackgroundExecutor`` at the reused threads (idempotent).

    Returns whether it is in place: not when turned off, or when this LangGraph no
    longer builds its executor the way this module knows (then nothing changes).
    """
    if os.environ.get("AGENT_GRAPHS_FRESH_THREADS", "").strip() not in ("", "0"):
        return False
    try:
        from langgraph.pregel import _executor
    except ImportError:
        return False
    # NOTE: a private module of LangGraph; patch only the name it imported from
    # langchain_core, and only while it is still that function (or already ours).
    current = getattr(_executor, "get_executor_for_config", None)
    if current is _executor_for_config:
        return True
    if current is not _original or not hasattr(_executor, "BackgroundExecutor"):
        return False
    _executor.get_executor_for_config = _executor_for_config
    return True
