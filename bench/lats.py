"""Benchmark LATS against five baselines on every solvable Game of 24, no model needed.

Run: ``nice -n 19 python bench/lats.py --workers 1 [--subset N] [--repeats R]
[--accounting per-state] [--anchors]``. Writes the table to ``bench/results/lats.md``
(only for a full run with the default accounting: every puzzle, no ``--subset``).

The puzzles are all 1362 solvable multisets of four numbers from 1 to 13 (ground truth by
exhaustive search with exact fractions, memoized: ``agent_graphs.lats.envs.game24``).
Each search gets a budget of model calls; a call is either

- a **policy** call: proposes ``k`` distinct legal moves from a state, uniformly at random
  (like a sampled LLM, it knows nothing of which moves work); or
- a **value** call: scores states as their true solvability (1 or 0) plus Gaussian
  noise of standard deviation sigma, clipped to [0, 1]. *Independent* noise is drawn
  afresh for every state and call. *Correlated* noise is the same for every state of a
  puzzle that holds the same numbers: per puzzle, each number value gets one error drawn
  once, and a state's error is their sum over its numbers divided by sqrt(count), times
  sigma — the value model misjudges the same numbers the same way all through the problem.

**Accounting.** By default (``--accounting batched``) one value call scores all the
unfinished states one policy call proposed — the way ToT/LATS implementations score a
batch, and what the graph's evaluate node does (one structured call returning a list of
verdicts; ``agent_graphs.lats.tree.to_evaluate``), so the graph's ``lats_max_model_calls``
counts exactly what this benchmark counts. LATS also re-judges the expanded node and up
to ``lats_rejudge_children`` of its earlier children in that call (no extra call), and
makes no value call as the budget's last. ``--accounting per-state`` charges one value
call per state (the accounting of the first version of this benchmark). ``--anchors`` prints the baselines
under each accounting candidate against the numbers quoted in issue 11.

A finished state (one number left) is checked exactly, for free, by every method: the
environment verifies it, as the graph's game24 environment does. LATS is
``agent_graphs.lats.tree`` — the same functions, in the same order, as the graph's nodes
(select, expand, act, evaluate, backpropagate) with ``LatsSettings``' defaults.
"""

from __future__ import annotations

import argparse
import heapq
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from functools import lru_cache
from itertools import combinations_with_replacement
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_graphs.lats import tree as T  # noqa: E402
from agent_graphs.lats.envs.game24 import TARGET, moves, solvable  # noqa: E402
from agent_graphs.lats.settings import LatsSettings  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "lats.md"
SIGMAS = (0.1, 0.3, 0.5)
BUDGETS = (15, 30, 60)
NOISES = ("independent", "correlated")
K = LatsSettings().lats_n_candidates  # proposals per policy call, the graph's default
SEED_WEIGHT = 1.41  # the LATS paper's sqrt(2)
TOT_BEAM = 2
# The legal moves of a state, memoized: the jobs run puzzle by puzzle, so a small cache
# holds every state one puzzle's searches reach.
legal_moves = lru_cache(maxsize=50_000)(moves)


def puzzles() -> list[tuple[int, ...]]:
    """Every solvable puzzle of four numbers from 1 to 13."""
    return [p for p in combinations_with_replacement(range(1, 14), 4) if solvable(p)]


class OutOfBudget(Exception):
    """The search asked for a model call past its budget."""


class Sim:
    """The simulated policy and value models of one search, counting calls.

    ``batched``: one value call scores every state it is given (the states one policy call
    proposed), as the graph's evaluate node does; otherwise each state costs its own call.
    ``clip``: value estimates are clipped to [0, 1] (a real value model answers in range).
    """

    def __init__(self, puzzle: tuple[int, ...], sigma: float, budget: int, noise: str,
                 seed: str, *, k: int = K, batched: bool = True, clip: bool = True) -> None:
        self.rng = random.Random(seed)
        self.sigma, self.budget, self.noise = sigma, budget, noise
        self.k, self.batched, self.clip = k, batched, clip
        self.bias_seed = f"{seed.split('|')[0]}|{puzzle}"  # shared by every method
        self.calls = 0

    def left(self) -> int:
        return self.budget - self.calls

    def _spend(self) -> None:
        if self.calls >= self.budget:
            raise OutOfBudget
        self.calls += 1

    def propose(self, numbers: tuple) -> list[tuple[str, tuple]]:
        """One policy call: k distinct legal moves at random, as (key, resulting numbers)."""
        self._spend()
        legal = legal_moves(numbers)
        picked = self.rng.sample(legal, min(self.k, len(legal)))
        return [(" ".join(map(str, rest)), rest) for *_, rest in picked]

    def _bias(self, value: Fraction) -> float:
        return random.Random(f"{self.bias_seed}|{value}").gauss(0.0, 1.0)

    def _estimate(self, numbers: tuple) -> float:
        if self.noise == "independent":
            error = self.rng.gauss(0.0, 1.0)
        else:
            error = sum(self._bias(v) for v in numbers) / math.sqrt(len(numbers))
        value = float(solvable(numbers)) + self.sigma * error
        return min(1.0, max(0.0, value)) if self.clip else value

    def values(self, states: list[tuple]) -> list[float]:
        """Value call(s) for ``states``: true solvability plus noise each."""
        if not states:
            return []
        if self.batched:
            self._spend()
            return [self._estimate(s) for s in states]
        out = []
        for state in states:
            self._spend()
            out.append(self._estimate(state))
        return out

    def calls_for(self, n: int) -> int:
        """Model calls that scoring ``n`` states costs."""
        return min(n, 1) if self.batched else n


def finished(numbers: tuple) -> bool:
    return len(numbers) == 1


def won(numbers: tuple) -> bool:
    return len(numbers) == 1 and numbers[0] == TARGET


# --- LATS: the graph's tree functions, phase by phase -------------------------------------


def lats(sim: Sim, root: tuple, s: LatsSettings) -> bool:
    tree = T.new_tree(state=root)
    iteration = 0
    while T.stop_reason(tree, iteration=iteration, calls=sim.calls, tokens=0,
                        max_iterations=0, max_calls=sim.budget,  # calls are the limit here
                        max_tokens=0) is None:
        nid = T.select(tree, weight=s.lats_exploration_weight, reask_below=s.lats_reask_below,
                       max_asks=s.lats_max_asks)
        if nid is None:
            break
        iteration += 1
        patch, new_ids = T.add_children(tree, nid, sim.propose(tree[nid]["state"]))  # expand
        tree = T.merge_tree(tree, patch)
        for child in new_ids:  # act: the environment plays the move and verifies the end
            rest = tree[child]["action"]
            tree = T.merge_tree(tree, T.record_outcome(
                child, depth=tree[child]["depth"], observation="", state=rest,
                terminal=finished(rest),
                solved=won(rest) if finished(rest) else None, max_depth=s.lats_max_depth))
        ids = T.to_evaluate(tree, new_ids, sim.left(), batched=sim.batched,  # evaluate
                           parent=nid, rejudge=s.lats_rejudge_children,  # batched: second
                           max_asks=s.lats_max_asks)  # opinions on the node and its children
        for child, score in zip(ids, sim.values([tree[c]["state"] for c in ids]), strict=True):
            tree = T.merge_tree(tree, T.record_score(tree, child, score=score))
        tree = T.merge_tree(tree, T.backpropagate(tree, nid, new_ids, max_asks=s.lats_max_asks,
                                                  pessimism=s.lats_value_pessimism))
    return T.solved_node(tree) is not None


# --- baselines ----------------------------------------------------------------------------


def _best_first(sim: Sim, root: tuple, reask: bool, s: LatsSettings) -> bool:
    """Expand the best-scored open state anywhere; with ``reask``, ask again where all look bad."""
    frontier: list[tuple[float, int, tuple]] = [(-1.0, 0, root)]
    order = 1
    while frontier:
        _, _, state = heapq.heappop(frontier)
        seen: set[str] = set()
        for _ask in range(s.lats_max_asks if reask else 1):
            fresh = [(k, r) for k, r in sim.propose(state) if k not in seen]
            seen |= {k for k, _ in fresh}
            if any(won(rest) for _, rest in fresh):
                return True
            unfinished = [rest for _, rest in fresh if not finished(rest)]
            scores = sim.values(unfinished)
            for score, rest in zip(scores, unfinished, strict=True):
                heapq.heappush(frontier, (-score, order, rest))
                order += 1
            best = max(scores, default=0.0)
            if not fresh or best >= s.lats_reask_below:
                break
    return False


def greedy(sim: Sim, root: tuple, s: LatsSettings) -> bool:
    return _best_first(sim, root, False, s)


def greedy_reask(sim: Sim, root: tuple, s: LatsSettings) -> bool:
    return _best_first(sim, root, True, s)


def tot_beams(sim: Sim, root: tuple, s: LatsSettings) -> bool:
    """Breadth-first: expand every state of the beam, keep the best TOT_BEAM; again from
    the root (new samples) while budget is left."""
    while True:
        beam = [root]
        while beam:
            scored = []
            for state in beam:
                proposed = [rest for _, rest in sim.propose(state)]
                if any(won(rest) for rest in proposed):
                    return True
                unfinished = [rest for rest in proposed if not finished(rest)]
                scored += zip(sim.values(unfinished), unfinished, strict=True)
            scored.sort(key=lambda x: -x[0])
            beam = [rest for _, rest in scored[:TOT_BEAM]]


def random_rollouts(sim: Sim, root: tuple, s: LatsSettings) -> bool:
    """Follow a random proposal down to the end (finished proposals are all checked, as
    every method checks them); again while budget is left."""
    while True:
        state = root
        while not finished(state):
            proposals = [rest for _, rest in sim.propose(state)]
            if any(won(rest) for rest in proposals):
                return True
            state = sim.rng.choice(proposals)


class _SeedNode:
    """A node as LangGraph's LATS tutorial keeps it: running-mean value, visits, parent."""

    def __init__(self, state: tuple, parent: _SeedNode | None, score: float) -> None:
        self.state, self.parent, self.children = state, parent, []
        self.value, self.visits = 0.0, 0
        node = self
        while node:  # backpropagate the new node's score at creation
            node.visits += 1
            node.value = (node.value * (node.visits - 1) + score) / node.visits
            node = node.parent

    def uct(self) -> float:
        # As published: the running mean is divided by the visits again.
        return (self.value / self.visits
                + SEED_WEIGHT * math.sqrt(math.log(self.parent.visits) / self.visits))


def seed_lats(sim: Sim, root: tuple, s: LatsSettings) -> bool:
    """A straight port of the seed's lats_search: select the max-UCT leaf (finished or
    not), expand it with k candidates, score each, back each score up at creation."""
    top = _SeedNode(root, None, 0.0)
    while True:
        node = top
        while node.children:
            node = max(node.children, key=_SeedNode.uct)
        proposed = [rest for _, rest in
                    (sim.propose(node.state) if not finished(node.state) else _wasted(sim))]
        if any(won(rest) for rest in proposed):
            return True
        unfinished = [rest for rest in proposed if not finished(rest)]
        scores = dict(zip(unfinished, sim.values(unfinished), strict=True))
        for rest in proposed:
            node.children.append(_SeedNode(rest, node, scores.get(rest, 0.0)))


def _wasted(sim: Sim) -> list:
    """Expanding a finished leaf: the policy is called and has no legal move to offer."""
    sim.propose(())
    return []


METHODS: dict[str, Callable[[Sim, tuple, LatsSettings], bool]] = {
    "LATS (this)": lats, "greedy best-first": greedy, "greedy + re-ask": greedy_reask,
    "ToT beams (b=2)": tot_beams, "random rollouts": random_rollouts,
    "seed lats_search": seed_lats,
}


def run_one(job: tuple) -> tuple[str, str, float, int, int, bool]:
    method, noise, sigma, budget, puzzle, repeat, overrides, sim_options = job
    settings = LatsSettings(**overrides)
    root = tuple(sorted(Fraction(n) for n in puzzle))
    # The same seed for every method: their first calls see the same samples and noise.
    sim = Sim(puzzle, sigma, budget, noise, f"{repeat}|{noise}|{sigma}|{budget}|{puzzle}",
              **sim_options)
    try:
        ok = METHODS[method](sim, root, settings)
    except OutOfBudget:
        ok = False
    return method, noise, sigma, budget, repeat, ok


def measure(methods: list[str], overrides: dict, chosen: list, repeats: int, workers: int,
            sigmas: tuple[float, ...] = SIGMAS, noises: tuple[str, ...] = NOISES,
            sim_options: dict | None = None, first_repeat: int = 0) -> dict[tuple, float]:
    """Solve rate in percent per (method, noise, sigma, budget)."""
    per_puzzle = [(m, noise, sigma, budget) for m in methods for noise in noises
                  for sigma in sigmas for budget in BUDGETS]
    jobs = [(*cell, p, r, overrides, sim_options or {}) for p in chosen
            for r in range(first_repeat, first_repeat + repeats) for cell in per_puzzle]
    if workers <= 1:  # in this process: no pool to start
        results = list(map(run_one, jobs))
    else:
        with Pool(min(workers, 2)) as pool:
            results = pool.map(run_one, jobs, chunksize=len(per_puzzle) * repeats)
    wins: dict[tuple, list[bool]] = {}
    for method, noise, sigma, budget, _, ok in results:
        wins.setdefault((method, noise, sigma, budget), []).append(ok)
    return {key: 100.0 * sum(v) / len(v) for key, v in wins.items()}


CELLS = [(noise, sigma, budget) for noise in NOISES for sigma in SIGMAS for budget in BUDGETS]
SWEEP_WEIGHTS = (0.1, 0.25, 1.41)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=0, help="every Nth puzzle only (quick)")
    parser.add_argument("--repeats", type=int, default=1, help="seeds per puzzle and cell")
    parser.add_argument("--workers", type=int, default=2, help="processes (at most 2)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--no-sweep", action="store_true",
                        help="skip the exploration-weight and max-asks sensitivity tables")
    parser.add_argument("--accounting", choices=("batched", "per-state"), default="batched",
                        help="batched (default): one value call scores all the states one "
                        "policy call proposed, as the graph does; per-state: one call each")
    parser.add_argument("--anchors", action="store_true",
                        help="instead: the baselines under each accounting candidate, every "
                        "5th puzzle, against issue 11's anchor numbers")
    parser.add_argument("--set", action="append", default=[],
                        help="override a LatsSettings field, e.g. lats_max_asks=2")
    parser.add_argument("--local", type=int, default=0, metavar="N",
                        help="instead: run the graph with the embedded model on N puzzles")
    parser.add_argument("--local-budget", type=int, default=30,
                        help="model calls per puzzle for --local")
    args = parser.parse_args(argv)
    if args.local:
        return run_local(args.local, args.local_budget)
    if args.anchors:
        return anchors()
    sim_options = {"batched": args.accounting == "batched"}
    overrides = {k: type(getattr(LatsSettings(), k))(v)
                 for k, v in (item.split("=", 1) for item in args.set)}
    started = time.perf_counter()
    all_puzzles = puzzles()
    chosen = all_puzzles[::args.subset] if args.subset else all_puzzles
    methods = args.methods.split(",")
    rates = measure(methods, overrides, chosen, args.repeats, args.workers,
                    sim_options=sim_options)
    lines = header(args, overrides, len(chosen), len(all_puzzles))
    lines += table(rates, methods)
    if "LATS (this)" in methods:
        lines += verdict(rates, methods)
    if not args.no_sweep and "LATS (this)" in methods:
        lines += sweeps(overrides, chosen, args, sim_options)
    lines.append(f"\nTotal time: {time.perf_counter() - started:.0f} s with "
                 f"{max(1, min(args.workers, 2))} worker processes.")
    text = "\n".join(lines) + "\n"
    print(text)
    if (not args.subset and not overrides and set(methods) == set(METHODS)
            and args.accounting == "batched"):
        save(text, local=False)
    return 0


LOCAL_HEADING = "## The graph with the embedded model"


def save(text: str, *, local: bool) -> None:
    """Write the simulated part or the embedded-model part of the results, keeping the other."""
    old = RESULTS.read_text() if RESULTS.exists() else ""
    simulated, _, embedded = old.partition("\n" + LOCAL_HEADING)
    embedded = LOCAL_HEADING + embedded if embedded else ""
    if local:
        RESULTS.write_text(simulated.rstrip() + "\n\n" + text)
    else:
        RESULTS.write_text(text.rstrip() + ("\n\n" + embedded if embedded else "\n"))
    print(f"written to {RESULTS}")


def run_local(n: int, budget: int) -> int:
    """Run the LATS graph itself, every role on the embedded model, on ``n`` puzzles."""
    import tempfile

    from langgraph.checkpoint.memory import InMemorySaver

    from agent_graphs.lats.graph import builder
    from agent_graphs.lats.settings import LatsContext

    chosen = random.Random(0).sample(puzzles(), n)
    graph = builder.compile(checkpointer=InMemorySaver())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        ctx = LatsContext(model="local", workspace=folder, outbox=f"{folder}/outbox.jsonl",
                          lats_max_model_calls=budget)
        for i, puzzle in enumerate(chosen):
            config = {"configurable": {"thread_id": f"local-{i}"}, "recursion_limit": 500}
            started = time.perf_counter()
            try:
                graph.invoke({"goal": "Make 24", "env": "game24", "numbers": list(puzzle)},
                             config, context=ctx, durability="exit")
                error = ""
            except Exception as err:  # noqa: BLE001 - reported in the table
                error = f"{type(err).__name__}: {err}"[:120]
            seconds = time.perf_counter() - started
            values = graph.get_state(config).values
            tree = values.get("tree") or {}
            moves_made = [node for node in tree.values() if node["depth"] > 0]
            illegal = sum(node["observation"].startswith("illegal") for node in moves_made)
            rows.append((puzzle, values.get("status", "error"), values.get("model_calls", 0),
                         sum((values.get("usage") or {}).values()), len(moves_made), illegal,
                         seconds, error or values.get("final_answer", "")))
            print(rows[-1], flush=True)
    lines = [LOCAL_HEADING, "",
             f"{date.today().isoformat()} · `python bench/lats.py --local {n} --local-budget "
             f"{budget}` · every role on "
             f"`local` (Qwen2.5-Coder-0.5B-Instruct, Q4_K_M, llama.cpp, one request at a "
             f"time) · budget {budget} model calls per puzzle, other LATS settings default · "
             "puzzles drawn with `random.Random(0)`.", "",
             "| puzzle | status | model calls | tokens | moves tried | illegal | seconds | "
             "answer |", "|---|---|---|---|---|---|---|---|"]
    for puzzle, status, calls, tokens, tried, illegal, seconds, answer in rows:
        short = " ".join(str(answer).split())[:90].replace("|", "/")
        lines.append(f"| {' '.join(map(str, puzzle))} | {status} | {calls} | {tokens} | "
                     f"{tried} | {illegal} | {seconds:.0f} | {short} |")
    solved = sum(r[1] == "done" for r in rows)
    lines += ["", f"Solved {solved} of {len(rows)}."]
    text = "\n".join(lines) + "\n"
    print(text)
    save(text, local=True)
    return 0


def header(args: argparse.Namespace, overrides: dict, n: int, total: int) -> list[str]:
    s = LatsSettings(**overrides)
    batched = args.accounting == "batched"
    cost = ("one value call scores all the unfinished states one policy call proposed (the "
            "graph's evaluate node: a list of verdicts; the expanded node is judged again in "
            "the same call), so the cheapest path to a finished state costs 5 calls (1 + 1, "
            "1 + 1, 1)" if batched else
            "one value call per new unfinished state (`--accounting per-state`), so the "
            "cheapest path to a finished state costs 13 calls (1 + 5, 1 + 5, 1)")
    return [
        "# LATS benchmark: Game of 24, simulated policy and value",
        "",
        f"{date.today().isoformat()} · {platform.machine()} · {os.cpu_count()} CPUs "
        f"(shared) · Python {platform.python_version()} · `nice -n 19 python bench/lats.py "
        f"--workers {max(1, min(args.workers, 2))}"
        f"{' --repeats ' + str(args.repeats) if args.repeats > 1 else ''}"
        f"{'' if batched else ' --accounting per-state'}`",
        "",
        f"**Accounting: {args.accounting}** — {cost}. {n} of {total} solvable puzzles × "
        f"{args.repeats} seed(s) per cell; every method gets the same seed per puzzle and "
        f"cell. k = {K} proposals per policy call; finished states are checked exactly, "
        f"free. LATS: `agent_graphs.lats.tree` with exploration weight "
        f"{s.lats_exploration_weight}, re-ask below {s.lats_reask_below}, at most "
        f"{s.lats_max_asks} asks per node (greedy + re-ask uses the same two), value "
        f"pessimism {s.lats_value_pessimism}, up to {s.lats_rejudge_children} earlier "
        "children of the expanded node judged again in its value call, no value call as "
        "the budget's last. Percent of "
        "puzzles solved within the budget of model calls; best in each row in bold.",
        "",
        "LATS's defaults were chosen on other seeds (repeat index 1; the re-judging cap on "
        "indices 1-8), over every 5th puzzle from the 3rd (the value pessimism over all "
        "puzzles), then measured here on seed 0; the sensitivity tables show the "
        "alternatives.",
        "",
    ]


ANCHOR = {"seed lats_search": 36.6, "ToT beams (b=2)": 53.8, "random rollouts": 54.9,
          "greedy best-first": 73.1, "greedy + re-ask": 88.1}


def anchors() -> int:
    """Issue 11's anchors (mean over the nine independent-noise cells) against each
    accounting candidate: value calls batched or per state, k = 2..5, noise clipped or not."""
    chosen = puzzles()[::5]
    lines = ["| accounting | k | clipped | " + " | ".join(ANCHOR) + " | seed at 15 | "
             "sum of |gaps| |", "|---|---|---|" + "---|" * (len(ANCHOR) + 2)]
    lines.append("| issue 11 | | | " + " | ".join(f"{v:.1f}" for v in ANCHOR.values())
                 + " | 0.0 | |")
    for batched in (True, False):
        for k in (2, 3, 4, 5):
            for clip in (True, False):
                options = {"batched": batched, "k": k, "clip": clip}
                rates = measure(list(ANCHOR), {}, chosen, 1, 1, noises=("independent",),
                                sim_options=options)
                means = {m: sum(rates[(m, "independent", sg, b)] for sg in SIGMAS
                                for b in BUDGETS) / 9 for m in ANCHOR}
                at15 = sum(rates[("seed lats_search", "independent", sg, 15)]
                           for sg in SIGMAS) / 3
                gap = sum(abs(means[m] - ANCHOR[m]) for m in ANCHOR)
                lines.append(f"| {'batched' if batched else 'per-state'} | {k} | "
                             f"{'yes' if clip else 'no'} | "
                             + " | ".join(f"{means[m]:.1f}" for m in ANCHOR)
                             + f" | {at15:.1f} | {gap:.1f} |")
                print(lines[-1], flush=True)
    print("\n".join(lines))
    return 0


def table(rates: dict, methods: list[str]) -> list[str]:
    lines = ["| noise | σ | calls | " + " | ".join(methods) + " |",
             "|---|---|---|" + "---|" * len(methods)]
    for noise, sigma, budget in CELLS:
        row = [rates[(m, noise, sigma, budget)] for m in methods]
        text = [f"**{v:.1f}**" if v == max(row) else f"{v:.1f}" for v in row]
        lines.append(f"| {noise} | {sigma} | {budget} | " + " | ".join(text) + " |")
    for noise in (*NOISES, None):
        cells = [c for c in CELLS if noise in (None, c[0])]
        means = [sum(rates[(m, *c)] for c in cells) / len(cells) for m in methods]
        lines.append(f"| {noise or 'all'} | mean | | " + " | ".join(f"{v:.1f}" for v in means)
                     + " |")
    return lines


def verdict(rates: dict, methods: list[str]) -> list[str]:
    """The issue's targets, checked: LATS >= every baseline in every cell; >= 85% at 30
    calls with independent sigma = 0.5."""
    behind = []
    for cell in CELLS:
        mine = rates[("LATS (this)", *cell)]
        for m in methods:
            if m != "LATS (this)" and rates[(m, *cell)] > mine:
                behind.append(f"{cell[0]} σ={cell[1]} {cell[2]} calls: {m} "
                              f"{rates[(m, *cell)]:.1f} > LATS {mine:.1f}")
    target = rates[("LATS (this)", "independent", 0.5, 30)]
    return [
        "",
        "## Targets",
        "",
        f"- LATS ≥ every baseline in every cell: **{'met' if not behind else 'NOT met'}**"
        + (f" (met in {len(CELLS) - len({b.split(':')[0] for b in behind})} of {len(CELLS)} "
           "cells)"
           if behind else f" (all {len(CELLS)} cells)."),
        *[f"  - behind: {b}" for b in behind],
        "- ≥ 85% at 30 calls with independent σ = 0.5: "
        f"**{'met' if target >= 85 else 'NOT met'}**"
        f" ({target:.1f}%).",
    ]


def sweeps(overrides: dict, chosen: list, args: argparse.Namespace,
           sim_options: dict) -> list[str]:
    """How LATS moves with its exploration weight, and both re-askers with more asks."""
    lines = ["", "## Sensitivity", "",
             "LATS with other exploration weights, no value pessimism or no re-judging of "
             "earlier children (all else default), "
             "and LATS and greedy + re-ask with 3 asks per node (the old default) instead "
             "of 6:", "",
             "| setting | " + " | ".join(f"{n[:4]} σ{sg} {b}" for n, sg, b in CELLS)
             + " | mean |", "|---|" + "---|" * (len(CELLS) + 1)]
    runs = [(f"LATS, weight {w}", ["LATS (this)"], {**overrides, "lats_exploration_weight": w})
            for w in SWEEP_WEIGHTS]
    runs.append(("LATS, pessimism 0", ["LATS (this)"], {**overrides, "lats_value_pessimism": 0.0}))
    runs.append(("LATS, re-judge 0", ["LATS (this)"], {**overrides, "lats_rejudge_children": 0}))
    runs.append(("3 asks", ["LATS (this)", "greedy + re-ask"], {**overrides, "lats_max_asks": 3}))
    for label, methods, setting in runs:
        rates = measure(methods, setting, chosen, args.repeats, args.workers,
                        sim_options=sim_options)
        for m in methods:
            row = [rates[(m, *c)] for c in CELLS]
            name = label if len(methods) == 1 else f"{m}, {label}"
            lines.append(f"| {name} | " + " | ".join(f"{v:.1f}" for v in row)
                         + f" | {sum(row) / len(row):.1f} |")
    methods = ["LATS (this)", "greedy + re-ask"]
    exact = measure(methods, overrides, chosen, args.repeats, args.workers, sigmas=(0.0,),
                    noises=("independent",), sim_options=sim_options)
    lines += ["", "A perfect value model (σ = 0), for reference:", "",
              "| method | " + " | ".join(f"{b} calls" for b in BUDGETS) + " |",
              "|---|" + "---|" * len(BUDGETS)]
    lines += [f"| {m} | " + " | ".join(f"{exact[(m, 'independent', 0.0, b)]:.1f}"
                                      for b in BUDGETS) + " |" for m in methods]
    return lines


if __name__ == "__main__":
    sys.exit(main())
