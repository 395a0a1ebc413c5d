"""Benchmark the reflection loop: return the last draft (the seed) or the best, with and
without external checks.

Run: ``python bench/reflection.py [--runs 400] [--max-iterations 4]``. Each run drives the
real graph (compiled in memory) with scripted models, the same seed in both arms:

- **writer**: each draft has a hidden true quality (first draft 0.35-0.75; a revision
  moves it by N(+0.06, 0.12), so revisions usually help and sometimes hurt) and may
  carry a figure that is in no source (a hallucination) or run past the goal's word
  limit; less likely the better the draft. A revision fixes a problem it was told about
  (by a failed check or by the critic) with probability 0.8, one it was not told about
  with 0.1, and brings in a new hallucination with 0.1. Drafts are real text; the real
  checks judge them.
- **critic** with seeded noise: score = quality + N(0, 0.15); it notices a hallucination
  by itself with probability 0.3 and an overlong draft with 0.5 (always, when a failed
  check is shown to it); each noticed problem costs 0.25 and blocks its approval; it
  approves a score of 0.75 or more.

Arms: checks off (``reflection_checks=""``, the seed's loop) or on (word limit from the
goal + unsupported numbers). Within one run, "last" and "best" share the trajectory (the
accepted draft is always the last one), so both are read off the same run: "last" is the
final draft, "best" is what the graph returns. "meets checks" judges the returned draft
with both checks afterwards, in every arm. Writes ``bench/results/reflection.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fakes: the project's one scripted chat model

from langchain_core.messages import AIMessage, BaseMessage  # noqa: E402

from agent_graphs.reflection.checks import (  # noqa: E402
    UnsupportedNumbers,
    WordLimit,
    goal_word_limit,
)
from agent_graphs.reflection.graph import build_graph  # noqa: E402
from tests.fakes import call, install  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "reflection.md"
GOAL = "Write a 100-word summary of Acme's FY2025 results"
SOURCE = (ROOT / "tools" / "corpus" / "sales-fy-2025-summary.md").read_text()
SOURCES = [{"id": "d1", "text": SOURCE, "source": "sales-fy-2025-summary.md"}]
CHECKS = [WordLimit(max_words=goal_word_limit(GOAL) or 110), UnsupportedNumbers(GOAL)]
SENTENCES = [
    "Acme Corp's fiscal year 2025 revenue was {total}, up {growth} from $33.8 million.",
    "Quarterly revenue rose from $9.20 million in Q1 to $12.10 million in Q4.",
    "Sensors brought $23.50 million, Acme Cloud $14.35 million and Services $4.10 million.",
    "Acme Cloud paying customers grew from 1,240 to 1,530, with net revenue retention of 118%.",
    "Highlights were the VibeSense V2 launch, the Acme Cloud price increase and a record "
    "fourth quarter.",
]
PADDING = ("The company expects the momentum to continue as customers adopt its platform "
           "across regions and product lines, while the team keeps investing in reliability, "
           "support and partner programs that widen its reach. ")
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


class ScriptedRun:
    """One run's writer and critic, answering from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.drafts: dict[str, dict[str, Any]] = {}
        self.last: dict[str, Any] | None = None

    def writer(self, messages: list[BaseMessage], bound: dict[str, Any]) -> str:
        rng, prev = self.rng, self.last
        prompt = messages[-1].text
        if prev is None:
            q = rng.uniform(0.35, 0.75)
            wrong = rng.random() < 0.6 * (1 - q) + 0.1
            long = rng.random() < 0.5 * (1 - q) + 0.1
        else:
            q = _clip(prev["q"] + rng.gauss(0.06, 0.12))
            told_wrong = "unsupported_numbers" in prompt or "not in the sources" in prompt
            told_long = "word_limit" in prompt or "too long" in prompt
            wrong = (prev["wrong"] and rng.random() >= (0.8 if told_wrong else 0.1)) or (
                rng.random() < 0.1)
            long = prev["long"] and rng.random() >= (0.8 if told_long else 0.1)
        n = len(self.drafts)
        body = " ".join(SENTENCES).format(total="$43.20 million" if wrong else "$41.95 million",
                                          growth="29%" if wrong else "24%")
        text = (f"Summary {WORDS[n % len(WORDS)]}: {body} " + (PADDING * 2 if long else "")).strip()
        self.last = self.drafts[text] = {"q": q, "wrong": wrong, "long": long, "n": n}
        return text

    def critic(self, messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
        prompt = messages[-1].text
        text = re.search(r"<draft>\n(.*?)\n</draft>", prompt, re.DOTALL).group(1)
        draft = self.drafts[text]
        checks = prompt.split("<checks>")[-1]
        score = _clip(draft["q"] + self.rng.gauss(0, 0.15))
        issues = []
        if draft["wrong"] and ("unsupported_numbers: FAILED" in checks
                               or self.rng.random() < 0.3):
            issues.append("a figure is not in the sources")
        if draft["long"] and ("word_limit: FAILED" in checks or self.rng.random() < 0.5):
            issues.append("the summary is too long")
        score = _clip(score - 0.25 * len(issues))
        return call("Critique", issues=issues, fixes=[], approved=not issues and score >= 0.75,
                    score=round(score, 3))


def meets_checks(text: str) -> bool:
    """Both checks pass on ``text`` (judged afterwards, whatever the arm ran)."""
    return all(check.run(text, SOURCES).passed for check in CHECKS)


def run_arm(runs: int, max_iterations: int, checks_on: bool) -> dict[str, Any]:
    graph = build_graph().compile()
    context = {"critic_model": "fake:critic", "models": {"writer": "fake:writer"},
               "reflection_max_iterations": max_iterations,
               "reflection_checks": "word_limit,unsupported_numbers" if checks_on else ""}
    rows = []
    for seed in range(runs):
        script = ScriptedRun(seed)
        install(fallbacks={"writer": script.writer, "critic": script.critic})
        out = graph.invoke({"goal": GOAL, "sources": SOURCES}, context=context)
        best, last = out["final_answer"], out["drafts"][-1]
        rows.append({"calls": out["model_calls"], "approved": out["approved"],
                     "best_ok": meets_checks(best), "last_ok": meets_checks(last),
                     "best_q": script.drafts[best]["q"], "last_q": script.drafts[last]["q"],
                     "max_q": max(d["q"] for d in script.drafts.values())})
    return {"rows": rows}


def table(results: dict[str, dict[str, Any]], runs: int) -> list[str]:
    lines = ["| checks | returns | meets checks | approved | true quality (mean) | "
             "best-seen quality (mean) | model calls (mean) | model calls (max) |",
             "|---|---|---|---|---|---|---|---|"]
    for arm, data in results.items():
        rows = data["rows"]
        for pick in ("last", "best"):
            ok = sum(r[f"{pick}_ok"] for r in rows)
            lines.append(
                f"| {arm} | {pick}{' (seed)' if arm == 'off' and pick == 'last' else ''} | "
                f"{ok / runs:.1%} ({ok}/{runs}) | {sum(r['approved'] for r in rows) / runs:.1%} | "
                f"{statistics.mean(r[f'{pick}_q'] for r in rows):.3f} | "
                f"{statistics.mean(r['max_q'] for r in rows):.3f} | "
                f"{statistics.mean(r['calls'] for r in rows):.2f} | "
                f"{max(r['calls'] for r in rows)} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400, help="seeded runs per arm")
    parser.add_argument("--max-iterations", type=int, default=4)
    args = parser.parse_args()
    started = time.perf_counter()
    results = {arm: run_arm(args.runs, args.max_iterations, arm == "on") for arm in ("off", "on")}
    seconds = time.perf_counter() - started
    header = [
        "# Reflection: return the last draft or the best, with and without external checks",
        "",
        f"{date.today().isoformat()}, {platform.machine()} {platform.system()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"`python bench/reflection.py --runs {args.runs} --max-iterations "
        f"{args.max_iterations}` ({seconds:.0f} s for {2 * args.runs} graph runs).",
        "",
        "Scripted writer with known draft quality, critic with seeded noise (see the "
        "script's docstring); seeds 0.." + str(args.runs - 1) + " in both arms. "
        "\"meets checks\": the returned draft is within the goal's word limit (110) and "
        "has no figure missing from the source, judged afterwards in every arm.",
        "",
    ]
    text = "\n".join(header + table(results, args.runs)) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
