"""Small text helpers shared by the renderers."""

from __future__ import annotations

import json
from typing import Any


def short(value: Any, limit: int = 160) -> str:
    """Return ``value`` as one line of at most ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def kind(value: Any) -> str:
    """Return an approval request's kind (``tool_call``, ``plan``, ``draft``...)."""
    return str(value.get("kind", "tool_call")) if isinstance(value, dict) else "question"


def what(request: dict[str, Any], limit: int = 160) -> str:
    """Say in one line what a request asks for: a tool call, a plan, or anything else."""
    if kind(request) == "plan":
        steps = request.get("steps") or []
        return short(f"plan of {len(steps)} steps: "
                     + ", ".join(f"{s['id']} {s['tool']}" for s in steps), limit)
    if request.get("tool"):
        return f"{request.get('tool')}({short(request.get('args'), limit)})"
    detail = request.get("summary") or request.get("question") or request.get("args") or ""
    return short(f"{kind(request)}: {short(detail, limit)}", limit)
