"""Grounded values and honest answers, for every graph that plans tool calls.

- :func:`extract` turns a search result into a typed value with the exact quote it came
  from, by one small grammar-constrained call; the runtime checks that the quote is in
  the result, that the value is in the quote, and that the quote's document is about the
  period the step asked for. A value that fails is never used.
- :func:`unsupported_numbers` finds numbers in an answer that no result holds (the rule
  is in :mod:`agent_graphs.figures`), so the model's own arithmetic never reaches a user.
- :func:`missing_actions` names actions a goal asks for (send an email, write a file)
  that no tool result records, so a run never claims what did not happen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from agent_graphs.figures import figures, unsupported_figures
from agent_graphs.llm import structured
from tools.search import period_keys

__all__ = ["Extraction", "Value", "asked_actions", "candidates", "claimed_actions", "extract",
           "missing_results", "results_answer",
           "missing_actions", "unsupported_numbers"]

EXTRACT_PROMPT = """<lines>
{lines}
</lines>

Which line above gives: {what}? Answer with its number and the value it states, as a \
plain number (no $, %, commas or words)."""

_HIT = re.compile(r"^\[\d+\] (?P<title>.*?) \(source: (?P<source>[^)]+)\)$", re.M)
_WORD = re.compile(r"[a-z]{4,}")
# Words a step description uses that say nothing about which line holds the value.
_VAGUE = frozenset("""find look search what which acme company total give show list value
number figure amount their from with that this year quarter fiscal compute""".split())


class Extraction(BaseModel):
    """Which line of a tool result states the value, and the value it states."""

    line: int = Field(ge=1, description="The number of the line that gives the value")
    value: float = Field(description="The value that line states, plain: no $, %, commas, units")


@dataclass(frozen=True)
class Value:
    """A grounded value: what a later step's ``$id`` stands for."""

    value: float
    quote: str
    """The exact line of the tool result the value is stated in."""
    source: str
    """The document the line is in (``sales-q1-2025.md``), or ``tool`` for a bare result."""


def _blocks(output: str) -> list[tuple[str, str, str]]:
    """Split a search result into (title, source, text) per document hit."""
    heads = list(_HIT.finditer(output))
    if not heads:
        return [("", "tool", output)]
    return [(h["title"], h["source"],
             output[h.end(): heads[i + 1].start() if i + 1 < len(heads) else len(output)])
            for i, h in enumerate(heads)]


def candidates(what: str, output: str) -> list[tuple[str, str, str]]:
    """Lines of ``output`` that could state ``what``: (line, source, title), best first.

    Only documents about the period ``what`` names (when the result says which), and only
    lines with a figure that share a word with ``what`` (when it has telling words).
    """
    wanted = set(period_keys(what))
    blocks = _blocks(output)
    if wanted:
        blocks = [b for b in blocks if wanted & set(period_keys(b[0]))]
    words = set(_WORD.findall(what.lower())) - _VAGUE
    found = []
    for title, source, text in blocks:
        for line in text.splitlines():
            line = line.strip().lstrip("-* ").strip()
            if not any(not f.label for f in figures(line)):
                continue
            if words and not words & set(_WORD.findall(line.lower())):
                continue
            found.append((line, source, title, len(words & set(_WORD.findall(line.lower())))))
    # The lines sharing most words first, then the shortest: "Total revenue: $9.20 million."
    # before a note that mentions revenue on its way to another figure.
    found.sort(key=lambda f: (-f[3], len(f[0])))
    return [(line, source, title) for line, source, title, _ in found]


_RATIO = re.compile(r"percent|%|growth|grow|rate|share|margin|change", re.I)


def _stated(value: float, line: str, what: str = "") -> bool:
    """True when ``line`` writes ``value`` as a figure of the kind ``what`` asks for: a
    percentage only when it asks for a rate ("grew 30.7%" is not a revenue)."""
    number = Decimal(str(value))
    ratio = bool(_RATIO.search(what))
    return any(abs(number - k) < Decimal("1e-9") for f in figures(line)
               if not f.label and (ratio or "%" not in f.text and "percent" not in f.text)
               for k in (f.digits, f.value))


def extract(
    model: Callable[[], BaseChatModel], *, what: str, output: str, attempts: int = 2,
    lines: Sequence[tuple[str, str, str]] | None = None,
) -> tuple[Value | None, str, dict[str, int]]:
    """Read the value ``what`` describes out of a tool ``output``, with its exact line.

    The runtime picks the lines that could hold it (see :func:`candidates`). One line:
    its figure is the value and no model is asked. Several: one small grammar-constrained
    call picks a line and says its value, which must be a figure of that line.

    Args:
        model: Makes the chat model, only when one is needed.
        what: The value wanted, in words (a step's description).
        output: The tool result to read it from.
        attempts: How many answers the model may give.
        lines: The lines to choose from, as :func:`candidates` gives them, when the
            caller has narrowed them further (the LLM Compiler's joiner keeps a task's
            own lines among its siblings'); default: ``candidates(what, output)``.

    Returns:
        The value (None when no verifiable one was found), the problem (empty on
        success), and the tokens used.
    """
    lines = list(candidates(what, output) if lines is None else lines)
    if not lines:
        return None, f"no line of the result states {what!r} with a figure", {}
    if len(lines) == 1:
        line, source, _ = lines[0]
        first = next((f for f in figures(line) if not f.label
                      and _stated(float(f.digits), line, what)), None)
        if first is None:
            return None, f"the only line about {what!r} gives no figure of that kind", {}
        return Value(float(first.digits), line, source), "", {}

    def check(found: Extraction) -> list[str]:
        if found.line > len(lines):
            return [f"there are only {len(lines)} lines: pick one of 1-{len(lines)}"]
        line = lines[found.line - 1][0]
        if not _stated(found.value, line, what):
            return [f"line {found.line} ({line!r}) does not state {found.value:g} as {what!r} "
                    "needs it: pick the line that gives it, and its number as written"]
        return []

    # Each line with its document's title: a line that repeats the period ("Q2 2026 is
    # the highest revenue quarter") must not look more relevant than the report's total.
    prompt = EXTRACT_PROMPT.format(what=what, lines="\n".join(
        f"{i}. [{title}] {line}" if title else f"{i}. {line}"
        for i, (line, _, title) in enumerate(lines, 1)))
    try:
        found, usage = structured(model(), Extraction, [HumanMessage(prompt)],
                                  attempts=attempts, check=check)
    except Exception as err:  # noqa: BLE001 - the step fails with the reason, the run goes on
        return None, str(err), {}
    line, source, _ = lines[found.line - 1]
    return Value(found.value, line, source), "", usage


def results_answer(results: Mapping[str, Any], *, width: int = 200) -> str:
    """An answer made of the results themselves, for when the model's is not grounded:
    each step's value (with the line it came from) or the first ``width`` characters of
    its output."""
    lines = []
    for sid, r in results.items():
        said = (f"{r['value']:.10g}" if isinstance(r.get("value"), float)
                else _words_upto(str(r.get("output", "")), width))
        where = f" (\"{r['quote']}\", {r['source']})" if r.get("quote") else ""
        lines.append(f"- {sid} {r['tool']}: {said}{where}")
    return "The results:\n" + "\n".join(lines)


def _words_upto(text: str, width: int) -> str:
    """``text`` on one line, cut at a space within ``width`` characters: never inside a
    word or a number ("$9.45 million" must not become "$9.4")."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    cut = flat[:width + 1].rsplit(" ", 1)[0] if " " in flat[:width + 1] else flat[:width]
    return cut + " …"


def missing_results(answer: str, values: Mapping[str, float]) -> list[str]:
    """Ids of ``values`` (a run's end results) that the answer does not state, rounded
    at its precision or not: an answer must give what the run computed."""
    found = [f for f in figures(answer) if not f.label]
    return [sid for sid, value in values.items()
            if not any(abs(f.digits - Decimal(str(value))) <= f.digits_quantum / 2
                       or abs(f.value - Decimal(str(value))) <= f.quantum / 2 for f in found)]


def unsupported_numbers(answer: str, results: Iterable[Any], goal: str = "") -> list[str]:
    """Numbers in ``answer`` that no result (nor the goal) holds, as written."""
    texts = [goal, *(str(r) for r in results)]
    return unsupported_figures(answer, texts)[1]


_ACTIONS: Sequence[tuple[str, re.Pattern[str], re.Pattern[str]]] = (
    # (tool, a goal asking for it, an answer claiming it happened)
    ("send_email", re.compile(r"\b(e-?mail|send|mail)\b", re.I),
     re.compile(r"\b(sent|e-?mailed|mailed)\b", re.I)),
    ("write_file", re.compile(r"\b(write|save|store)\b.*\b(file|disk|workspace)\b|"
                              r"\b(file|note)\b.*\b(write|save)\b", re.I),
     re.compile(r"\b(wrote|written|saved)\b.*\b(file|workspace)\b", re.I)),
)


def asked_actions(goal: str) -> list[str]:
    """Tools the goal asks to use for an action with effects (send_email, write_file)."""
    return [tool for tool, asks, _ in _ACTIONS if asks.search(goal)]


def missing_actions(goal: str, done: Mapping[str, Any], rejected: Iterable[str]) -> list[str]:
    """Tools the goal asks to use that neither ran successfully nor a person rejected.

    Args:
        goal: The user's goal.
        done: Successful results by step id, each with its ``tool``.
        rejected: Tools whose call a person rejected (the answer must say so).
    """
    ran = {r.get("tool") for r in done.values()} | set(rejected)
    return [tool for tool in asked_actions(goal) if tool not in ran]


_NEGATION = re.compile(r"\b(not|never|no|nothing|cannot)\b|n't\b", re.I)


def claimed_actions(answer: str, done: Mapping[str, Any]) -> list[str]:
    """Tools the answer says were used ("I sent...") that no successful result records.

    A sentence with a negation ("was not sent") claims nothing.
    """
    ran = {r.get("tool") for r in done.values()}
    # A claim in a sentence is a match in the whole answer: most answers claim nothing,
    # and one search of the answer is cheaper than splitting it into sentences.
    claimed = [(tool, claims) for tool, _, claims in _ACTIONS
               if tool not in ran and claims.search(answer)]
    if not claimed:
        return []
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", answer) if not _NEGATION.search(s)]
    return [tool for tool, claims in claimed if any(claims.search(s) for s in sentences)]
