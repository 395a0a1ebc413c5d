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

With ``durability="sync"`` (the CLI's), the loop waits for each step's checkpoint write
right after submitting it: that write runs in the loop's own thread instead (the writes
of finished tasks, which a running node's ``@task`` calls make too, still go to workers).

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
from langgraph._internal._constants import CONFIG_KEY_DURABILITY

from tools.runner import spawn

__all__ = ["ReusedThreads", "install"]


class ReusedThreads(Executor):
    """An executor on ``tools.runner``'s reused daemon threads; shutting it down is a
    no-op (the threads outlive any one run and leave when idle).

    Args:
        inline_puts: Run the step's checkpoint write in the submitting thread (see
            :func:`_executor_for_config`).
    """

    def __init__(self, *, inline_puts: bool = False) -> None:
        self.inline_puts = inline_puts

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

        if self.inline_puts and _is_checkpoint_put(args):
            job()
        else:
            spawn(job, name="graph")
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Keep the shared threads: each run waits for its own work itself."""


def _is_checkpoint_put(args: tuple[Any, ...]) -> bool:
    """Whether a ``BackgroundExecutor`` submission is the loop's checkpoint write.

    It submits ``(context.run, fn, *args)``; the write is the sync loop's
    ``_checkpointer_put_after_previous`` (which waits for the step's earlier writes)."""
    # NOTE: a private method of LangGraph's loop, looked up by name: if it is renamed,
    # the write just goes to a worker thread as before.
    fn = args[0] if args else None
    return getattr(fn, "__name__", None) == "_checkpointer_put_after_previous"


_SHARED = ReusedThreads()
_SYNC = ReusedThreads(inline_puts=True)
_original = lc_config.get_executor_for_config


@contextmanager
def _executor_for_config(config: RunnableConfig | None) -> Iterator[Executor]:
    """The run's executor: LangGraph's bounded pool for ``max_concurrency``, else the
    reused threads. With ``durability="sync"`` the loop waits for each step's checkpoint
    write as soon as it has submitted it, so the write runs in the loop's own thread:
    handing it to a worker and waiting cost two thread wake-ups and GIL hand-offs
    (measured: 1.0-1.3 ms a step for a 0.2-0.3 ms SQLite write)."""
    if (config or {}).get("max_concurrency") is not None:
        with _original(config) as bounded:
            yield bounded
        return
    configurable = (config or {}).get("configurable") or {}
    yield _SYNC if configurable.get(CONFIG_KEY_DURABILITY) == "sync" else _SHARED


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
