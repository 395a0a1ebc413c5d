"""The joiner's task subjects and own words, worked out once per plan, equal the plain
definitions (each task compared with every sibling)."""

from __future__ import annotations

import random

from agent_graphs.llm_compiler.subjects import own_words, subject, words


def _plain_subject(step, plan):
    args = step.get("args") or {}
    said = " ".join(str(v) for v in args.values())
    shared = any(s["id"] != step["id"] and s["tool"] == step["tool"]
                 and s.get("description") == step.get("description") for s in plan)
    return said if shared or not step.get("description") else step["description"]


def _plain_own_words(plan, sid):
    step = next(s for s in plan if s["id"] == sid)
    mine = words(_plain_subject(step, plan))
    others = set().union(*(words(_plain_subject(s, plan)) for s in plan
                           if s["id"] != sid and s["tool"] == step["tool"]))
    return mine - others, others - mine


def test_subjects_and_own_words_match_the_plain_definitions():
    rng = random.Random(7)
    vocab = ["globex", "initech", "umbrella", "pricing", "plans", "revenue", "quarter",
             "monthly", "entry", "growth"]
    for _ in range(30):
        plan = [{"id": f"s{i}", "tool": rng.choice(["search", "calculator"]),
                 "description": rng.choice(["", "Find the price", "Compare plans",
                                            " ".join(rng.sample(vocab, 3))]),
                 "args": {"query": " ".join(rng.sample(vocab, 2))}}
                for i in range(1, rng.randint(2, 12))]
        for step in plan:
            assert subject(step, plan) == _plain_subject(step, plan)
            assert own_words(plan, step["id"]) == _plain_own_words(plan, step["id"])
    # a plan grown in place is worked out again, not served from the cache
    plan.append({"id": "s99", "tool": "search", "description": "Find the price",
                 "args": {"query": "zzzz unique"}})
    assert subject(plan[-1], plan) == _plain_subject(plan[-1], plan)
