"""Benchmark a whole plan-and-execute run on the embedded model, as the README runs it.

Run: ``python bench/demo_run.py [--models 0.5b,1.5b] [--runs 1]``. For each model it runs
the README's demo goal with every role on that model, and reports the wall time, how much
of it the model calls took, the calls (and prompt tokens per call), tokens, how the run
ended, and whether the answer is right: the corpus gives $9.20M (Q1 2025) and $13.00M
(Q2 2026), growth 41.30%; "correct" means a number within 0.1 of it in the answer. The ratio
"runtime share" (time outside model calls / wall time) is the baseline comparison: it
shows what the graph, tools and SQLite checkpoints cost next to the model. Writes the
table to ``bench/results/demo_run.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from agent_graphs.figures import figures
from agent_graphs.graphs import compile_graph, run_config
from agent_graphs.llm import ModelOutputError
from checkpoints import open_saver

GOAL = "Find Acme's total revenue in Q1 2025 and in Q2 2026, then compute the growth in percent."
RESULTS = Path(__file__).parent / "results" / "demo_run.md"


EXPECTED = (13.00 - 9.20) / 9.20 * 100


def correct(answer: str) -> bool:
    """True when the answer states the growth (41.3%) within 0.1."""
    return any(abs(float(f.digits) - EXPECTED) <= 0.1 for f in figures(answer or ""))


class ModelTimer(BaseCallbackHandler):
    """Adds up the wall time of every chat-model call of a run."""

    def __init__(self) -> None:
        self.started: dict[Any, float] = {}
        self.seconds = 0.0
        self.calls = 0

    def on_chat_model_start(self, serialized, messages, *, run_id, **kwargs) -> None:
        self.started[run_id] = time.perf_counter()

    def on_llm_end(self, response, *, run_id, **kwargs) -> None:
        if run_id in self.started:
            self.seconds += time.perf_counter() - self.started.pop(run_id)
            self.calls += 1

    on_llm_error = on_llm_end


def run_once(model: str, folder: Path) -> dict[str, Any]:
    context = {"model": model, "planner_model": model, "executor_model": model,
               "critic_model": model, "workspace": str(folder / "ws"), "outbox": str(folder / "outbox.jsonl")}
    timer = ModelTimer()
    with open_saver(folder / "bench.sqlite") as saver:
        graph = compile_graph("plan_execute", saver)
        config = run_config(str(uuid.uuid4()), graph_id="plan_execute", context=context)
        config["callbacks"] = [timer]
        started = time.perf_counter()
        try:
            graph.invoke({"goal": GOAL}, config, context=context, durability="sync")
            values = graph.get_state(config).values
            outcome = values.get("status", "?")
            steps, replans = values.get("steps_run", 0), values.get("replans", 0)
            tokens = sum((values.get("usage") or {}).values())
            prompt = (values.get("usage") or {}).get("input_tokens", 0)
            right = correct(values.get("final_answer", "")) and outcome == "done"
        except ModelOutputError:
            values = graph.get_state(config).values
            outcome = "stopped"
            steps, replans = values.get("steps_run", 0), values.get("replans", 0)
            tokens = sum((values.get("usage") or {}).values())
            prompt, right = (values.get("usage") or {}).get("input_tokens", 0), False
        wall = time.perf_counter() - started
    print(f"local run: {outcome}, {wall:.1f}s: {values.get('final_answer', '')!r}",
          file=sys.stderr)
    return {"wall": wall, "model": timer.seconds, "calls": timer.calls, "tokens": tokens,
            "prompt": prompt / max(timer.calls, 1), "steps": steps, "replans": replans,
            "outcome": outcome, "correct": right}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="0.5b,1.5b")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    rows = ["| model | wall (s) | in model calls (s) | runtime share | model calls "
            "| prompt tokens / call | tokens | steps run | replans | outcome | correct |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in args.models.split(","):
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                try:
                    runs.append(run_once(f"local:{size}", Path(folder)))
                except Exception as err:  # noqa: BLE001 - e.g. weights not installed
                    print(f"{size}: skipped ({err})", file=sys.stderr)
                    break
        if not runs:
            continue
        med = {k: statistics.median(r[k] for r in runs)
               for k in ("wall", "model", "calls", "prompt", "tokens", "steps", "replans")}
        share = (med["wall"] - med["model"]) / med["wall"]
        outcomes = "/".join(r["outcome"] for r in runs)
        right = f"{sum(r['correct'] for r in runs)}/{len(runs)}"
        rows.append(f"| {size} | {med['wall']:.1f} | {med['model']:.1f} | {share:.2%} | "
                    f"{med['calls']:.0f} | {med['prompt']:.0f} | {med['tokens']:.0f} | "
                    f"{med['steps']:.0f} | {med['replans']:.0f} | {outcomes} | {right} |")
    load = os.getloadavg()[0]
    table = (f"Demo goal: {GOAL!r}; every role on the named model, 2 CPU threads, "
             f"median of {args.runs} run(s); {time.strftime('%Y-%m-%d')}, "
             f"{os.cpu_count()} cores, load average {load:.1f} at the end.\n\n"
             + "\n".join(rows) + "\n")
    print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
