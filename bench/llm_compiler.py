"""Benchmark: how close the LLM Compiler's scheduler gets to a DAG's critical path.

For DAGs of 10, 50 and 200 tasks (shapes wide, deep, diamond, random) with simulated tool
latencies, a scripted planner streams the plan (``--chunk`` characters per token, a
``--token-delay`` between tokens) and four executors run it, side by side in one run:

- ``sequential``: the seed's loop: wait for the whole plan, run the tasks one by one.
- ``polling``: the seed's asyncio executor: tasks taken from the stream as they arrive,
  ready tasks started on each poll, ``await asyncio.sleep(0.1)`` between polls.
- ``send waves``: a LangGraph graph that fans the ready tasks out with ``Send`` each
  superstep (waits for the whole plan; a wave ends with its slowest task).
- ``llm_compiler``: this project's graph, end to end (plan_and_schedule, then the
  joiner, a scripted instant model), streamed with ``stream_mode="custom"``.

Every executor persists to SQLite (the seed loops write one row per task; the LangGraph
ones use ``SqliteSaver`` with ``durability="sync"``, each graph compiled once and run on
a new thread of one database, as a long-lived process does) and gets the plan through
the same chat-model stream (one scripted model per cell, reused by every run, as a
process keeps its model clients). The score is wall time / critical path, where the critical path is
the physical limit: every task starting the instant the stream has emitted it and its
dependencies are done, with zero overhead (for a planner much faster than the tools this
is the time to emit the first task plus the longest chain's latencies).

The planner's pace: 0.5 ms a token by default, the fastest hosted models' (2,000 tokens a
second; most stream 50-200). ``--token-delay 0.00005`` is the stress case: tokens come
faster than LangChain turns them into message chunks (about 80 µs a chunk here), so the
planner's stream is a CPU-bound loop and the table measures how much the scheduler's own
work, sharing the one GIL, slows that loop down.

Usage:
    .venv/bin/python bench/llm_compiler.py [--quick] [--out bench/results/llm_compiler.md]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import operator
import os
import platform
import random
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool, tool
from langgraph.graph import START, StateGraph
from langgraph.types import Command, Send
from pydantic import BaseModel
from typing_extensions import TypedDict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_graphs import models  # noqa: E402
from agent_graphs.llm_compiler.graph import build_graph  # noqa: E402
from agent_graphs.llm_compiler.planner import StepStream  # noqa: E402
from checkpoints import open_saver  # noqa: E402
from tests.fakes import StreamingScriptedChatModel, call, install  # noqa: E402
from tools import Risk  # noqa: E402
from tools.runner import spawn  # noqa: E402

REGIMES = {"200-800 ms": (200, 800, (10, 50)), "10-100 ms": (10, 100, (10, 50, 200))}
SHAPES = ("wide", "deep", "diamond", "random")
TARGETS = {("200-800 ms", s): 1.02 for s in SHAPES} | {
    ("10-100 ms", "deep"): 1.05, ("10-100 ms", "diamond"): 1.05,
    ("10-100 ms", "random"): 1.05, ("10-100 ms", "wide"): 1.3}
EXECUTORS = ("sequential", "polling", "send waves", "llm_compiler")
FLOORS = ("bare threads", "langgraph node")
"""Not in the default table (``--only`` them): how close anything gets on this machine."""


# --- DAGs and the scripted planner -------------------------------------------------------


def make_dag(shape: str, n: int, lo: int, hi: int, seed: int) -> list[dict[str, Any]]:
    """Tasks in plan order: id, depends_on, and args {label, ms} for the ``sim`` tool."""
    rng = random.Random(f"{shape}-{n}-{lo}-{seed}")
    deps: list[list[str]] = []
    for i in range(n):
        if shape == "wide" or i == 0:
            d: list[str] = []
        elif shape == "deep":
            d = [f"t{i - 1}"]
        elif shape == "diamond":
            d = [f"t{j}" for j in range(1, n - 1)] if i == n - 1 else ["t0"]
        else:
            d = sorted(rng.sample([f"t{j}" for j in range(i)], k=min(i, rng.randint(0, 3))),
                       key=lambda s: int(s[1:]))
        deps.append(d)
    return [{"id": f"t{i}", "description": f"t{i}", "tool": "sim",
             "args": {"label": f"t{i}", "ms": rng.randint(lo, hi)}, "depends_on": deps[i],
             "expected_output": "x"} for i in range(n)]


def emission_times(model: Any) -> dict[str, float]:
    """When the planner alone has emitted each task, from the start of its stream.

    Measured (best of three runs with nothing else going on), not computed from the
    token delay: LangChain's streaming costs a fraction of a millisecond per piece,
    which is the planner's speed, not the scheduler's overhead.
    """
    best: dict[str, float] = {}
    for _ in range(3):
        model.emitted.clear()
        t0 = time.perf_counter()
        for step in stream_plan(model, lambda s: None, timed=True):
            pass
        for sid, at in model.emitted.items():
            best[sid] = min(best.get(sid, at - t0), at - t0)
    return best


def critical_path(steps: list[dict[str, Any]], emitted: dict[str, float]) -> float:
    """Finish time of an ideal run: infinite workers, zero overhead, streamed arrival."""
    finish: dict[str, float] = {}
    for s in steps:
        start = max([emitted[s["id"]], *(finish[d] for d in s["depends_on"])])
        finish[s["id"]] = start + s["args"]["ms"] / 1000
    return max(finish.values())


def planner_model(steps: list[dict[str, Any]], chunk: int, delay: float) -> Any:
    """A chat model that streams ``steps`` as a Plan call, one piece per ``delay``.

    One per cell, used by every run of every executor (each stream keeps its own pace),
    as a long-lived process keeps its model clients (``agent_graphs.models`` keeps one
    ``ChatOpenAI`` per settings): a new LangChain model serializes itself on its first
    call (``dumpd``, ~0.6 ms here) and leaves cyclic garbage that later collections pay
    for, a cost the first run of a process has and the others do not.
    """
    model = StreamingScriptedChatModel(name="planner", chunk_chars=chunk,
                                       fallback=lambda m, b: call("Plan", steps=steps))
    clock: dict[str, float] = {}

    def pace(n: int, _: str) -> None:
        if n == 0:
            clock["t0"] = time.perf_counter()
        wait = clock["t0"] + n * delay - time.perf_counter()
        if wait > 0:
            time.sleep(wait)

    model.on_chunk = pace
    model.__dict__["emitted"] = {}  # set by stream_plan(timed=True)
    return model


def stream_plan(model: Any, on_step: Any = None, timed: bool = False) -> list[dict[str, Any]]:
    """Consume the planner's stream as the seed loops do (``on_step`` per task if given)."""
    reader = StepStream()
    for piece in model.bind_tools([], tool_choice="Plan").stream([HumanMessage("plan")]):
        for part in piece.tool_call_chunks:
            for step in reader.feed(part.get("args") or ""):
                if timed:
                    model.emitted[step["id"]] = time.perf_counter()
                if on_step:
                    on_step(step)
    return json.loads(reader.text)["steps"]


def sim(ms: int) -> None:
    time.sleep(ms / 1000)


class Rows:
    """One SQLite row per finished task, as the seed persisted results."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS r (id TEXT, out TEXT)")
        self.lock = threading.Lock()

    def put(self, sid: str) -> None:
        with self.lock, self.conn:
            self.conn.execute("INSERT INTO r VALUES (?, ?)", (sid, f"result of {sid}"))


# --- the executors -----------------------------------------------------------------------


def run_sequential(model: Any, tmp: Path) -> float:
    rows, t0 = Rows(tmp / "seq.sqlite"), time.perf_counter()
    for step in stream_plan(model):
        call_tool(step)
        rows.put(step["id"])
    return time.perf_counter() - t0


def run_polling(model: Any, tmp: Path) -> float:
    rows, t0 = Rows(tmp / "poll.sqlite"), time.perf_counter()
    known: list[dict[str, Any]] = []
    closed = threading.Event()
    pool = ThreadPoolExecutor(max_workers=256)

    def produce() -> None:
        stream_plan(model, known.append)
        closed.set()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done: set[str] = set()
        started: set[str] = set()

        async def work(step: dict[str, Any]) -> None:
            await loop.run_in_executor(pool, call_tool, step)
            await loop.run_in_executor(pool, rows.put, step["id"])
            done.add(step["id"])

        running = []
        while not (closed.is_set() and len(done) == len(known)):
            for step in list(known):
                if step["id"] not in started and set(step["depends_on"]) <= done:
                    started.add(step["id"])
                    running.append(asyncio.create_task(work(step)))
            await asyncio.sleep(0.1)  # the seed's poll
        await asyncio.gather(*running)

    threading.Thread(target=produce, daemon=True).start()
    asyncio.run(main())
    pool.shutdown()
    return time.perf_counter() - t0


class WaveState(TypedDict, total=False):
    steps: list[dict[str, Any]]
    done: Annotated[list[str], operator.add]


_WAVE_MODEL: dict[str, Any] = {}


def _plan_node(state: WaveState) -> dict[str, Any]:
    return {"steps": stream_plan(_WAVE_MODEL["model"])}


def _dispatch(state: WaveState) -> Command:
    done = set(state.get("done") or [])
    ready = [s for s in state["steps"] if s["id"] not in done
             and set(s["depends_on"]) <= done]
    return Command(goto=[Send("run_task", s) for s in ready] or "__end__")


def _run_task(step: dict[str, Any]) -> dict[str, Any]:
    call_tool(step)
    return {"done": [step["id"]]}


_COMPILED: dict[int, Any] = {}
_OPEN = contextlib.ExitStack()
"""The checkpointers of the compiled graphs, closed when the benchmark ends."""


def compiled(builder: StateGraph, db: Path) -> Any:
    """``builder`` compiled once for the whole benchmark, on one SQLite database (each run
    a new thread), as a server or any long-lived process runs a graph: the first run of a
    freshly compiled graph starts its first node about 2 ms later (measured: 4.2 ms after
    ``stream()`` against 2.3 ms)."""
    if id(builder) not in _COMPILED:
        saver = _OPEN.enter_context(open_saver(db))
        _COMPILED[id(builder)] = builder.compile(checkpointer=saver)
    return _COMPILED[id(builder)]


def _wave_builder() -> StateGraph:
    b = StateGraph(WaveState)
    b.add_node("plan", _plan_node)
    b.add_node("dispatch", _dispatch, destinations=("run_task", "__end__"))
    b.add_node("run_task", _run_task)
    b.add_edge(START, "plan")
    b.add_edge("plan", "dispatch")
    b.add_edge("run_task", "dispatch")
    return b


WAVES = _wave_builder()


def run_send_waves(model: Any, tmp: Path) -> float:
    graph = compiled(WAVES, tmp.parent / "waves.sqlite")
    _WAVE_MODEL["model"] = model
    config = {"configurable": {"thread_id": tmp.name},
              "recursion_limit": 10_000, "max_concurrency": 256}
    t0 = time.perf_counter()
    graph.invoke({"steps": []}, config, durability="sync")
    return time.perf_counter() - t0


# --- the floors: how close anything can get on this machine ---------------------------------


class BareDag:
    """The least an executor can do: each task starts the moment the stream has emitted
    it and its dependencies are done, in a reused thread; the thread that finishes a task
    starts what it made ready and runs one of those itself. Nothing persisted, no events,
    no timeouts, no approvals: a floor, not a product."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: list[str] = []
        self.finished: set[str] = set()
        self.missing: dict[str, set[str]] = {}
        """Tasks still waiting, with the dependencies they wait for."""
        self.dependents: dict[str, list[dict[str, Any]]] = {}
        self.planned = 0
        self.streamed = False
        self.over = threading.Event()

    def run(self, model: Any) -> list[str]:
        """Run the plan ``model`` streams; return the task ids in finishing order."""
        stream_plan(model, self.arrived)
        with self.lock:
            self.streamed = True
            self._check_over()
        self.over.wait()
        return self.done

    def arrived(self, step: dict[str, Any]) -> None:
        with self.lock:
            self.planned += 1
            waits = set(step["depends_on"]) - self.finished
            if waits:
                self.missing[step["id"]] = waits
                for dep in waits:
                    self.dependents.setdefault(dep, []).append(step)
        if not waits:
            spawn(partial(self.work, step), name="bench")

    def work(self, step: dict[str, Any] | None) -> None:
        while step is not None:
            BOX["box"].run("sim", step["args"], timeout=None)
            with self.lock:
                self.done.append(step["id"])
                self.finished.add(step["id"])
                ready = []
                for dependent in self.dependents.pop(step["id"], []):
                    waits = self.missing[dependent["id"]]
                    waits.discard(step["id"])
                    if not waits:
                        del self.missing[dependent["id"]]
                        ready.append(dependent)
                self._check_over()
            for other in ready[1:]:
                spawn(partial(self.work, other), name="bench")
            step = ready[0] if ready else None

    def _check_over(self) -> None:  # under the lock
        if self.streamed and len(self.done) == self.planned:
            self.over.set()


def run_threads(model: Any, tmp: Path) -> float:
    t0 = time.perf_counter()
    BareDag().run(model)
    return time.perf_counter() - t0


class FloorState(TypedDict, total=False):
    done: list[str]


_FLOOR: dict[str, Any] = {}


def _floor_node(state: FloorState) -> dict[str, Any]:
    return {"done": BareDag().run(_FLOOR["model"])}


def _floor_builder() -> StateGraph:
    b = StateGraph(FloorState)
    b.add_node("run", _floor_node)
    b.add_edge(START, "run")
    return b


FLOOR = _floor_builder()


def run_node(model: Any, tmp: Path, durability: str = "sync",
             modes: tuple[str, ...] = ("custom", "updates")) -> float:
    """``BareDag`` as the one node of a LangGraph graph, run as llm_compiler is (SQLite,
    ``durability`` and stream ``modes`` alike, ended by the node's update): what LangGraph
    itself costs a run, before and after the node."""
    graph = compiled(FLOOR, tmp.parent / "floor.sqlite")
    _FLOOR["model"] = model
    config = {"configurable": {"thread_id": tmp.name}}
    t0 = time.perf_counter()
    for mode, chunk in graph.stream({"done": []}, config, durability=durability,
                                    stream_mode=list(modes)):
        if mode == "updates" and "run" in chunk:
            return time.perf_counter() - t0
    raise RuntimeError("the floor graph ended without its node's update")


@tool("sim")
def sim_tool(label: str, ms: int) -> str:
    """Simulate a tool call that takes ms milliseconds."""
    sim(ms)
    return f"result of {label}"


class SimArgs(BaseModel):
    label: str
    ms: int


class BareSim(BaseTool):
    """The same simulated tool with nothing but its latency: ``invoke`` skips LangChain's
    per-call machinery (callbacks, type hints; ~0.4 ms a call), so the table measures
    the executors' own overhead, as the issue's anchors (bare asyncio: 1.00-1.03) did."""

    name: str = "sim"
    description: str = "Simulate a tool call that takes ms milliseconds."
    args_schema: type[BaseModel] = SimArgs

    def _run(self, label: str, ms: int) -> str:
        sim(ms)
        return f"result of {label}"

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> str:
        return self._run(**input)


SIM_TOOLS: dict[str, BaseTool] = {"langchain": sim_tool, "bare": BareSim()}
GRAPH = {"compiler": build_graph(tools={"sim": (sim_tool, Risk.LOW)})}
BOX: dict[str, Any] = {}


def use_tool(name: str, tmpdir: Path) -> None:
    """Build the llm_compiler graph and the seed's toolbox on the simulated tool ``name``,
    with a workspace in ``tmpdir``."""
    from agent_graphs.context import Context
    from agent_graphs.llm_compiler.graph import _toolbox

    # A new dict, not the old one changed: toolboxes are cached by the dict's id.
    tools = {"sim": (SIM_TOOLS[name], Risk.LOW)}
    GRAPH["compiler"] = build_graph(tools=tools)
    BOX["box"] = _toolbox(Context(workspace=str(tmpdir / "ws"),
                                  outbox=str(tmpdir / "outbox.jsonl")), tools)


def tool_call_overhead(calls: int = 300) -> float:
    """Median wall time of ``Toolbox.run`` on the ``sim`` tool with a 0 ms latency."""
    times = []
    for i in range(calls):
        t0 = time.perf_counter()
        BOX["box"].run("sim", {"label": f"o{i}", "ms": 0}, timeout=30)
        times.append(time.perf_counter() - t0)
    return sorted(times)[calls // 2]


def call_tool(step: dict[str, Any]) -> str:
    """Run a task's tool the way the seed's executors do: through ``Toolbox.run``
    (argument check, a thread with a timeout, the tool's call). The llm_compiler graph
    calls ``Toolbox.run(timeout=None)`` in its own worker, its scheduler keeping the
    deadline (``Scheduler(timeout=)``)."""
    return BOX["box"].run("sim", step["args"], timeout=30)


FAKES: dict[str, Any] = {}
"""The scripted models of the llm_compiler runs (the joiner built once, like the planner)."""


def run_compiler(model: Any, tmp: Path, n: int, durability: str = "sync",
                 modes: tuple[str, ...] = ("custom", "updates")) -> float:
    """One llm_compiler run, as the CLI runs it by default (``durability``, stream
    ``modes``); seconds until plan_and_schedule's update (the whole run goes to ``LAST``)."""
    if not FAKES:
        FAKES.update(install(fallbacks={"joiner": lambda m, b: call(
            "JoinDecision", thought="done", action="finish", answer="done")}))
        models.register_provider("fake", lambda name, max_tokens: FAKES[name])
    FAKES["planner"] = model
    # One workspace for every run, as in a long-lived process: the toolbox (its tools take
    # ~0.1-0.2 s to build) is built once, by the warm-up run.
    context = {"planner_model": "fake:planner", "models": {"joiner": "fake:joiner"},
               "workspace": str(tmp.parent / "ws"), "outbox": str(tmp.parent / "outbox.jsonl")}
    os.environ["AGENT_GRAPHS_COMPILER_MAX_TASKS"] = str(max(n, 12))
    os.environ["AGENT_GRAPHS_COMPILER_MAX_CONCURRENCY"] = "256"
    graph = compiled(GRAPH["compiler"], tmp.parent / "compiler.sqlite")
    config = {"configurable": {"thread_id": tmp.name}, "recursion_limit": 100}
    t0 = time.perf_counter()
    dag = 0.0
    seen: dict[str, float] = {}
    for mode, chunk in graph.stream({"goal": "bench"}, config, context=context,
                                    durability=durability, stream_mode=list(modes)):
        if mode == "updates" and "plan_and_schedule" in chunk:
            dag = time.perf_counter() - t0  # every task done, the node returned
        elif mode == "custom" and chunk.get("event") in ("task_started", "task_planned"):
            # first task started / last task planned, as this run saw them
            key = "first_start" if chunk["event"] == "task_started" else "last_planned"
            if key == "last_planned" or key not in seen:
                seen[key] = time.perf_counter() - t0
    wall = time.perf_counter() - t0
    values = graph.get_state(config).values
    assert values["status"] == "done" and all(r["ok"] for r in values["results"].values())
    assert len(values["results"]) == n, len(values["results"])
    LAST.update(whole=wall, starts=seen)
    return dag


LAST: dict[str, Any] = {}
"""The last llm_compiler run's whole wall time (joiner and last checkpoint included) and
when it started its first task and planned its last."""


# --- the table -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunk", type=int, default=16, help="characters per streamed token")
    parser.add_argument("--token-delay", type=float, default=0.0005,
                        help="seconds between streamed tokens (0.0005: 2,000 tokens a "
                             "second, the pace of the fastest hosted models)")
    parser.add_argument("--quick", action="store_true", help="10 and 50 tasks, fast tools")
    parser.add_argument("--tool", choices=sorted(SIM_TOOLS), default="langchain",
                        help="the simulated tool: a LangChain @tool, or bare (latency only)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="runs per cell and executor (median; fewer if a run is long)")
    parser.add_argument("--only", default="",
                        help="comma-separated executors to run (the floors too: "
                             + ", ".join(FLOORS) + ")")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    only = [e for e in (args.only.split(",") if args.only else EXECUTORS)]
    if unknown := set(only) - {*EXECUTORS, *FLOORS}:
        parser.error(f"unknown executors {sorted(unknown)}: pick from {[*EXECUTORS, *FLOORS]}")
    regimes = {"10-100 ms": (10, 100, (10, 50))} if args.quick else REGIMES
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir, _OPEN:
        use_tool(args.tool, Path(tmpdir))
        overhead = tool_call_overhead()
        warm = make_dag("wide", 3, 1, 2, seed=0)  # imports, toolbox, first SQLite files
        for ex in only:
            _run(ex, planner_model(warm, args.chunk, args.token_delay),
                 Path(tempfile.mkdtemp(dir=tmpdir)), 3)
        for regime, (lo, hi, sizes) in regimes.items():
            for n in sizes:
                for shape in SHAPES:
                    steps = make_dag(shape, n, lo, hi, seed=1)
                    model = planner_model(steps, args.chunk, args.token_delay)
                    emitted = emission_times(model)
                    bound = critical_path(steps, emitted)
                    walls: dict[str, float] = {}
                    starts: dict[str, float] = {}
                    for ex in only:
                        # The median of up to --repeats runs, as many as fit in ~5 s (short
                        # cells are the noisy ones); every executor gets the same rule.
                        runs: list[tuple[float, dict[str, Any]]] = []
                        while len(runs) < args.repeats and sum(r[0] for r in runs) < 5.0:
                            tmp = Path(tempfile.mkdtemp(dir=tmpdir))
                            LAST.clear()
                            runs.append((_run(ex, model, tmp, n), dict(LAST)))
                        wall, last = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
                        walls[ex] = wall
                        if ex == "llm_compiler":
                            walls["whole run"] = last["whole"]
                            starts = last["starts"]
                    row = {"regime": regime, "shape": shape, "n": n, "bound": bound,
                           "plan_emitted": max(emitted.values()), "walls": walls,
                           "target": TARGETS.get((regime, shape)),
                           "starts": starts}
                    rows.append(row)
                    print(_line(row, only), flush=True)
    table = _table(rows, only, args, load, overhead)
    print(table)
    if args.out:
        Path(args.out).write_text(table)
        Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1))


def _run(executor: str, model: Any, tmp: Path, n: int) -> float:
    if executor == "llm_compiler":
        return run_compiler(model, tmp, n)
    return {"sequential": run_sequential, "polling": run_polling,
            "send waves": run_send_waves, "bare threads": run_threads,
            "langgraph node": run_node}[executor](model, tmp)


def _columns(only: list[str]) -> list[str]:
    return [*only, "whole run"] if "llm_compiler" in only else only


def _line(row: dict[str, Any], only: list[str]) -> str:
    ratios = " | ".join(
        f"{row['walls'][e] / row['bound']:.{3 if e in ('llm_compiler', 'whole run', *FLOORS) else 2}f}"
        for e in _columns(only))
    target = row["target"]
    mark = "" if target is None or "llm_compiler" not in row["walls"] else (
        " ok" if row["walls"]["llm_compiler"] / row["bound"] <= target else " MISSED")
    st = row.get("starts") or {}
    started = (f"{st['first_start'] * 1000:.0f} / {st['last_planned'] * 1000:.0f}"
               if {"first_start", "last_planned"} <= set(st) else "–")
    return (f"| {row['regime']} | {row['shape']} | {row['n']} | {row['bound']:.3f} | "
            f"{row['plan_emitted'] * 1000:.0f} | {ratios} | {started} | "
            f"{'≤ %.2f' % target if target else '–'}{mark} |")


def _table(rows: list[dict[str, Any]], only: list[str], args: Any, load: tuple,
           overhead: float) -> str:
    head = ("| tools | shape | tasks | critical path (s) | plan streamed (ms) | "
            + " | ".join(f"{e} ×" for e in _columns(only))
            + " | first task started / last task planned (ms) | target (llm_compiler) |")
    sep = "|" + "---|" * (7 + len(_columns(only)))
    after = os.getloadavg()
    return "\n".join([
        f"# LLM Compiler scheduling benchmark ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Machine: {platform.node() or 'unknown'}, {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}); load average "
        f"before {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, after {after[0]:.2f}. "
        f"Planner: {args.chunk}-character tokens, {args.token_delay * 1e6:.0f} µs apart. "
        f"Simulated tool: `{args.tool}` ("
        + ("a LangChain `@tool`" if args.tool == "langchain" else
           "latency only: its `invoke` skips LangChain's per-call machinery") + "). "
        "The seed's executors call the tool through `Toolbox.run` (argument check, a "
        f"worker thread with a timeout, the tool's invoke; {overhead * 1000:.2f} ms a "
        "call with a 0 ms tool, measured in this run); llm_compiler runs the same "
        "`Toolbox.run` with `timeout=None` in its own worker, its scheduler keeping the "
        "deadline. Every executor "
        + ("but the floors " if set(FLOORS) & set(only) else "")
        + "persists to SQLite, and all stream the plan from one "
        "scripted model per cell (a process keeps its model clients). Median of "
        f"up to {args.repeats} runs per cell (as many as fit in 5 s); wall time divided by "
        "the critical path (lower is better, 1.00 is the physical limit). "
        "`llm_compiler ×` ends when plan_and_schedule returns (every task done and its "
        "result in the state update); `whole run ×` adds the joiner (a scripted model) "
        "and the last checkpoint. `plan streamed` is when the planner alone has emitted "
        "its last task. `first task started / last task planned`: in the llm_compiler run "
        "shown, from the start of the run (the first task starts before the plan is done)."
        + (" The floors: `bare threads` runs the DAG with nothing but reused threads (each "
           "task started the moment the stream has emitted it and its dependencies are "
           "done, by the thread that finished the last of them; the tool through the same "
           "`Toolbox.run(timeout=None)`; nothing persisted, no events, timeouts or "
           "approvals); `langgraph node` runs the same "
           "inside the one node of a LangGraph graph run as llm_compiler is (SQLite "
           "checkpointer, `durability=\"sync\"`, streamed with custom and updates, ended "
           "by the node's update): what LangGraph itself costs a run."
           if set(FLOORS) & set(only) else ""),
        "",
        f"Command: `.venv/bin/python bench/llm_compiler.py --tool {args.tool} "
        f"--token-delay {args.token_delay:g} "
        + ("--quick " if args.quick else "")
        + (f"--only \"{','.join(only)}\" " if args.only else "")
        + (f"--repeats {args.repeats} " if args.repeats != 5 else "")
        + f"--out {args.out or '-'}`",
        "",
        head, sep, *(_line(r, only) for r in rows), ""])


if __name__ == "__main__":
    main()
