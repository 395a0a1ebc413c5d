"""Game of 24: combine four numbers with + - * / into 24, verified exactly.

A state is the list of numbers still in play, each ``{"value": "5/3", "expr": "(7-2)/3"}``
(values as exact fractions in text, so the state is JSON). A move takes two numbers and an
operator and puts the result back; after three moves one number is left, and the puzzle
is solved when it is exactly 24 (``fractions.Fraction``: no float rounding). The pure
functions at the top are shared with the benchmark, which also uses :func:`solvable` as
the ground truth (exhaustive search, memoized).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent_graphs.lats.envs.base import Outcome

TARGET = Fraction(24)
OPS = ("+", "-", "*", "/")
Numbers = tuple[Fraction, ...]


def apply_op(a: Fraction, op: str, b: Fraction) -> Fraction | None:
    """Return ``a op b``, or None for a division by zero."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return None if b == 0 else a / b
    raise ValueError(f"unknown operator {op!r}; use one of {' '.join(OPS)}")


def moves(numbers: Numbers) -> list[tuple[int, str, int, Numbers]]:
    """Every legal move ``(i, op, j, result numbers)``, one per distinct resulting state.

    Moves that give the same remaining numbers (``a+b`` and ``b+a``) are one move.
    """
    seen: set[Numbers] = set()
    found = []
    for i in range(len(numbers)):
        for j in range(len(numbers)):
            if i == j:
                continue
            for op in OPS:
                value = apply_op(numbers[i], op, numbers[j])
                if value is None:
                    continue
                rest = tuple(sorted([n for k, n in enumerate(numbers) if k not in (i, j)]
                                    + [value]))
                if rest not in seen:
                    seen.add(rest)
                    found.append((i, op, j, rest))
    return found


@lru_cache(maxsize=None)
def _solvable(numbers: Numbers) -> bool:
    if len(numbers) == 1:
        return numbers[0] == TARGET
    return any(_solvable(rest) for *_, rest in moves(numbers))


def solvable(numbers: Numbers | list) -> bool:
    """True when ``numbers`` can still make exactly 24 (exhaustive search, memoized)."""
    return _solvable(tuple(sorted(Fraction(n) for n in numbers)))


def solution(numbers: list[int | Fraction]) -> str | None:
    """Return one expression that makes 24 from ``numbers``, or None."""
    items = [(Fraction(n), str(n)) for n in numbers]

    def search(items: list[tuple[Fraction, str]]) -> str | None:
        if len(items) == 1:
            return items[0][1] if items[0][0] == TARGET else None
        if not solvable([v for v, _ in items]):
            return None
        for i in range(len(items)):
            for j in range(len(items)):
                if i == j:
                    continue
                for op in OPS:
                    value = apply_op(items[i][0], op, items[j][0])
                    if value is None:
                        continue
                    rest = [x for k, x in enumerate(items) if k not in (i, j)]
                    found = search(rest + [(value, f"({items[i][1]} {op} {items[j][1]})")])
                    if found:
                        return found
        return None

    return search(items)


def fmt(value: Fraction) -> str:
    """Write a fraction the way a person would: ``5``, ``-3``, ``7/2``."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def parse_number(text: Any) -> Fraction:
    """Read ``5``, ``-3``, ``7/2`` or ``2.5`` as an exact fraction (ValueError if not)."""
    try:
        return Fraction(str(text).strip().replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{text!r} is not a number") from None


def start_state(numbers: Any) -> list[dict[str, str]]:
    """Return the root state for a puzzle (ValueError when it is not 2-6 numbers)."""
    if not isinstance(numbers, list | tuple) or not 2 <= len(numbers) <= 6:
        raise ValueError("game24 needs 'numbers': a list of 2 to 6 numbers, e.g. [4, 7, 8, 8]")
    values = [parse_number(n) for n in numbers]
    return [{"value": fmt(v), "expr": fmt(v)} for v in values]


def values_of(state: list[dict[str, str]]) -> Numbers:
    """The numbers of a state, sorted, as fractions."""
    return tuple(sorted(Fraction(n["value"]) for n in state))


def state_key(state: list[dict[str, str]]) -> str:
    """The dedupe key of a state: its numbers, sorted (two moves giving them are one)."""
    return " ".join(fmt(v) for v in values_of(state))


def play(state: list[dict[str, str]], left: Any, op: str,
         right: Any) -> tuple[list[dict[str, str]] | None, str]:
    """Apply one move to ``state``; return the new state (None if illegal) and what happened."""
    try:
        a, b = parse_number(left), parse_number(right)
    except ValueError as err:
        return None, f"illegal move: {err}"
    pool = list(state)
    picked = []
    for want in (a, b):
        hit = next((n for n in pool if Fraction(n["value"]) == want), None)
        if hit is None:
            have = ", ".join(n["value"] for n in state)
            return None, f"illegal move: {fmt(want)} is not among the numbers left ({have})"
        pool.remove(hit)
        picked.append(hit)
    if op not in OPS:
        return None, f"illegal move: unknown operator {op!r}"
    value = apply_op(a, op, b)
    if value is None:
        return None, "illegal move: division by zero"
    made = {"value": fmt(value), "expr": f"({picked[0]['expr']} {op} {picked[1]['expr']})"}
    new = pool + [made]
    left_text = ", ".join(n["value"] for n in new)
    return new, f"{fmt(a)} {op} {fmt(b)} = {fmt(value)} (left: {left_text})"


# --- the environment the graph searches ---------------------------------------------------


class Move(BaseModel):
    """One move: two of the numbers left and an operator; the result replaces them."""

    left: str = Field(max_length=12, description="One of the numbers left, e.g. '8' or '7/2'")
    op: Literal["+", "-", "*", "/"] = Field(description="The operator")
    right: str = Field(max_length=12, description="Another of the numbers left")


class Game24:
    """The Game of 24 as a search environment (no tools; the end is verified exactly)."""

    name = "game24"

    def start(self, inputs: dict[str, Any]) -> tuple[Any, str]:
        """Return the root state and what the task looks like."""
        state = start_state(inputs.get("numbers"))
        return state, self.state_text(state)

    def describe(self, inputs: dict[str, Any], toolbox: Any = None) -> str:
        """Explain the rules to the policy and value models."""
        return ("Game of 24: combine the numbers with + - * / (each number used exactly once) "
                "to make exactly 24. One action is one move: pick two of the numbers left and "
                "an operator; their result replaces them.")

    def action_model(self, toolbox: Any = None) -> type[BaseModel]:
        """One move."""
        return Move

    def state_text(self, state: Any) -> str:
        """Describe a state for a prompt."""
        return "Numbers left: " + ", ".join(n["value"] for n in state)

    def render(self, action: dict[str, Any]) -> str:
        """One line for a prompt or an event."""
        return f"{action.get('left')} {action.get('op')} {action.get('right')}"

    def key(self, state: Any, action: dict[str, Any]) -> str:
        """Dedupe key: the numbers the move leaves (an illegal move is its own key)."""
        new, _ = play(state, action.get("left"), action.get("op", ""), action.get("right"))
        return state_key(new) if new is not None else "illegal:" + self.render(action)

    def prepare(self, action: dict[str, Any], **_: Any) -> None:
        """Moves call no tool: nothing to approve."""
        return None

    def act(self, state: Any, action: dict[str, Any], **_: Any) -> Outcome:
        """Play the move; verify the last number exactly."""
        new, said = play(state, action.get("left"), action.get("op", ""), action.get("right"))
        if new is None:
            return Outcome(observation=said, state=state, terminal=True, solved=False,
                           reflection=said)
        if len(new) > 1:
            return Outcome(observation=said, state=new)
        won = Fraction(new[0]["value"]) == TARGET
        reflection = "" if won else f"the last number is {new[0]['value']}, not 24"
        return Outcome(observation=said, state=new, terminal=True, solved=won,
                       reflection=reflection)

    def answer(self, state: Any, action: dict[str, Any] | None, observation: str,
               solved: bool) -> str:
        """The expression that makes 24 (or what the best attempt left)."""
        if solved and len(state) == 1:
            return f"{state[0]['expr']} = 24"
        return "; ".join(f"{n['expr']} = {n['value']}" for n in state)
