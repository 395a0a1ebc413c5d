"""`langgraph dev` in a real subprocess, driven through langgraph_sdk: every graph, the
README's SDK example, and resuming across the server and the CLI on one SQLite file.

One server per module, started by the project's own command (``python -m
agent_graphs.dev``) on a free loopback port, with scripted models
(``tests/procs/studio_fakes.py``) and every file in a temporary folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from langgraph_sdk import get_client

from agent_graphs.graphs import GRAPHS
from tests.contracts import case, context_for

pytestmark = pytest.mark.dev_server

ROOT = Path(__file__).resolve().parents[1]
FAKE = {f"{role}_model": f"fake:{role}" for role in ("planner", "executor", "critic")}
TIMINGS: dict[str, float] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ok(url: str, proc: subprocess.Popen, deadline: float) -> None:
    """Poll /ok until the server answers, the process dies, or the deadline passes."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"langgraph dev exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.05)  # the event polled for is "port answers"; nothing to block on
    raise TimeoutError(f"{url}/ok did not answer in time")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """Boot the one dev command on a free port; yield its URL, env and folder; stop it."""
    tmp = tmp_path_factory.mktemp("dev_server")
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "LANGSMITH_", "LANGCHAIN_", "AGENT_GRAPHS_"))},
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "AGENT_GRAPHS_MODEL_PLUGINS": "tests.procs.studio_fakes,tests.procs.case_models",
        "AGENT_GRAPHS_DB": str(tmp / "checkpoints.sqlite"),
        "AGENT_GRAPHS_OUTBOX": str(tmp / "outbox.jsonl"),
        "AGENT_GRAPHS_WORKSPACE": str(tmp / "workspace"),
        # Runs that pass no context (the README example) still use the scripted models.
        **{f"AGENT_GRAPHS_{k.upper()}": v for k, v in FAKE.items()},
    }
    log = (tmp / "server.log").open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_graphs.dev", "--port", str(port), "--no-reload"],
        cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ok(url, proc, started + 90)
        TIMINGS["server start"] = time.monotonic() - started
        yield {"url": url, "env": env, "tmp": tmp}
    finally:
        stopping = time.monotonic()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = "killed: no exit within 30s of SIGTERM"
        log.close()
        TIMINGS["server stop"] = time.monotonic() - stopping
        print("\ndev server timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in TIMINGS.items()))
        output = (tmp / "server.log").read_text()
        # uvicorn shuts down gracefully, then re-raises the signal: -SIGTERM is a clean stop.
        clean = code in (0, -signal.SIGTERM) and "Shutting down background workers" in output
        assert clean, f"langgraph dev did not stop cleanly ({code}):\n{output[-3000:]}"
        assert "already in use" not in output, "langgraph dev moved off the chosen port"


async def _stream(client, thread_id: str, graph_id: str, **kwargs) -> list[dict]:
    """Stream one run; return its custom progress events; fail on an error event."""
    events = []
    async for part in client.runs.stream(thread_id, graph_id,
                                         stream_mode=["custom", "updates"], **kwargs):
        assert part.event != "error", part.data
        if part.event == "custom":
            events.append(part.data)
    return events


def _run(coro):
    return asyncio.run(coro)


def test_every_graph_is_served():
    served = json.loads((ROOT / "langgraph.json").read_text())["graphs"]
    assert set(served) == set(GRAPHS), "langgraph.json and graphs.GRAPHS must list the same ids"


@pytest.mark.parametrize("graph_id", sorted(GRAPHS))
def test_graph_runs_to_completion_and_through_approval(server, graph_id):
    """Every graph's contract cases, through the SDK: an answer, and approvals by id."""
    outbox = server["tmp"] / f"outbox-{graph_id}.jsonl"

    async def scenario():
        client = get_client(url=server["url"])
        answer = case(graph_id, "answer")
        thread = await client.threads.create()
        started = time.monotonic()
        events = await _stream(client, thread["thread_id"], graph_id, input=answer["input"],
                               context=context_for(graph_id, "answer", outbox=str(outbox)))
        TIMINGS[f"{graph_id} run"] = time.monotonic() - started
        assert events and all(e.get("summary") for e in events), events
        state = await client.threads.get_state(thread["thread_id"])
        assert state["values"]["status"] == "done", state["values"]
        assert state["values"]["final_answer"].strip()

        approval = case(graph_id, "approval")
        # the outbox differs from the server's env: proves the run's context is used
        context = context_for(graph_id, "approval", outbox=str(outbox))
        thread = await client.threads.create()
        started = time.monotonic()
        events = await _stream(client, thread["thread_id"], graph_id,
                               input=approval["input"], context=context)
        assert "approval_requested" in [e["event"] for e in events]
        for _ in range(10):
            state = await client.threads.get_state(thread["thread_id"])
            if not state["interrupts"]:
                break
            assert not outbox.exists(), "nothing may be sent before a person approves"
            resume = {i["id"]: "approve" for i in state["interrupts"]}
            await _stream(client, thread["thread_id"], graph_id,
                          command={"resume": resume}, context=context)
        TIMINGS[f"{graph_id} approval run + resume"] = time.monotonic() - started
        assert state["values"]["status"] == "done" and not state["interrupts"]
        sent = len(outbox.read_text().splitlines()) if outbox.exists() else 0
        assert sent == approval.get("sends", 1)

    _run(scenario())


def _readme_sdk_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## LangGraph Studio and the SDK", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in re.findall(r"```python\n(.*?)```", section, re.S) if "get_client" in b]
    assert len(blocks) == 1, "the section must hold exactly one SDK example"
    return blocks[0]


def test_readme_sdk_example_runs_as_written(server):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _readme_sdk_example()], capture_output=True, text=True,
        timeout=120, env={**server["env"], "LANGGRAPH_URL": server["url"]},
    )
    TIMINGS["README SDK example"] = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "approve? " in done.stdout and "send_email" in done.stdout
    assert done.stdout.rstrip().endswith("done Email sent to the VP."), done.stdout


def _readme_hitl_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Answering approvals from your own UI", 1)[1].split("\n## ", 1)[0]
    [block] = re.findall(r"```python\n(.*?)```", section, re.S)
    return block


def test_readme_hitl_protocol_example_runs_as_written(server):
    """The README's reviewer answers in LangChain's HITL protocol, by interrupt id."""
    outbox = Path(server["env"]["AGENT_GRAPHS_OUTBOX"])
    done = subprocess.run(
        [sys.executable, "-c", _readme_hitl_example()], capture_output=True, text=True,
        timeout=120, env={**server["env"], "LANGGRAPH_URL": server["url"]},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "review: send_email {'to': 'vp@acme.example'" in done.stdout
    assert "['approve', 'edit', 'reject']" in done.stdout and "not applied" not in done.stdout
    assert done.stdout.rstrip().endswith("done Email sent to the VP."), done.stdout
    sent = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert [m["subject"] for m in sent if m["subject"].startswith("[reviewed]")] == [
        "[reviewed] Q2"]


def test_protocol_answers_through_the_server_keep_the_interrupt_id(server):
    """A bad answer (as the server stores it: with the run) leaves the same id pending
    with the error; an edit keyed by that id then sends the whole edited call."""
    outbox = server["tmp"] / "protocol-outbox.jsonl"
    context = {**FAKE, "outbox": str(outbox)}
    edited = {"to": "ceo@acme.example", "subject": "Q2", "body": "Revenue grew 12%."}

    async def scenario():
        client = get_client(url=server["url"])
        thread = (await client.threads.create())["thread_id"]
        await _stream(client, thread, "plan_execute", context=context,
                      input={"goal": "Email the VP the Q2 numbers"})
        [first] = (await client.threads.get_state(thread))["interrupts"]
        [action] = first["value"]["action_requests"]
        [review] = first["value"]["review_configs"]
        assert action["name"] == "send_email" and action["args"]["to"] == "vp@acme.example"
        assert review["allowed_decisions"] == ["approve", "edit", "reject"]
        assert review["args_schema"]["properties"]["to"]["pattern"]
        for bad, says in (({"decisions": []}, "got 0"),
                          ({"decisions": [{"type": "respond", "message": "x"}]}, "respond"),
                          ({first["id"]: {"decisions": [{"type": "edit", "edited_action": {
                              "name": "send_email", "args": {"to": "nobody"}}}]}},
                           "'nobody' is not a valid email address")):
            await _stream(client, thread, "plan_execute", context=context,
                          command={"resume": bad})
            [again] = (await client.threads.get_state(thread))["interrupts"]
            assert again["id"] == first["id"] and says in again["value"]["error"]
        assert not outbox.exists()
        await _stream(client, thread, "plan_execute", context=context, command={"resume": {
            first["id"]: {"decisions": [{"type": "edit", "edited_action": {
                "name": "send_email", "args": edited}}]}}})
        state = await client.threads.get_state(thread)
        assert state["values"]["status"] == "done" and not state["interrupts"]

    _run(scenario())
    [sent] = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert {k: sent[k] for k in edited} == edited


def _cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent_graphs.cli", *args],
                          capture_output=True, text=True, timeout=120, env=server["env"],
                          cwd=server["tmp"])


def test_thread_started_by_cli_is_resumed_through_the_server(server):
    thread_id = str(uuid.uuid4())  # the server accepts only UUID thread ids
    started = _cli(server, "run", "Email the VP the Q2 numbers", "--thread", thread_id)
    assert started.returncode == 3, started.stdout + started.stderr

    async def scenario():
        client = get_client(url=server["url"])
        # The server keeps its own thread records: register the thread (and its graph) once.
        await client.threads.create(thread_id=thread_id, metadata={"graph_id": "plan_execute"})
        state = await client.threads.get_state(thread_id)
        assert [i["value"]["tool"] for i in state["interrupts"]] == ["send_email"]
        await _stream(client, thread_id, "plan_execute",
                      command={"resume": {i["id"]: "approve" for i in state["interrupts"]}})
        state = await client.threads.get_state(thread_id)
        assert state["values"]["status"] == "done"

    _run(scenario())
    shown = _cli(server, "show", thread_id)
    assert shown.returncode == 0 and "done" in shown.stdout


def test_thread_started_in_the_server_is_resumed_by_the_cli(server):
    """The CLI resumes a Studio/SDK thread with the settings it was started with: here an
    outbox passed as the run's context, which neither the CLI's flags nor its env know."""
    outbox = server["tmp"] / "studio-outbox.jsonl"

    async def start() -> str:
        client = get_client(url=server["url"])
        thread = await client.threads.create()
        await _stream(client, thread["thread_id"], "plan_execute",
                      input={"goal": "Email the VP the Q2 numbers"},
                      context={**FAKE, "outbox": str(outbox)})
        return thread["thread_id"]

    thread_id = _run(start())
    resumed = _cli(server, "resume", thread_id, "--approve")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Email sent to the VP." in resumed.stdout
    assert len(outbox.read_text().splitlines()) == 1  # the stored setting, not the env's

    async def check():
        client = get_client(url=server["url"])
        state = await client.threads.get_state(thread_id)  # read from the shared SQLite file
        assert state["values"]["status"] == "done" and not state["next"]

    _run(check())


def test_dev_command_refuses_a_taken_port_and_keeps_a_users_tracing(tmp_path):
    from agent_graphs.dev import server_env

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        refused = subprocess.run([sys.executable, "-m", "agent_graphs.dev", "--port", str(port)],
                                 capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and f"port {port}" in refused.stderr
    offline = server_env({}, tmp_path)
    assert offline["LANGSMITH_TRACING"] == "false"
    assert offline["LANGGRAPH_CLI_NO_ANALYTICS"] == "1"
    assert offline["AGENT_GRAPHS_DB"] == str(tmp_path / ".agent_graphs" / "checkpoints.sqlite")
    traced = server_env({"LANGSMITH_API_KEY": "k", "LANGSMITH_TRACING": "true"}, tmp_path)
    assert traced["LANGSMITH_TRACING"] == "true"
