"""Contract cases of the reflection graph (see tests/test_contract.py).

- "answer": only a goal, as the CLI gives it: the writer searches the bundled corpus,
  writes a draft from the first source it found, and the critic approves it.
- "approval": the reflection graph has no tool actions (no ``send_email``), so this case
  pauses at its own human gate instead: ``reflection_human_review`` asks a person before
  the accepted draft is returned (request kind ``draft``); "approve" ends the run
  ``done``. Nothing is emailed, so the outbox check does not apply to this graph.

The fakes answer only from what they are sent and what is bound, so any node may be
replayed any number of times.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from tests.fakes import bound_tool_names, call

GOAL = "Write a 100-word summary of Acme's FY2025 results"
_SOURCE = re.compile(r"<source id='[^']*'[^>]*>(.*?)</source>", re.DOTALL)


def writer(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
    """Search when the search tool is bound; else copy the first source's first sentence."""
    if "search" in bound_tool_names(bound):
        return call("search", query="fiscal year 2025 sales summary")
    found = _SOURCE.search(messages[-1].text)
    if not found:
        return "Acme published its fiscal year results."
    text = " ".join(line for line in found.group(1).splitlines() if not line.startswith("#"))
    return text.strip().split(". ")[0].rstrip(".") + "."


def critic(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Approve any draft the checks passed (the prompt lists their results)."""
    failed = "FAILED" in messages[-1].text.split("<checks>")[-1]
    return call("Critique", issues=["a check failed"] if failed else [], fixes=[],
                approved=not failed, score=0.4 if failed else 0.9)


_MODELS = {"critic_model": "fake:critic", "models": {"writer": "fake:writer"}}

CASES: dict[str, dict[str, Any]] = {
    "answer": {
        "input": {"goal": GOAL},
        "context": {**_MODELS},
        "fallbacks": {"writer": writer, "critic": critic},
    },
    "approval": {
        "input": {"goal": GOAL},
        "context": {**_MODELS, "reflection_human_review": True},
        "fallbacks": {"writer": writer, "critic": critic},
        "sends": 0,  # nothing is emailed: the outbox stays empty
    },
}
