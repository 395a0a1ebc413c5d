"""Benchmark the embedded offline model: start-up, latency, speed and a structured plan.

Run: ``python bench/local_model.py [--runs 3] [--models 0.5b,1.5b]``. Prints a markdown
table (medians over the runs) and writes it to ``bench/results/local_model.md``. Models
whose weights are not installed are skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, Field

from agent_graphs import local_model
from agent_graphs.models import load_chat_model

_START = """
import sys, time
started = time.monotonic()
from agent_graphs import local_model
local_model.ensure_server(sys.argv[1])
print(time.monotonic() - started)
"""

PLAN_PROMPT = "Plan 3 steps to find the largest file in a directory."


class Step(BaseModel):
    """One step of a plan."""

    id: int = Field(description="Step number, starting at 1")
    description: str = Field(description="What to do, in a few words")


class Plan(BaseModel):
    """A plan of a few steps."""

    steps: list[Step] = Field(description="The steps, in order")


def cold_start(spec: str) -> float:
    """Time a fresh process starting a fresh server (its own runtime dir) until ready."""
    with tempfile.TemporaryDirectory() as runtime:
        env = dict(os.environ, AGENT_GRAPHS_CACHE_DIR=runtime, AGENT_GRAPHS_LOCAL_IDLE="1",
                   AGENT_GRAPHS_MODEL_DIR=str(local_model.resolve_gguf(spec).parent))  # fmt: skip
        out = subprocess.run([sys.executable, "-c", _START, spec], env=env, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
    return float(out)


def stream_timings(name: str) -> tuple[float, float]:
    """Return (seconds to first token, generated tokens per second) of one streamed answer."""
    model = load_chat_model(name, max_tokens=128)
    started = time.monotonic()
    first = last = 0.0
    tokens = 0
    for chunk in model.stream("Explain in a paragraph what a hash map is."):
        if chunk.content:
            last = time.monotonic()
            first = first or last
            tokens += 1  # the server streams one token per chunk
    return first - started, (tokens - 1) / (last - first)


def plan_seconds(name: str) -> tuple[float, bool]:
    """Time a 3-step structured plan; say whether it parsed."""
    planner = load_chat_model(name, max_tokens=256).with_structured_output(
        Plan, method="function_calling", include_raw=True
    )
    started = time.monotonic()
    result = planner.invoke(PLAN_PROMPT)
    return time.monotonic() - started, result["parsing_error"] is None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench(spec: str, runs: int) -> str:
    name = f"local:{spec}"
    started = time.monotonic()
    local_model.resolve_gguf(spec)
    resolve = time.monotonic() - started
    starts = [cold_start(spec) for _ in range(runs)]
    local_model.ensure_server(spec)
    ttft, speed, plans, parsed = [], [], [], 0
    for _ in range(runs):
        first, rate = stream_timings(name)
        seconds, ok = plan_seconds(name)
        ttft.append(first)
        speed.append(rate)
        plans.append(seconds)
        parsed += ok
    state = local_model.server_state(spec) or {}
    cells = [
        spec, f"{resolve:.2f}", f"{statistics.median(starts):.2f}",
        f"{statistics.median(ttft):.2f}", f"{statistics.median(speed):.1f}",
        f"{statistics.median(plans):.2f}", f"{parsed}/{runs}",
        f"{rss_mb(state['server_pid']):.0f}" if state else "?",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--models", default="0.5b,1.5b")
    args = parser.parse_args()
    lines = [
        f"Embedded model on {os.cpu_count()} CPU threads, medians of {args.runs} runs.",
        "",
        "| model | weights ready (s) | server start (s) | first token (s) "
        "| generation (tok/s) | 3-step plan (s) | plan parsed | server RSS (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = []
    for spec in args.models.split(","):
        try:
            lines.append(bench(spec, args.runs))
        except RuntimeError as exc:
            notes.append(f"- {spec}: skipped: {str(exc).splitlines()[0]}")
    table = "\n".join(lines + ([""] + notes if notes else [])) + "\n"
    print(table)
    out = Path(__file__).parent / "results" / "local_model.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(table)


if __name__ == "__main__":
    main()
