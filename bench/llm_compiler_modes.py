"""Benchmark: one DAG, llm_compiler against its LangGraph floor, in LangGraph's run modes.

``bench/llm_compiler.py`` runs llm_compiler as the CLI does (``durability="sync"``,
streamed with custom and updates). This runs one cell of it (10-100 ms tools, diamond of
10 by default: the row whose target is closest to what LangGraph itself costs) in four
ways, run after run in turn so that the machine's drift hits each alike: durability sync
or async (LangGraph's default), streamed with custom and updates or with updates only
(what ``invoke`` does). Beside each, the floor: the same bare executor as the one node
of a LangGraph graph (``run_node`` there). Both are timed to their node's update, by
``bench/llm_compiler.py``'s own runs.

Usage:
    .venv/bin/python bench/llm_compiler_modes.py [--shape diamond --tasks 10 --repeats 31]
        [--out bench/results/llm_compiler_modes.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import llm_compiler as bench  # noqa: E402

MODES = [("sync", ("custom", "updates")), ("sync", ("updates",)),
         ("async", ("custom", "updates")), ("async", ("updates",))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", default="diamond", choices=bench.SHAPES)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmpdir, bench._OPEN:
        tmp = Path(tmpdir)
        bench.use_tool("bare", tmp)
        steps = bench.make_dag(args.shape, args.tasks, 10, 100, seed=1)
        model = bench.planner_model(steps, 16, 0.0005)
        bound = bench.critical_path(steps, bench.emission_times(model))

        def fresh() -> Path:  # each run on a new thread of the graph's database
            return Path(tempfile.mkdtemp(dir=tmp))

        for _ in range(2):  # warm: imports, toolbox, scripted models, SQLite files
            bench.run_compiler(model, fresh(), args.tasks)
            bench.run_node(model, fresh())

        kinds: dict[str, Callable[[str, tuple[str, ...]], float]] = {
            "langgraph node": lambda d, m: bench.run_node(model, fresh(), d, m),
            "llm_compiler": lambda d, m: bench.run_compiler(model, fresh(), args.tasks, d, m)}
        runs: dict[tuple[str, str, tuple[str, ...]], list[float]] = {}
        for _ in range(args.repeats):
            for durability, modes in MODES:
                for kind, run in kinds.items():
                    runs.setdefault((kind, durability, modes), []).append(
                        run(durability, modes))
    lines = [
        f"# llm_compiler against its LangGraph floor, by run mode "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", "",
        f"Machine: {platform.node() or 'unknown'}, {os.cpu_count()} cores (Python "
        f"{platform.python_version()}); load average before {load[0]:.2f}, after "
        f"{os.getloadavg()[0]:.2f}. Cell: 10-100 ms tools, {args.shape} of {args.tasks}, "
        f"critical path {bound:.3f} s, planner at 500 µs a token. Median of "
        f"{args.repeats} runs of each, taken in turn. `langgraph node`: the bare executor "
        "as the one node of a LangGraph graph (`bench/llm_compiler.py`'s floor). Both end at "
        "their node's update; SQLite checkpointer.", "",
        f"Command: `.venv/bin/python bench/llm_compiler_modes.py --shape {args.shape} "
        f"--tasks {args.tasks} --repeats {args.repeats} --out {args.out or '-'}`", "",
        "| durability | stream modes | langgraph node × | llm_compiler × | "
        "llm_compiler above the floor (ms) |",
        "|---|---|---|---|---|"]
    for durability, modes in MODES:
        floor_s = statistics.median(runs[("langgraph node", durability, modes)])
        ours = statistics.median(runs[("llm_compiler", durability, modes)])
        lines.append(f"| {durability} | {' + '.join(modes)} | {floor_s / bound:.3f} | "
                     f"{ours / bound:.3f} | {(ours - floor_s) * 1000:.1f} |")
    table = "\n".join([*lines, ""])
    print(table)
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
