"""Scripted models and helpers for the LATS tests: they answer from what they are sent.

The Game of 24 models read the numbers left from the prompt: the policy proposes two
losing moves and then one that keeps 24 reachable (found by the exhaustive solver); the
value model says 0.9 where 24 is still reachable, 0.1 where it is not. Both are
module-level functions, so a process started after a crash answers the same way.

The graph asks for all of an expansion's verdicts in one value call; :func:`batched` lets
a judge look at one candidate at a time (a prompt cut to that candidate's trajectory).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent_graphs.lats import prompts
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


def split_candidates(messages: list[BaseMessage]) -> list[list[BaseMessage]]:
    """One prompt per candidate of a value prompt: its trajectory, ending at the candidate."""
    text = messages[-1].text
    found = re.search(r"<trajectory>\n(.*?)\n</trajectory>", text, re.S)
    shared = found.group(1) if found and found.group(1) != prompts.NO_ACTIONS else ""
    prompts_out = []
    for _, body in re.findall(r"<candidate (\d+)>\n(.*?)\n</candidate \1>", text, re.S):
        body = body.removeprefix(prompts.AS_IT_STANDS).strip("\n")
        steps = "\n".join(part for part in (shared, body) if part)
        prompts_out.append([HumanMessage(f"<trajectory>\n{steps}\n</trajectory>\n")])
    return prompts_out


Judge = Callable[[list[BaseMessage], dict[str, Any]], Any]


def batched(judge: Judge) -> Judge:
    """A value model answering ``Verdicts`` by asking ``judge`` about each candidate."""

    def answer(messages: list[BaseMessage], bound: dict[str, Any]) -> Any:
        verdicts = []
        for prompt in split_candidates(messages):
            reply = judge(prompt, bound)
            if not isinstance(reply, AIMessage) or not reply.tool_calls:
                return reply  # a malformed answer stays malformed
            verdicts.append(reply.tool_calls[0]["args"])
        return call("Verdicts", verdicts=verdicts)

    answer.judge = judge  # type: ignore[attr-defined]
    return answer


@batched
def g24_value(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """0.9 where 24 can still be made, 0.1 where it cannot."""
    ok = G.solvable(numbers_left(messages))
    return call("Verdict", reflection="" if ok else "24 cannot be reached from here",
                score=0.9 if ok else 0.1, solved=False)


@batched
def hopeful_value(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Everything looks promising (a value model that is no help)."""
    return call("Verdict", reflection="might work", score=0.9, solved=False)


def summaries(events: list[dict[str, Any]], kind: str) -> list[str]:
    return [e["summary"] for e in events if e["event"] == kind]
