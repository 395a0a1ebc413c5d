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


def allowed(request: dict[str, Any]) -> list[str]:
    """The decision types a request allows (LangChain's ``review_configs``)."""
    configs = request.get("review_configs") or [{}]
    found = configs[0].get("allowed_decisions") if isinstance(configs[0], dict) else None
    return list(found or ["approve", "edit", "reject"])


def answer_flags(request: Any) -> list[str]:
    """The ``resume`` flags that answer ``request``, one per decision it allows, then the
    protocol's form."""
    request = request if isinstance(request, dict) else {}
    actions = request.get("action_requests") or [{}]
    args = actions[0].get("args") if isinstance(actions[0], dict) else None
    first = next(iter(args), "arg") if isinstance(args, dict) and args else "arg"
    change = ('\'{"steps": [...]}\'' if kind(request) == "plan"
              else json.dumps({first: "new value"}).join("''"))
    flags = {"approve": "--approve", "reject": '--reject "reason"',
             "edit": f"--edit {change}"}
    listed = [flags[d] for d in allowed(request) if d in flags]
    return listed + ['--answer \'{"decisions": [{"type": "approve"}]}\'']


ANSWER_NOTE = ("(--edit names only the arguments that change; --answer also takes LangChain's "
               "HITL form)")


def schema_lines(schema: Any) -> list[str]:
    """One line per argument of a JSON schema: name, type, pattern or choices, required."""
    if not isinstance(schema, dict):
        return []
    required = set(schema.get("required") or [])
    lines = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        text = f"{name}: {prop.get('type', 'any')}"
        if "pattern" in prop:
            text += f" matching {prop['pattern']}"
        if "enum" in prop:
            text += f" one of {', '.join(map(str, prop['enum']))}"
        lines.append(text + ("" if name in required else " (optional)"))
    return lines
