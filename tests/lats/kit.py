"""Scripted models and helpers for the LATS tests: they answer from what they are sent.

The Game of 24 models read the numbers left from the prompt: the policy proposes two
losing moves and then one that keeps 24 reachable (found by the exhaustive solver); the
value model says 0.9 where 24 is still reachable, 0.1 where it is not. Both are
module-level functions, so a process started after a crash answers the same way.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent_graphs.lats.envs import game24 as G
from agent_graphs.lats.settings import LatsContext
from tests.fakes import call

MODELS = {"policy": "fake:policy", "value": "fake:value"}


def context(tmp_path: Any, **settings: Any) -> LatsContext:
    """A run's context: scripted policy and value, files inside the test's folder."""
    return LatsContext(models=MODELS, workspace=str(tmp_path / "ws"),
                       outbox=str(tmp_path / "outbox.jsonl"), **settings)


def numbers_left(messages: list[BaseMessage]) -> tuple[Fraction, ...]:
    """The numbers of the node the prompt is about (its last 'Numbers left' line)."""
    lines = re.findall(r"^Numbers left: (.*)$", messages[-1].text, re.M)
    return tuple(sorted(Fraction(n.strip()) for n in lines[-1].split(",")))


def wanted(messages: list[BaseMessage]) -> int:
    found = re.search(r"Propose (\d+) different", messages[-1].text)
    return int(found.group(1)) if found else 3


def _move(numbers: tuple[Fraction, ...], move: tuple) -> dict[str, str]:
    i, op, j, _ = move
    return {"left": G.fmt(numbers[i]), "op": op, "right": G.fmt(numbers[j])}


def g24_policy(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Two losing moves first, then one that can still make 24."""
    numbers = numbers_left(messages)
    moves = G.moves(numbers)
    bad = [m for m in moves if not G.solvable(m[3])][:2]
    good = [m for m in moves if G.solvable(m[3])][:1]
    picked = (bad + good)[:wanted(messages)]
    return call("Candidates", actions=[_move(numbers, m) for m in picked])


def g24_blind_policy(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Only losing moves (the same ones each time it is asked at a node)."""
    numbers = numbers_left(messages)
    bad = [m for m in G.moves(numbers) if not G.solvable(m[3])][:wanted(messages)]
    return call("Candidates", actions=[_move(numbers, m) for m in bad])


def g24_value(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """0.9 where 24 can still be made, 0.1 where it cannot."""
    ok = G.solvable(numbers_left(messages))
    return call("Verdict", reflection="" if ok else "24 cannot be reached from here",
                score=0.9 if ok else 0.1, solved=False)


def hopeful_value(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Everything looks promising (a value model that is no help)."""
    return call("Verdict", reflection="might work", score=0.9, solved=False)


def summaries(events: list[dict[str, Any]], kind: str) -> list[str]:
    return [e["summary"] for e in events if e["event"] == kind]
