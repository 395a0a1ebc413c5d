"""What each task of a plan is about, in words, for the joiner's evidence and checks.

A task's subject is its description, or its arguments' text when a sibling (same tool)
has the same description; its own words are those of its subject no sibling has. The
joiner asks for them once per task in several passes, so they are worked out once per
plan (see :func:`_about`).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["own_words", "subject", "words"]

_WORD = re.compile(r"[a-z]{4,}")


def words(text: str) -> set[str]:
    # Plurals folded ("plans" is "plan"): ranking lines, not quoting them.
    return {w[:-1] if w.endswith("s") and len(w) > 4 else w
            for w in _WORD.findall(text.lower())}


def subject(step: Mapping[str, Any], plan: Sequence[Mapping[str, Any]]) -> str:
    """What this task alone was for, in words: its description, or its arguments' text
    when a sibling (same tool) has the same description (the 0.5B planner gave three
    searches the goal as their description and only the queries told them apart)."""
    return _about(plan).subjects[step["id"]]


def own_words(plan: Sequence[Mapping[str, Any]], sid: str) -> tuple[set[str], set[str]]:
    """Words of task ``sid``'s subject that no sibling task (same tool) has, and the
    siblings' words it does not have: what sets it apart, and what sets them apart."""
    about = _about(plan)
    tool = about.tools[sid]
    mine = words(about.subjects[sid])
    counts = about.counts[tool]  # in how many of this tool's tasks each word is
    others = {w for w, n in counts.items() if n - (w in mine) > 0}
    return mine - others, others - mine


class _About(NamedTuple):
    subjects: dict[str, str]
    tools: dict[str, str]
    counts: dict[str, Counter[str]]


_ABOUT: dict[int, tuple[Sequence[Mapping[str, Any]], _About]] = {}
_ABOUT_LOCK = threading.Lock()


def _about(plan: Sequence[Mapping[str, Any]]) -> _About:
    """Every task's subject and its tool's word counts, worked out once per plan.

    NOTE: asked once per task by several passes; worked out each time it was quadratic
    in the plan (cubic for the own words), the bulk of a 200-task join's CPU.
    """
    with _ABOUT_LOCK:
        hit = _ABOUT.get(id(plan))
        if hit is not None and hit[0] is plan and len(hit[1].subjects) == len(plan):
            return hit[1]
    described = Counter((s["tool"], s.get("description")) for s in plan)
    subjects, tools = {}, {}
    counts: dict[str, Counter[str]] = {}
    for s in plan:
        args = s.get("args") or {}
        said = " ".join(str(v) for v in args.values()) if isinstance(args, dict) else str(args)
        shared = described[(s["tool"], s.get("description"))] > 1
        subjects[s["id"]] = said if shared or not s.get("description") else str(s["description"])
        tools[s["id"]] = s["tool"]
        counts.setdefault(s["tool"], Counter()).update(words(subjects[s["id"]]))
    about = _About(subjects, tools, counts)
    with _ABOUT_LOCK:
        if len(_ABOUT) >= 8:  # plans of past joins: keep a few (the entry holds its plan)
            _ABOUT.pop(next(iter(_ABOUT)))
        _ABOUT[id(plan)] = (plan, about)
    return about
