"""Contract cases of llm_compiler: scripted models that answer from what they are sent.

See tests/test_contract.py: "answer" runs two independent calculations and a third over
both results; "approval" computes, then emails the result (HIGH risk: waits for a yes).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from tests.fakes import bound_tool_names, call


def _task(sid: str, tool: str, args: dict[str, Any], deps: list[str]) -> dict[str, Any]:
    return {"id": sid, "description": f"call {tool}", "tool": tool, "args": args,
            "depends_on": deps, "expected_output": "a result"}


ANSWER_PLAN = [
    _task("s1", "calculator", {"expression": "2+3"}, []),
    _task("s2", "calculator", {"expression": "4*5"}, []),
    _task("s3", "calculator", {"expression": "$s1 + $s2"}, ["s1", "s2"]),
]
APPROVAL_PLAN = [
    _task("s1", "calculator", {"expression": "2+3"}, []),
    _task("s2", "send_email", {"to": "vp@acme.example", "subject": "Result",
                               "body": "The result is $s1."}, ["s1"]),
]


def _planner(plan: list[dict[str, Any]]):
    def answer(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
        if "Plan" in bound_tool_names(bound):
            return call("Plan", steps=plan)
        return "unexpected call without the Plan tool"

    return answer


def joiner(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Finish with the last task's result as the answer (it is in the prompt)."""
    prompt = messages[-1].text
    return call("JoinDecision", thought="the results answer the goal", action="finish",
                answer="Done. " + prompt[prompt.rfind("<task "):][:200])


answer_planner = _planner(ANSWER_PLAN)
approval_planner = _planner(APPROVAL_PLAN)
CONTEXT = {"planner_model": "fake:planner", "models": {"joiner": "fake:joiner"}}

CASES = {
    "answer": {"input": {"goal": "What is (2+3) + (4*5)?"}, "context": CONTEXT,
               "fallbacks": {"planner": answer_planner, "joiner": joiner}},
    "approval": {"input": {"goal": "Compute 2+3 and email the VP the result"},
                 "context": CONTEXT,
                 "fallbacks": {"planner": approval_planner, "joiner": joiner}},
}
