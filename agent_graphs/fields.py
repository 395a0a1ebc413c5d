"""How a setting is declared: one dataclass field that reads ``AGENT_GRAPHS_<NAME>``.

Kept apart from ``context`` so a pattern's own settings (``reflection/settings.py``...)
can declare fields the same way, and ``Context`` can be built from all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import field, fields
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["ENV_PREFIX", "default_model", "section", "setting"]

ENV_PREFIX = "AGENT_GRAPHS_"


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


def _env(name: str, default: Any, cast: Callable[[str], Any] = str) -> Any:
    """Build a default_factory that reads ``AGENT_GRAPHS_<NAME>`` at construction time."""

    def factory() -> Any:
        raw = os.environ.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            return default() if callable(default) else default
        if cast is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return cast(raw)

    return factory


def setting(
    name: str, default: Any, description: str, cast: Callable[[str], Any] = str
) -> Any:
    """Declare a setting: passed value > ``AGENT_GRAPHS_<NAME>`` > ``default``."""
    env = ENV_PREFIX + name.upper()
    return field(
        default_factory=_env(name, default, cast),
        metadata={"description": f"{description} (env: {env})"},
    )


def section(ctx: Any, cls: type[T]) -> T:
    """Return ``cls`` (a pattern's settings) filled from ``ctx`` where it has the field,
    else from the defaults (which read the environment): one reader for every pattern."""
    given = {f.name: getattr(ctx, f.name) for f in fields(cls)  # type: ignore[arg-type]
             if hasattr(ctx, f.name)}
    return cls(**given)
