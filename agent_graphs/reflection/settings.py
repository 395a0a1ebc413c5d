"""Settings of the reflection graph: fields of the shared ``Context`` (``reflection_*``).

``reflection_settings(ctx)`` reads them from any object that has them (a ``Context``),
else from the defaults, which read ``AGENT_GRAPHS_REFLECTION_*`` first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agent_graphs.fields import section
from agent_graphs.fields import setting as _setting

__all__ = ["BUILTIN_CHECKS", "ReflectionSettings", "reflection_settings"]

BUILTIN_CHECKS = ("word_limit", "required_facts", "unsupported_numbers")
"""Checks the settings can switch on by name (others are passed to ``build_graph``)."""


@dataclass(kw_only=True)
class ReflectionSettings:
    """How the generate <-> critique loop runs; every field is a Context setting."""

    reflection_max_iterations: int = _setting(
        "reflection_max_iterations", 3,
        "Reflection: most drafts the critic judges in one run (the first and each revision)",
        int,
    )
    reflection_min_score: float = _setting(
        "reflection_min_score", 0.0,
        "Reflection: critic score (0-1) that accepts a draft whose checks pass even without "
        "the critic's approval; 0 = only the critic's approval accepts", float,
    )
    reflection_human_review: bool = _setting(
        "reflection_human_review", False,
        "Reflection: a person approves, rejects (with feedback) or edits a draft before it "
        "is accepted", bool,
    )
    reflection_checks: str = _setting(
        "reflection_checks", ",".join(BUILTIN_CHECKS),
        "Reflection: built-in checks to run, comma-separated, from " + ", ".join(BUILTIN_CHECKS)
        + " (checks given to build_graph always run); a failing check blocks approval",
    )
    reflection_word_limit: int = _setting(
        "reflection_word_limit", 0,
        "Reflection: most words a draft may have; 0 = from the goal ('100-word summary' "
        "allows 110), negative = no limit", int,
    )
    reflection_required_facts: list[str] = _setting(
        "reflection_required_facts", list,
        "Reflection: phrases every draft must contain (case and spacing ignored), as a "
        "JSON list", json.loads,
    )
    reflection_search: bool = _setting(
        "reflection_search", True,
        "Reflection: when the input carries no sources, the writer searches for facts first",
        bool,
    )
    reflection_search_results: int = _setting(
        "reflection_search_results", 3,
        "Reflection: how many documents that search may return (1-10)", int,
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first setting that is out of range."""
        if self.reflection_max_iterations < 1:
            raise ValueError("reflection_max_iterations must be at least 1")
        if not 0.0 <= self.reflection_min_score <= 1.0:
            raise ValueError(
                f"reflection_min_score must be between 0 and 1, not {self.reflection_min_score}"
            )
        if not 1 <= self.reflection_search_results <= 10:
            raise ValueError("reflection_search_results must be between 1 and 10")
        unknown = set(self.check_names()) - set(BUILTIN_CHECKS)
        if unknown:
            raise ValueError(f"unknown reflection_checks {sorted(unknown)}; "
                             f"known: {', '.join(BUILTIN_CHECKS)}")
        if not isinstance(self.reflection_required_facts, list) or not all(
            isinstance(f, str) for f in self.reflection_required_facts
        ):
            raise ValueError("reflection_required_facts must be a list of strings")

    def check_names(self) -> list[str]:
        """The built-in checks switched on, in order."""
        return [n.strip() for n in self.reflection_checks.split(",") if n.strip()]


def reflection_settings(ctx: Any) -> ReflectionSettings:
    """Return the reflection settings of ``ctx``: its own values, else the defaults.

    Raises:
        ValueError: A value is out of range.
    """
    return section(ctx, ReflectionSettings)
