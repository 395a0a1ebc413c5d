"""The detached supervisor and the server under it (``python -m agent_graphs.local_model``).

``supervise`` starts ``serve`` (llama.cpp's OpenAI server on loopback) as a child that the
kernel kills when the supervisor dies (``PR_SET_PDEATHSIG``), records both in the state
file, then polls for an *exclusive* lock on ``users.lock``: once it has held it (nobody
using the server) for ``--idle`` seconds, or on SIGTERM, it stops the server, removes its
state file and exits. :func:`agent_graphs.local_model.ensure_server` starts it.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent_graphs.local_model.server import _IDLE_DEFAULT, _read_state

_N_CTX = 4096


def _server_argv(model: str, port: int) -> list[str]:
    threads = str(os.cpu_count() or 1)
    return [
        sys.executable, "-m", "agent_graphs.local_model", "serve", "--model", model,
        "--host", "127.0.0.1", "--port", str(port), "--model_alias", "local",
        "--n_ctx", str(_N_CTX), "--n_threads", threads, "--n_threads_batch", threads,
        # Logits only for the last token: nothing here asks for prompt logprobs.
        "--logits_all", "False",
    ]  # fmt: skip


def _serve(argv: list[str]) -> None:
    """Run ``llama_cpp.server`` with ``argv``, without llama.cpp's extra weight buffers.

    NOTE: with the extra buffer types (AMX, repacked Q4_K) llama.cpp 0.3.36 segfaults on
    the first multi-token batch on an AMX-capable CPU here; plain CPU buffers work.
    ``AGENT_GRAPHS_LLAMA_EXTRA_BUFTS=1`` keeps them where they work.
    """
    import llama_cpp.llama_cpp as capi
    from llama_cpp.server.__main__ import main as serve

    if os.environ.get("AGENT_GRAPHS_LLAMA_EXTRA_BUFTS") != "1":
        defaults = capi.llama_model_default_params

        def params() -> Any:
            values = defaults()
            values.use_extra_bufts = False
            return values

        capi.llama_model_default_params = params
    sys.argv = ["llama_cpp.server", *argv]
    serve()


def _die_with(parent: int) -> Callable[[], None]:
    """Return a pre-exec hook making the kernel SIGKILL the child when ``parent`` dies."""

    def hook() -> None:
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the hook ran
            os._exit(1)

    return hook


def _supervise(args: argparse.Namespace) -> int:
    state_path = Path(args.state)
    server = subprocess.Popen(
        _server_argv(args.model, args.port),
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with(os.getpid()),
    )
    state = {
        "pid": os.getpid(), "server_pid": server.pid, "port": args.port,
        "base_url": f"http://127.0.0.1:{args.port}/v1", "model": args.model, "log": args.log,
    }  # fmt: skip
    partial = state_path.with_name(state_path.name + ".partial")
    partial.write_text(json.dumps(state))
    os.replace(partial, state_path)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    poll = min(0.5, args.idle / 4)
    idle_since: float | None = None
    with open(args.users, "ab") as users:
        try:
            while not stopping and server.poll() is None:
                try:
                    fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    idle_since = None
                else:
                    idle_since = idle_since or time.monotonic()
                    if time.monotonic() - idle_since >= args.idle:
                        break  # keep the lock: new users wait until the state file is gone
                    fcntl.flock(users, fcntl.LOCK_UN)
                time.sleep(poll)
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            if _read_state(state_path) == state:  # not a successor's
                state_path.unlink(missing_ok=True)
    print(f"supervisor: server exited with {server.returncode}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the supervisor or the server under it; :func:`ensure_server` starts them."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:  # llama_cpp.server parses its own flags
        _serve(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m agent_graphs.local_model")
    sub = parser.add_subparsers(dest="command", required=True)
    supervise = sub.add_parser("supervise", help="run a llama.cpp server until unused")
    supervise.add_argument("--model", required=True)
    supervise.add_argument("--port", type=int, required=True)
    supervise.add_argument("--idle", type=float, default=_IDLE_DEFAULT)
    supervise.add_argument("--state", required=True)
    supervise.add_argument("--users", required=True)
    supervise.add_argument("--log", required=True)
    return _supervise(parser.parse_args(argv))
