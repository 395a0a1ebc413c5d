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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from agent_graphs.figures import figures, unsupported_figures
from agent_graphs.llm import structured
from tools.search import period_keys

__all__ = ["Extraction", "Value", "asked_actions", "claimed_actions", "extract",
           "missing_actions", "unsupported_numbers"]

EXTRACT_PROMPT = """Copy from the search result the one line that states: {what}
Then give the number in that line as a plain number (no $, %, commas or words).

<result>
{result}
</result>"""

_HIT = re.compile(r"^\[\d+\] (?P<title>.*?) \(source: (?P<source>[^)]+)\)$", re.M)
_WORD = re.compile(r"[a-z]{4,}")
# Words a step description uses that say nothing about which line holds the value.
_VAGUE = frozenset("""find look search what which acme company total give show list value
number figure amount their from with that this year quarter fiscal""".split())


class Extraction(BaseModel):
    """A value read from a tool result, with the exact line it came from."""

    quote: str = Field(max_length=200, description="The line of the result that states the "
                       "value, copied exactly")
    value: float = Field(description="The number in that line, plain: no $, %, commas, units")


@dataclass(frozen=True)
class Value:
    """A grounded value: what a later step's ``$id`` stands for."""

    value: float
    quote: str
    source: str
    """The document the quote is in (``sales-q1-2025.md``), or ``tool`` for a bare result."""


def _norm(text: str) -> str:
    return " ".join(text.replace("**", "").replace("`", "").split()).lower()


def _blocks(output: str) -> list[tuple[str, str, str]]:
    """Split a search result into (title, source, text) per document hit."""
    heads = list(_HIT.finditer(output))
    if not heads:
        return [("", "tool", output)]
    return [(h["title"], h["source"],
             output[h.end(): heads[i + 1].start() if i + 1 < len(heads) else len(output)])
            for i, h in enumerate(heads)]


def _problems(found: Extraction, what: str, output: str) -> tuple[list[str], str]:
    """Check an extraction against the result; return (problems, the quote's source)."""
    quote = _norm(found.quote)
    if not quote:
        return ["the quote is empty: copy the line that states the value"], ""
    blocks = [b for b in _blocks(output) if quote in _norm(b[2]) or quote in _norm(b[0])]
    if not blocks:
        return [f"the quote {found.quote!r} does not occur in the result: copy a line "
                "exactly as it is written"], ""
    wanted = set(period_keys(what))
    if wanted:
        blocks = [b for b in blocks if wanted & set(period_keys(b[0]))] or blocks[:0]
        if not blocks:
            return [f"the quote comes from a document about another period; use the one "
                    f"about {', '.join(sorted(wanted)).upper()}"], ""
    value = Decimal(str(found.value))
    if not any(abs(value - k) < Decimal("1e-9") for f in figures(found.quote)
               for k in (f.digits, f.value)):
        return [f"the value {found.value:g} is not the number in the quote {found.quote!r}"], ""
    words = set(_WORD.findall(what.lower())) - _VAGUE
    if words and not words & set(_WORD.findall(quote)):
        return [f"the quote does not mention {' or '.join(sorted(words))}: copy the line "
                "about that"], ""
    return [], blocks[0][1]


def extract(
    model: BaseChatModel, *, what: str, output: str, attempts: int = 2
) -> tuple[Value | None, str, dict[str, int]]:
    """Read the value ``what`` describes out of a tool ``output``, grounded in a quote.

    Returns:
        The value (None when no attempt gave a verifiable one), the last problem (empty
        on success), and the tokens used.
    """
    source: dict[str, str] = {}

    def check(found: Extraction) -> list[str]:
        problems, source["name"] = _problems(found, what, output)
        return problems

    # Only the documents about the period asked for, when the result says which: a
    # shorter prompt is faster on a small model and leaves it fewer wrong lines to copy.
    wanted = set(period_keys(what))
    about = [b for b in _blocks(output) if wanted and wanted & set(period_keys(b[0]))]
    shown = "\n\n".join(f"{title} (source: {src})\n{text.strip()}"
                         for title, src, text in about) or output
    prompt = EXTRACT_PROMPT.format(what=what, result=shown)
    try:
        found, usage = structured(model, Extraction, [HumanMessage(prompt)],
                                  attempts=attempts, check=check)
    except Exception as err:  # noqa: BLE001 - the step fails with the reason, the run goes on
        return None, str(err), {}
    return Value(found.value, found.quote.strip(), source["name"]), "", usage


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
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n", answer) if not _NEGATION.search(s)]
    return [tool for tool, _, claims in _ACTIONS if tool not in ran
            and any(claims.search(s) for s in sentences)]
