"""Run-time settings shared by every graph.

Precedence for each field: a value passed for the run > an environment variable > the
default. Environment variables are read by each field's ``default_factory`` when a
``Context`` is built, so a value passed explicitly always wins, even when it happens to
equal the default (the react-agent template gets this wrong).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from agent_graphs.collector import freeze_once
from agent_graphs.fields import ENV_PREFIX, default_model
from agent_graphs.fields import setting as _setting
from agent_graphs.lats.settings import LatsSettings
from agent_graphs.llm_compiler.settings import CompilerSettings
from agent_graphs.planning_agent.settings import AgentSettings
from agent_graphs.reflection.settings import ReflectionSettings

__all__ = ["ENV_PREFIX", "ROLE_FIELDS", "Context", "context_from", "default_model",
           "get_context"]

ROLE_FIELDS = ("planner", "executor", "critic")
"""Roles with settings of their own; every other role is resolved by ``role_model``."""


@dataclass(kw_only=True)
class CoreSettings:
    """Settings every graph uses: models, limits, tools, approvals."""

    model: str = _setting(
        "model",
        default_model,
        "Model for every role without a setting of its own, e.g. 'openai:gpt-4o', 'local', "
        "'local:1.5b' or 'local:/path/model.gguf'",
    )
    planner_model: str = _setting(
        "planner_model", "", "Model that writes and revises plans and the final answer; "
        "empty = model"
    )
    executor_model: str = _setting(
        "executor_model", "", "Model that fills in each step's tool arguments; empty = model"
    )
    critic_model: str = _setting(
        "critic_model", "", "Model that judges results and drafts; empty = model"
    )
    models: dict[str, str] = _setting(
        "models", dict, "Models of other roles by name, e.g. {\"writer\": \"local:1.5b\"}; "
        "a role named nowhere uses AGENT_GRAPHS_<ROLE>_MODEL, else model", json.loads,
    )
    max_replans: int = _setting(
        "max_replans", 2, "How many times a failed step may trigger a new plan", int
    )
    max_plan_attempts: int = _setting(
        "max_plan_attempts",
        3,
        "How many times the planner may answer before an invalid plan ends the run",
        int,
    )
    max_steps: int = _setting(
        "max_steps", 8, "Most steps executed in one run, across all plans", int
    )
    planner_max_tokens: int = _setting(
        "planner_max_tokens", 600, "Most tokens the planner may generate in one call", int
    )
    executor_max_tokens: int = _setting(
        "executor_max_tokens", 200, "Most tokens the executor may generate in one call", int
    )
    critic_max_tokens: int = _setting(
        "critic_max_tokens", 200, "Most tokens the critic may generate in one call", int
    )
    max_tokens: int = _setting(
        "max_tokens", 400, "Most tokens any other role may generate in one call", int
    )
    tool_timeout: float = _setting(
        "tool_timeout", 30.0, "Seconds a tool may run before it counts as failed", float
    )
    workspace: str = _setting(
        "workspace", "./workspace", "Folder that read_file and write_file are confined to"
    )
    corpus_dir: str = _setting(
        "corpus_dir", "", "Folder of .md/.txt documents for search; empty = bundled corpus"
    )
    outbox: str = _setting(
        "outbox", "./.agent_graphs/outbox.jsonl", "File send_email appends to without SMTP"
    )
    approval_risk: Literal["high", "medium", "low"] = _setting(
        "approval_risk",
        "high",
        "Action-level gating: tools at or above this risk ('high', 'medium' or 'low') ask a "
        "person first; HIGH-risk tools always ask",
    )
    approve_plan: bool = _setting(
        "approve_plan", False, "Plan approval: show each new plan to a person before it runs",
        bool,
    )
    min_confidence: float = _setting(
        "min_confidence",
        0.0,
        "Confidence gating: a step the planner rated below this confidence (0-1) asks a "
        "person first; 0 turns it off",
        float,
    )
    token_budget: int = _setting(
        "token_budget",
        0,
        "Budget gating: after this many model tokens the run asks a person before each "
        "further step, granting another budget per yes; 0 turns it off",
        int,
    )

    def __post_init__(self) -> None:
        for role in ROLE_FIELDS:  # an empty role setting means "the model for every role"
            if not getattr(self, f"{role}_model"):
                setattr(self, f"{role}_model", self.model)
        if self.approval_risk not in ("high", "medium", "low"):
            raise ValueError(
                f"approval_risk must be high, medium or low, not {self.approval_risk!r}"
            )
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be between 0 and 1, not {self.min_confidence}")
        for name in ("max_replans", "max_plan_attempts", "max_steps", "token_budget",
                     "planner_max_tokens", "executor_max_tokens", "critic_max_tokens",
                     "max_tokens"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def role_model(self, role: str) -> str:
        """Return the model name for ``role`` (any name a graph gives one of its roles).

        A role with a field of its own (``planner_model``...) uses it; any other role uses
        ``models[role]``, else ``AGENT_GRAPHS_<ROLE>_MODEL``, else ``model``.
        """
        if role in ROLE_FIELDS:
            return str(getattr(self, f"{role}_model"))
        env = os.environ.get(f"{ENV_PREFIX}{role.upper()}_MODEL")
        return self.models.get(role) or env or self.model

    def role_max_tokens(self, role: str) -> int:
        """Return the most tokens ``role`` may generate in one call."""
        return int(getattr(self, f"{role}_max_tokens", self.max_tokens))


def get_context(runtime: Any) -> Context:
    """Return the run's Context (a default one when the caller passed none)."""
    freeze_once()  # every node starts here: the first one freezes the process's objects
    ctx = getattr(runtime, "context", None)
    return ctx if isinstance(ctx, Context) else Context()


@dataclass(kw_only=True)
class Context(CompilerSettings, LatsSettings, AgentSettings, ReflectionSettings, CoreSettings):
    """Settings for one run; Studio renders these as the graph's settings form.

    The shared settings come first, then each pattern's own (``reflection_*``...), all
    with the same precedence: a value passed for the run > the environment > default.
    """

    def __post_init__(self) -> None:
        CoreSettings.__post_init__(self)
        ReflectionSettings.validate(self)
        AgentSettings.validate(self)
        LatsSettings.validate(self)
        CompilerSettings.validate(self)


def context_from(overrides: dict[str, Any] | None = None) -> Context:
    """Build a Context from a partial dict, ignoring keys that are ``None``."""
    known = {f.name for f in fields(Context)}
    clean = {k: v for k, v in (overrides or {}).items() if k in known and v is not None}
    return Context(**clean)
