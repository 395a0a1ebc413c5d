"""Contract cases of lats: scripted models that answer from what they are sent.

See tests/test_contract.py. Both cases search the corpus environment. "answer": the policy
searches, then answers from the search result; the value model marks the answer solved.
"approval": the policy proposes an email (HIGH risk: the search waits for a yes), then
answers once the trajectory shows it was sent.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from tests.fakes import bound_tool_names, call

EMAIL = {"to": "vp@acme.example", "subject": "Acme Cloud Pro",
         "body": "Acme Cloud Pro costs $199 per month."}


def trajectory(messages: list[BaseMessage]) -> str:
    """The <trajectory> block of the last prompt."""
    found = re.search(r"<trajectory>\n(.*?)\n</trajectory>", messages[-1].text, re.S)
    return found.group(1) if found else ""


def last_action(messages: list[BaseMessage]) -> str:
    """The last numbered action of the trajectory ('' at the root)."""
    steps = re.findall(r"^\d+\. (.*)$", trajectory(messages), re.M)
    return steps[-1] if steps else ""


def _answer(text: str) -> dict[str, Any]:
    return {"thought": "the observations answer the goal", "tool": "answer", "args": {},
            "answer": text}


def answer_policy(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
    """Search first; once a search result is in the trajectory, answer with its price."""
    if "Candidates" not in bound_tool_names(bound):
        return "unexpected call without the Candidates schema"
    seen = trajectory(messages)
    if "search(" not in seen:
        return call("Candidates", actions=[
            {"thought": "find the price", "tool": "search",
             "args": {"query": "Acme Cloud Pro price per month"}}])
    price = re.search(r"Pro: \$(\d+) per month", seen)
    return call("Candidates", actions=[
        _answer(f"Acme Cloud Pro costs ${price.group(1) if price else '?'} per month.")])


def approval_policy(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
    """Email the VP first; once the trajectory shows the email, answer."""
    if "Candidates" not in bound_tool_names(bound):
        return "unexpected call without the Candidates schema"
    if "send_email(" not in trajectory(messages):
        return call("Candidates", actions=[
            {"thought": "the goal asks for an email", "tool": "send_email", "args": EMAIL}])
    return call("Candidates", actions=[_answer("Emailed the VP the price of Acme Cloud Pro.")])


def _verdict(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
    if "Verdicts" not in bound_tool_names(bound):
        return "unexpected call without the Verdicts schema"
    if last_action(messages).startswith("answer:"):
        return call("Verdict", reflection="answers the goal", score=1.0, solved=True)
    return call("Verdict", reflection="a useful step", score=0.8, solved=False)


def value(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
    """An answer solves the task; any other step looks promising (one verdict each)."""
    from tests.lats.kit import batched  # kit imports the graph's settings; keep this light

    return batched(_verdict)(messages, bound)


CONTEXT = {"models": {"policy": "fake:policy", "value": "fake:value"}}

CASES = {
    "answer": {"input": {"goal": "What does Acme Cloud Pro cost per month?"},
               "context": CONTEXT,
               "fallbacks": {"policy": answer_policy, "value": value}},
    "approval": {"input": {"goal": "Email vp@acme.example the price of Acme Cloud Pro"},
                 "context": CONTEXT,
                 "fallbacks": {"policy": approval_policy, "value": value}},
}
