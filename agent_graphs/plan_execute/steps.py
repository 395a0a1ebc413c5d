"""How plan-and-execute turns a planned step into a call and a result into a verdict,
with as few model calls as the facts allow.

- A step's ``$id`` references are bound to earlier steps' values; a search result gives
  its value through a grounded extraction (``agent_graphs.grounding``), once.
- Planned arguments that are complete (valid for the tool, a calculator expression that
  evaluates) run as planned; only incomplete ones go to the executor model.
- Built-in tools are judged by what they returned, not by a critic model: a calculator
  result is a number, a search found documents or did not, a file or email tool
  succeeded or raised. Only tools the runtime cannot judge (a factory's extra tools) ask
  the critic.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from agent_graphs.context import Context
from agent_graphs.grounding import extract
from agent_graphs.models import chat_model
from agent_graphs.plans import Plan, implied_dependencies, references
from tools import RISKS, Toolbox, ToolError
from tools.calculator import FUNCTIONS, NAMES

__all__ = ["bind_references", "judge", "link_placeholders", "planned_args_ready", "value_of"]

_NO_HITS = "No documents matched"


def value_of(record: Mapping[str, Any]) -> Any:
    """What ``$id`` stands for: an extracted or computed value, else the output itself."""
    if "value" in record:
        return record["value"]
    return record.get("output")


def _number(text: Any) -> float | None:
    try:
        return float(str(text).strip())
    except ValueError:
        return None


def bind_references(
    ctx: Context, step: Mapping[str, Any], results: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, int], str]:
    """Bind the step's ``$id`` references to values, extracting them where needed.

    Returns:
        The values by step id, records updated with newly extracted values (to store),
        the tokens used, and a problem (empty when every reference has a value).
    """
    values: dict[str, Any] = {}
    updated: dict[str, Any] = {}
    usage: dict[str, int] = {}
    for ref in sorted(references(step["args"])):
        record = results[ref]
        if "value" in record:
            values[ref] = record["value"]
        elif (number := _number(record.get("output"))) is not None:
            values[ref] = number
        else:
            what = str(record.get("description") or record.get("expected") or "")
            found, problem, used = extract(lambda: chat_model(ctx, "executor"), what=what,
                                           output=str(record.get("output", "")))
            usage = {k: usage.get(k, 0) + used.get(k, 0) for k in {*usage, *used}}
            if found is None:
                return values, updated, usage, f"no value for ${ref}: {problem}"
            values[ref] = found.value
            updated[ref] = {**record, "value": found.value, "quote": found.quote,
                            "source": found.source}
    return values, updated, usage, ""


def _placeholders(expression: str) -> bool:
    """True when a calculator expression holds words where numbers belong ("q3 + q4")."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return True
    return any(isinstance(node, ast.Name) and node.id not in NAMES | FUNCTIONS.keys()
               for node in ast.walk(tree))


def planned_args_ready(box: Toolbox, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """Return the planned arguments cleaned if the tool can run them as they are.

    Arguments the schema refuses, or a calculator expression with placeholders, are not
    ready: the executor model fills them in from the earlier results.
    """
    try:
        clean = box.validate_args(tool, args)
    except ToolError:
        return None
    if tool == "calculator" and _placeholders(str(clean.get("expression", ""))):
        return None
    return clean


def judge(outcome: Mapping[str, Any]) -> tuple[bool, str] | None:
    """Decide a built-in tool's result without a model: (success, issues), or None to ask
    the critic (a tool the runtime does not know)."""
    if not outcome["ok"]:
        return False, str(outcome.get("error", "the tool failed"))
    if outcome["tool"] not in RISKS:
        return None
    output = str(outcome.get("output", ""))
    if outcome["tool"] == "search" and output.startswith(_NO_HITS):
        return False, f"the search found nothing: {output}"
    if outcome["tool"] == "calculator" and _number(output) is None:
        return False, f"the calculator gave no number: {output}"
    return True, ""


_OPERAND = re.compile(r"[A-Za-z_$][\w$ ]*[\w$]|[A-Za-z_$]")
_TOKEN = re.compile(r"[a-z0-9]+")


def link_placeholders(plan: Plan, done: Collection[str] = ()) -> Plan:
    """Turn placeholders in calculator expressions into ``$id`` references, and make every
    ``$id`` a step names (earlier in the plan, or in ``done``) one of its dependencies.

    A small planner writes "(Q2 - Q1) / Q1 * 100" for "growth from the Q1 to the Q2
    figure": each placeholder is replaced by the one earlier step whose description and
    arguments share the most of its words ("Q2" -> the step that looked up Q2 2026), and
    that step is added to depends_on. A placeholder that fits no step, or two equally,
    stays as it is and fails as a placeholder would.
    """
    # A $id names the step it needs: that is the dependency, declared or not (the 0.5B
    # model left depends_on empty three times running, feedback or not).
    plan = implied_dependencies(plan, done)
    steps = list(plan.steps)
    changed = False
    for i, step in enumerate(steps):
        expression = step.args.get("expression") if isinstance(step.args, dict) else None
        if step.tool != "calculator" or not isinstance(expression, str):
            continue
        earlier = steps[:i]
        words = {s.id: set(_TOKEN.findall(
            f"{s.description} {s.expected_output} {json.dumps(s.args)}".lower()))
            for s in earlier}
        deps = list(step.depends_on)

        def link(match: re.Match[str]) -> str:
            text = match[0]
            if text.startswith("$") or text in NAMES or text in FUNCTIONS:
                return text
            tokens = set(_TOKEN.findall(text.lower()))
            scores = {sid: len(tokens & w) for sid, w in words.items()}
            best = max(scores.values(), default=0)
            winners = [sid for sid, n in scores.items() if n == best]
            if best == 0 or len(winners) != 1:
                return text
            if winners[0] not in deps:
                deps.append(winners[0])
            return f"${winners[0]}"

        linked = _OPERAND.sub(link, expression)
        if linked != expression:
            steps[i] = step.model_copy(update={"args": {**step.args, "expression": linked},
                                               "depends_on": deps})
            changed = True
    return plan.model_copy(update={"steps": steps}) if changed else plan
