"""LATS settings, written as fields to merge into the shared ``Context``.

Each field uses the project's ``_setting`` helper, so the precedence is the same as every
other setting: a value passed for the run > ``AGENT_GRAPHS_LATS_...`` > the default. Until
the fields are part of ``Context``, :func:`lats_settings` reads them from the run's
context when it has them and falls back to these defaults (and the environment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_graphs.fields import section
from agent_graphs.fields import setting as _setting

__all__ = ["LatsContext", "LatsSettings", "lats_settings"]


def __getattr__(name: str) -> Any:
    # ``LatsContext`` was Context plus these settings; they are part of Context now.
    if name == "LatsContext":
        from agent_graphs.context import Context

        return Context
    raise AttributeError(name)


@dataclass(kw_only=True)
class LatsSettings:
    """How the tree search explores, and when it stops."""

    lats_exploration_weight: float = _setting(
        "lats_exploration_weight", 0.0,
        "LATS: weight of UCT's exploration bonus (values are 0-1: keep it far below the "
        "textbook 1.41); 0 explores only by backing up failures and asking again, which "
        "did best in bench/lats.py", float,
    )
    lats_n_candidates: int = _setting(
        "lats_n_candidates", 5, "LATS: actions the policy proposes per expansion", int
    )
    lats_max_iterations: int = _setting(
        "lats_max_iterations", 30, "LATS: most select-expand-evaluate-backpropagate rounds", int
    )
    lats_max_depth: int = _setting(
        "lats_max_depth", 6, "LATS: most actions on one branch; deeper nodes end the branch",
        int,
    )
    lats_max_model_calls: int = _setting(
        "lats_max_model_calls", 60,
        "LATS: budget of model calls (policy and value, retries included); 0 = no limit", int,
    )
    lats_token_budget: int = _setting(
        "lats_token_budget", 0, "LATS: budget of model tokens for the search; 0 = no limit",
        int,
    )
    lats_reask_below: float = _setting(
        "lats_reask_below", 0.5,
        "LATS: ask the policy again at a node whose children all have a value below this",
        float,
    )
    lats_max_asks: int = _setting(
        "lats_max_asks", 6, "LATS: most times the policy is asked to expand one node", int
    )
    lats_value_pessimism: float = _setting(
        "lats_value_pessimism", 0.15,
        "LATS: a child's value counts as value - this / sqrt(visits) when backed up to its "
        "parent (the best of several noisy guesses is biased up); 0 = off", float,
    )
    lats_rejudge_children: int = _setting(
        "lats_rejudge_children", 8,
        "LATS: earlier children of an expanded node that its value call judges again "
        "(best-scored first; the judgements are averaged, so the value model's noise "
        "averages out): costs prompt tokens, not calls; 0 = off", int,
    )
    lats_solve_threshold: float = _setting(
        "lats_solve_threshold", 0.9,
        "LATS: value-model score an answer needs to count as solved where nothing can "
        "verify it (the corpus environment)", float,
    )
    lats_code_timeout: float = _setting(
        "lats_code_timeout", 10.0, "LATS: seconds a candidate program's tests may run", float
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first setting that is out of range."""
        for name in ("lats_n_candidates", "lats_max_depth", "lats_max_asks"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("lats_max_iterations", "lats_max_model_calls", "lats_token_budget",
                     "lats_rejudge_children"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("lats_reask_below", "lats_solve_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 0.0 <= self.lats_value_pessimism <= 1.0:
            raise ValueError("lats_value_pessimism must be between 0 and 1")
        if self.lats_exploration_weight < 0:
            raise ValueError("lats_exploration_weight must not be negative")
        if self.lats_code_timeout <= 0:
            raise ValueError("lats_code_timeout must be positive")


def lats_settings(ctx: Any) -> LatsSettings:
    """Return the LATS settings of a run: ``ctx``'s ``lats_*`` values, else the defaults."""
    return section(ctx, LatsSettings)
