"""Numbers in text, and the rule that decides whether a text's numbers come from its sources.

Shared by every check of the kind: the reflection loop's unsupported-number check
(``reflection.checks.UnsupportedNumbers``) and the final-answer check of the plan graphs
(``agent_graphs.grounding``).

The rule, so a writer (and a reader) can predict it:

- **What is a number**: digits with optional thousands commas and decimals, with an
  optional currency sign before and ``%``/"percent" or a scale after ("k", "m", "bn",
  "thousand", "million", "billion", "trillion"): ``9.2``, ``9.20``, ``$9.20M``,
  ``41.3%``, ``1,234``, ``$41.95 million``.
- **Equal values match**, whatever the format: ``9.2`` = ``9.20``; ``1,234`` = ``1234``;
  ``$9.20M`` = ``$9.20 million`` = ``$9,200,000``.
- **Rounding is allowed**: a draft number matches a source number that rounds to it at
  the draft's precision (half up): ``$42M`` and ``$41.9 million`` both match
  ``$41.95 million``; ``41%`` matches ``41.3%``; ``40%`` does not.
- **Labels are not figures**: digits glued to letters (``Q4``, ``FY2025``, ``V2``,
  ``24th``, ``5G``) are not checked in the draft.
- **Small counting numbers pass**: bare integers 0-12 ("two quarters", "3 products", "12
  months") are not checked: they are rarely facts, and are too common to trace.
- **Years are checked**, and the goal counts as a source: ``2025`` passes when a source
  or the goal mentions it (``FY2025`` in the goal counts), ``2031`` does not.
- **Derived numbers are flagged** (a growth rate the writer computed): put the result of
  the calculation in the sources, e.g. from a calculator step, to allow it.
- **No sources, no check**: with no sources at all it passes and says it was skipped.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Figure", "checked", "figure_spans", "figures", "known_values", "sorted_known",
           "supported", "unsupported_figures", "values_of"]

_SCALES = {"k": 3, "thousand": 3, "m": 6, "mn": 6, "million": 6, "b": 9, "bn": 9,
           "billion": 9, "trillion": 12}
# NOTE: a figure never spans lines (a space or tab between its parts, not a newline), so
# a text's figures are its lines' figures: the report traces them line by line from one
# parse of each source.
_NUMBER = re.compile(
    r"(?P<cur>[$€£])?[ \t]?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:[ \t]?(?P<pct>%|percent\b))?"
    r"(?:[ \t]?(?P<scale>thousand|million|billion|trillion|bn|mn|[kmb])(?![A-Za-z]))?"
    r"(?P<tail>[A-Za-z]*)",
    re.IGNORECASE,
)


class Figure(NamedTuple):
    """One number as written: its text, value, the worth of its last digit, and kind."""

    text: str
    value: Decimal
    """Value including the scale: ``$9.20M`` -> 9200000."""
    quantum: Decimal
    """What its last written digit is worth: ``$9.20M`` -> 10000; ``41%`` -> 1."""
    digits: Decimal
    """The number without the scale: ``$9.20M`` -> 9.20."""
    digits_quantum: Decimal
    """What its last written digit is worth without the scale: ``$9.20M`` -> 0.01."""
    label: bool
    """Glued to letters (``Q4``, ``FY2025``, ``24th``): a name, not a figure."""
    bare_int: bool
    """No currency, percent, scale or decimals: a count or a year."""


def figures(text: str) -> tuple[Figure, ...]:
    """Every number in ``text``, in order."""
    return tuple(fig for _, fig in figure_spans(text))


@lru_cache(maxsize=4096)
def figure_spans(text: str) -> tuple[tuple[int, Figure], ...]:
    """Every number in ``text`` with the offset where it starts, in order.

    Cached: a run checks the same sources again and again (each draft, the final answer,
    the report's trace of every figure), and parsing was most of that work.
    """
    return tuple(_parse(text))


_POW10 = {n: Decimal(10) ** n for n in range(-40, 41)}
"""Powers of ten by exponent, made once (a figure needs two; ``**`` costs a microsecond)."""


def _pow10(n: int) -> Decimal:
    return _POW10.get(n) or Decimal(10) ** n


def _parse(text: str) -> Iterator[tuple[int, Figure]]:
    for m in _NUMBER.finditer(text):
        cur, num, pct, scale_word, tail = m.group("cur", "num", "pct", "scale", "tail")
        start = m.start("num")
        before = text[start - 1] if start > 0 else " "
        raw = num.replace(",", "") if "," in num else num
        digits = Decimal(raw)
        _, dot, frac = raw.partition(".")
        digits_quantum = _pow10(-len(frac))
        exp = _SCALES.get(scale_word.lower(), 0) if scale_word else 0
        if exp:
            scale = _pow10(exp)
            value, quantum = digits * scale, digits_quantum * scale
        else:
            value, quantum = digits, digits_quantum
        yield m.start(), Figure(
            m.group(0).strip(), value, quantum, digits, digits_quantum,
            before.isalpha() or before in "._" or bool(tail),
            not (cur or pct or exp or dot),
        )


def checked(fig: Figure) -> bool:
    """Whether the rule checks ``fig`` in a draft (labels and counts up to 12 are not)."""
    return not (fig.label or (fig.bare_int and fig.value <= 12))


def values_of(figs: Iterable[Figure]) -> list[Decimal]:
    """The values ``figs`` support: each one's full value and its digits alone."""
    return [v for fig in figs for v in (fig.value, fig.digits)]


def known_values(texts: Sequence[str]) -> list[Decimal]:
    """The values ``texts`` support (:func:`values_of` their figures)."""
    return [v for text in texts for v in values_of(figures(text))]


def supported(fig: Figure, known: Sequence[Decimal]) -> bool:
    """Whether ``fig`` matches one of the ``known`` values (see the rule above)."""
    # Compare the full value ($9.2M = 9200000) and the digits alone (9.2), so a source's
    # "$9.20 million" supports "$9,200,000" and "9.2" alike; within half the last digit's
    # worth, so a number rounded from a source's passes.
    return any(abs(fig.value - k) <= fig.quantum / 2
               or abs(fig.digits - k) <= fig.digits_quantum / 2 for k in known)


def unsupported_figures(draft: str, texts: Sequence[str]) -> tuple[int, list[str]]:
    """Check ``draft``'s figures against ``texts``; return (how many checked, unsupported).

    Labels and bare integers up to 12 are not checked; the texts' labels do count as
    support (``FY2025`` supports ``2025``).
    """
    known = sorted_known(tuple(texts))
    count, unsupported = 0, []
    for fig in figures(draft):
        if not checked(fig):
            continue
        count += 1
        if not supported(fig, _near(known, fig)) and fig.text not in unsupported:
            unsupported.append(fig.text)
    return count, unsupported


@lru_cache(maxsize=64)
def sorted_known(texts: tuple[str, ...]) -> tuple[Decimal, ...]:
    """:func:`known_values` sorted, as :func:`unsupported_figures` searches them; kept
    (a tuple: every caller shares it): each draft of a report is checked against the
    same texts, and a str hashes once, so the lookup is cheap."""
    return tuple(sorted(known_values(texts)))


def _near(known: Sequence[Decimal], fig: Figure) -> list[Decimal]:
    """The sorted ``known`` values within half a last digit of ``fig`` (by value or by its
    digits): the only ones :func:`supported` can match, found by bisection instead of
    comparing every source figure with every draft figure (most of a check's time)."""
    near: list[Decimal] = []
    for centre, half in ((fig.value, fig.quantum / 2), (fig.digits, fig.digits_quantum / 2)):
        near += known[bisect_left(known, centre - half):bisect_right(known, centre + half)]
    return near
