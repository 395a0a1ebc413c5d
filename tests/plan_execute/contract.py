"""Contract cases of plan_execute: scripted models that answer from what they are sent.

See tests/test_contract.py: "answer" computes with the calculator; "approval" emails.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from tests.fakes import bound_tool_names, call

EMAIL = {"to": "vp@acme.example", "subject": "Q2", "body": "Revenue grew."}
SUM = {"expression": "2+3"}


def _step(tool: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": "s1", "description": f"call {tool}", "tool": tool, "args": args,
            "depends_on": [], "expected_output": "a result"}


def _planner(tool: str, args: dict[str, Any]):
    def answer(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
        if "Plan" in bound_tool_names(bound):
            return call("Plan", steps=[_step(tool, args)])
        return "Done: the step's result answers the goal."

    return answer


def executor(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    [tool] = bound_tool_names(bound)
    return call(tool, **(SUM if tool == "calculator" else EMAIL))


def critic(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    return call("StepEvaluation", success=True, issues="", suggestion="")


CASES = {
    "answer": {"input": {"goal": "What is 2+3?"}, "context": {},
               "fallbacks": {"planner": _planner("calculator", SUM), "executor": executor,
                             "critic": critic}},
    "approval": {"input": {"goal": "Email the VP that revenue grew"}, "context": {},
                 "fallbacks": {"planner": _planner("send_email", EMAIL), "executor": executor,
                               "critic": critic}},
}
