"""Finding or starting the machine's llama.cpp server for a GGUF file, and using it.

:func:`ensure_server` takes a shared ``flock`` on the server's ``users.lock`` for the life
of the process, then, under ``start.lock``, reuses the live server recorded in its state
file or starts a detached supervisor (``python -m agent_graphs.local_model supervise``,
see :mod:`agent_graphs.local_model.supervisor`) and waits until the server answers.
Runtime files (state, locks, log) live in ``run/`` under the cache directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from agent_graphs.local_model.weights import _cache_dir, _locked, resolve_gguf

_IDLE_DEFAULT = 60.0
_START_TIMEOUT = 180.0


@dataclass(frozen=True)
class _Paths:
    """The runtime files of the server for one GGUF file."""

    state: Path
    users: Path
    start: Path
    log: Path


@dataclass
class _Held:
    """This process's use of a server: its URL and the shared lock that keeps it alive."""

    base_url: str
    supervisor: int
    users: IO[bytes]


_held: dict[Path, _Held] = {}
_resolved: dict[str | None, Path] = {}
_children: list[subprocess.Popen[bytes]] = []


def _paths(gguf: Path) -> _Paths:
    tag = hashlib.sha256(str(gguf).encode()).hexdigest()[:10]
    base = _cache_dir() / "run" / f"{gguf.stem}-{tag}"
    exts = ("state.json", "users.lock", "start.lock", "log")
    return _Paths(*(base.with_name(f"{base.name}.{ext}") for ext in exts))


def ensure_server(spec: str | None = None) -> str:
    """Return the base URL (``http://127.0.0.1:PORT/v1``) of a server for ``spec``.

    Reuses the machine's server for that GGUF file if one is up, else starts one. The
    calling process counts as a user of the server until it exits. Cheap once called:
    later calls check only that the supervisor is still alive.

    Raises:
        RuntimeError: the server died or did not become ready; the message ends with the
            tail of its log.
    """
    if spec not in _resolved:
        _resolved[spec] = resolve_gguf(spec)
    gguf = _resolved[spec]
    held = _held.get(gguf)
    if held is not None and _alive(held.supervisor):
        return held.base_url
    if held is not None:
        held.users.close()
    paths = _paths(gguf)
    paths.state.parent.mkdir(parents=True, exist_ok=True)
    users = paths.users.open("ab")
    # NOTE: a supervisor that is shutting down holds the exclusive lock until it has
    # stopped its server and removed the state file, so this waits for that to finish.
    fcntl.flock(users, fcntl.LOCK_SH)
    try:
        with _locked(paths.start, fcntl.LOCK_EX):
            state = _running(paths)
            if state is None:
                state = _start(gguf, paths)
    except BaseException:
        users.close()
        raise
    _held[gguf] = _Held(base_url=state["base_url"], supervisor=state["pid"], users=users)
    return state["base_url"]


def server_state(spec: str | None = None) -> dict[str, Any] | None:
    """Return the recorded state of the server for ``spec`` (pids, port, URL, log), or None."""
    return _read_state(_paths(resolve_gguf(spec)).state)


def _running(paths: _Paths) -> dict[str, Any] | None:
    """Return the state of a live server, waiting for one still loading; None if none."""
    state = _read_state(paths.state)
    if state is None or not _alive(state["pid"]):
        return None
    if _healthy(state["base_url"]):
        return state
    # NOTE: its starter may have died while waiting; the supervisor may be loading still.
    try:
        _await_ready(state["base_url"], state["pid"], paths.log)
    except RuntimeError:
        _kill_group(state["pid"])
        return None
    return state


def _start(gguf: Path, paths: _Paths) -> dict[str, Any]:
    port = _free_port()
    idle = os.environ.get("AGENT_GRAPHS_LOCAL_IDLE", str(_IDLE_DEFAULT))
    argv = [sys.executable, "-m", "agent_graphs.local_model", "supervise", "--model", str(gguf)]
    argv += ["--port", str(port), "--idle", idle, "--state", str(paths.state)]
    argv += ["--users", str(paths.users), "--log", str(paths.log)]
    with paths.log.open("wb") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    _children.append(proc)  # kept so that an exited supervisor is reaped, not a zombie
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _await_ready(base_url, proc.pid, paths.log)
    except BaseException:
        _kill_group(proc.pid)
        raise
    state = _read_state(paths.state)
    if state is None or state["pid"] != proc.pid:
        raise RuntimeError(f"The supervisor wrote no state file at {paths.state}")
    return state


def _await_ready(base_url: str, pid: int, log: Path) -> None:
    timeout = float(os.environ.get("AGENT_GRAPHS_LOCAL_START_TIMEOUT", _START_TIMEOUT))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            raise RuntimeError(f"The llama.cpp server exited while starting.\n{_tail(log)}")
        if _healthy(base_url):
            return
        time.sleep(0.1)
    raise RuntimeError(f"The llama.cpp server was not ready after {timeout:.0f} s.\n{_tail(log)}")


def _healthy(base_url: str) -> bool:
    # An empty ProxyHandler: loopback must never go through an HTTP(S)_PROXY from the env.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url}/models", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    for child in _children:
        if child.pid == pid:
            return child.poll() is None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The state follows the parenthesised command name; Z is a zombie.
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(log: Path, lines: int = 20) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"(no log at {log})"
    return f"Last lines of {log}:\n" + "\n".join(text)
