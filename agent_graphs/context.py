"""Run-time settings shared by every graph.

Precedence for each field: a value passed for the run > an environment variable > the
default. Environment variables are read by each field's ``default_factory`` when a
``Context`` is built, so a value passed explicitly always wins, even when it happens to
equal the default (the react-agent template gets this wrong).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Literal

ENV_PREFIX = "AGENT_GRAPHS_"

ApprovalMode = Literal["actions", "plan", "confidence", "budget", "none"]


def default_model() -> str:
    """Name the model used by every role that has no setting of its own.

    ``AGENT_GRAPHS_MODEL`` wins; otherwise a configured OpenAI provider
    (``OPENAI_API_KEY`` or ``OPENAI_BASE_URL``) gives ``openai:<OPENAI_MODEL or
    gpt-4o-mini>``; otherwise the embedded offline model, ``local``.
    """
    if name := os.environ.get(f"{ENV_PREFIX}MODEL"):
        return name
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        return "openai:" + os.environ.get("OPENAI_MODEL", "gpt-4o-mini")
    return "local"


def _env(name: str, default: Any, cast: type = str) -> Any:
    """Build a default_factory that reads ``AGENT_GRAPHS_<NAME>`` at construction time."""

    def factory() -> Any:
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            return default() if callable(default) else default
        if cast is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return cast(raw)

    return factory


def _setting(name: str, default: Any, description: str, cast: type = str) -> Any:
    env = ENV_PREFIX + name.upper()
    return field(
        default_factory=_env(name, default, cast),
        metadata={"description": f"{description} (env: {env})"},
    )


@dataclass(kw_only=True)
class Context:
    """Settings for one run; Studio renders these as the graph's settings form."""

    planner_model: str = _setting(
        "planner_model",
        default_model,
        "Model that writes and revises plans and the final answer, e.g. 'openai:gpt-4o', "
        "'local', 'local:1.5b' or 'local:/path/model.gguf'",
    )
    executor_model: str = _setting(
        "executor_model", default_model, "Model that fills in each step's tool arguments"
    )
    critic_model: str = _setting(
        "critic_model", default_model, "Model that judges whether a step achieved its goal"
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
        "max_steps", 12, "Most steps executed in one run, across all plans", int
    )
    max_tokens: int = _setting(
        "max_tokens", 1024, "Most tokens a model may generate in one call", int
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
    approval: str = _setting(
        "approval",
        "actions",
        "When to ask a person: 'actions' (HIGH-risk tools), 'plan' (the plan first, then "
        "HIGH-risk tools), 'confidence', 'budget', or 'none' (HIGH-risk tools still ask)",
    )

    def role_model(self, role: Literal["planner", "executor", "critic"]) -> str:
        """Return the model name configured for ``role``."""
        return getattr(self, f"{role}_model")


def context_from(overrides: dict[str, Any] | None = None) -> Context:
    """Build a Context from a partial dict, ignoring keys that are ``None``."""
    known = {f.name for f in fields(Context)}
    clean = {k: v for k, v in (overrides or {}).items() if k in known and v is not None}
    return Context(**clean)
