"""One command for LangGraph Studio: ``python -m agent_graphs.dev [--port P] [langgraph dev args]``.

Starts ``langgraph dev`` on loopback, offline by default, on a port chosen here rather
than by langgraph (which silently moves to a random port when the one asked for is
taken). Prints the API and Studio URLs, then becomes the ``langgraph dev`` process.

- Offline: ``LANGGRAPH_CLI_NO_ANALYTICS=1``, ``LANGGRAPH_NO_VERSION_CHECK=1`` and, unless
  ``LANGSMITH_API_KEY`` is set, ``LANGSMITH_TRACING=false``. A user's own values win.
- Port: ``--port P`` must be free (else exit 2); without it 2024 if free, else any free one.
- Same files as the CLI: ``langgraph.json`` resolves its paths against the project root,
  so the server runs there; the database, outbox and workspace stay where the CLI puts
  them when run from the folder this command was started in (pinned as absolute paths).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
from pathlib import Path

__all__ = ["main", "pick_port", "server_env"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 2024
STUDIO = "https://smith.langchain.com/studio/?baseUrl={url}"
_PINNED = {  # env var -> default path relative to where the command runs (as in the CLI)
    "AGENT_GRAPHS_DB": Path(".agent_graphs") / "checkpoints.sqlite",
    "AGENT_GRAPHS_OUTBOX": Path(".agent_graphs") / "outbox.jsonl",
    "AGENT_GRAPHS_WORKSPACE": Path("workspace"),
}


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Say whether ``host:port`` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(requested: int | None = None, host: str = "127.0.0.1") -> int:
    """Return ``requested`` if free (else raise), or 2024 if free, or a free port."""
    if requested is not None:
        if not port_is_free(requested, host):
            raise OSError(f"port {requested} on {host} is in use; pick another with --port")
        return requested
    if port_is_free(DEFAULT_PORT, host):
        return DEFAULT_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_env(environ: dict[str, str], cwd: Path) -> dict[str, str]:
    """Return the server's environment: offline defaults, pinned paths, user values kept."""
    env = dict(environ)
    env.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
    env.setdefault("LANGGRAPH_NO_VERSION_CHECK", "1")
    if not env.get("LANGSMITH_API_KEY") and not env.get("LANGCHAIN_API_KEY"):
        # No key: nothing could be sent anyway; say so, so no client tries.
        env["LANGSMITH_TRACING"] = "false"
    for var, default in _PINNED.items():
        if not env.get(var):
            env[var] = str((cwd / default).resolve())
    return env


def main(argv: list[str] | None = None) -> int:
    """Pick the port, print the URLs and exec ``langgraph dev`` in the project root."""
    parser = argparse.ArgumentParser(prog="python -m agent_graphs.dev", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, help=f"port to serve on (default {DEFAULT_PORT} "
                        "if free, else a free one)")
    args, extra = parser.parse_known_args(argv)
    config = ROOT / "langgraph.json"
    beside = Path(sys.executable).with_name("langgraph")  # the venv's, even if not activated
    langgraph = str(beside) if beside.exists() else shutil.which("langgraph") or str(beside)
    if not config.exists() or not Path(langgraph).exists():
        print(f"needs {config} and the langgraph CLI: pip install -e '.[dev]' from a "
              "checkout", file=sys.stderr)
        return 2
    try:
        port = pick_port(args.port)
    except OSError as err:
        print(err, file=sys.stderr)
        return 2
    env = server_env(dict(os.environ), Path.cwd())
    url = f"http://127.0.0.1:{port}"
    print(f"LangGraph API: {url}\nStudio:        {STUDIO.format(url=url)}\n"
          f"Checkpoints:   {env['AGENT_GRAPHS_DB']}", flush=True)
    command = [langgraph, "dev", "--config", str(config), "--host", "127.0.0.1",
               "--port", str(port), "--no-browser", *extra]
    os.chdir(ROOT)
    os.execve(langgraph, command, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
