"""Scripted models for processes the tests cannot script directly: `langgraph dev`, the CLI.

Imported through ``AGENT_GRAPHS_MODEL_PLUGINS=tests.procs.studio_fakes``. A server
process serves many runs, so no reply is scripted by position: each reply reads back the
placeholders of the prompt template it answers (goal, tool, planned args, earlier
results), so prompt rewording does not break it, and a model never runs out.

Goals it knows:
- one mentioning "email": one HIGH-risk ``send_email`` step (pauses for approval);
- anything else: ``6*7`` then ``s1+1``, answered "The answer is 43.".
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent_graphs.plan_execute import prompts
from tests.fakes import call, install

EMAIL = {"to": "vp@acme.example", "subject": "Q2", "body": "Numbers attached"}
_ENOUGH = 10_000  # replies per role: a server process never exhausts its script


def _step(sid: str, tool: str, args: dict[str, Any], deps: list[str]) -> dict[str, Any]:
    return {"id": sid, "description": f"do {sid}", "tool": tool, "args": args,
            "depends_on": deps, "expected_output": "a result"}


def _fields(template: str, text: str) -> dict[str, str] | None:
    """Read the placeholders of ``template`` back out of ``text`` (None if it is another)."""
    pattern = ""
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        pattern += re.escape(literal)
        if field is not None:
            pattern += f"(?P<{field}>.*?)"
    found = re.fullmatch(pattern, text, re.S)
    return {k: v.strip() for k, v in found.groupdict().items()} if found else None


def planner(messages: list[BaseMessage]) -> AIMessage:
    """Plan by the goal's words; write the final answer from the results."""
    prompt = messages[0].text
    if (done := _fields(prompts.FINISH_PROMPT, prompt)) is not None:
        if "email" in done["goal"].lower():
            return AIMessage("Email sent to the VP.")
        last = re.findall(r"<result step='[^']+'[^>]*>(.*?)</result>", done["results"], re.S)
        return AIMessage(f"The answer is {last[-1].strip() if last else '?'}.")
    asked = _fields(prompts.PLANNER_PROMPT, prompt)
    assert asked is not None, f"unexpected planner prompt: {prompt[:300]}"
    if "email" in asked["goal"].lower():
        return call("Plan", steps=[_step("s1", "send_email", EMAIL, [])])
    return call("Plan", steps=[_step("s1", "calculator", {"expression": "6*7"}, []),
                               _step("s2", "calculator", {"expression": "s1+1"}, ["s1"])])


def executor(messages: list[BaseMessage]) -> AIMessage:
    """Call the step's tool with the planned arguments, earlier results filled in."""
    asked = _fields(prompts.EXECUTOR_PROMPT, messages[0].text)
    assert asked is not None, f"unexpected executor prompt: {messages[0].text[:300]}"
    args = json.loads(asked["args"] or "{}")
    for sid, value in re.findall(r"<result step='([^']+)'>(.*?)</result>", asked["context"],
                                 re.S):
        args = {k: v.replace(sid, value.strip()) if isinstance(v, str) else v
                for k, v in args.items()}
    return call(asked["tool"], **args)


def critic(_messages: list[BaseMessage]) -> AIMessage:
    """Judge every step a success."""
    return call("StepEvaluation", success=True, issues="", suggestion="")


FAKES = install(planner=[planner] * _ENOUGH, executor=[executor] * _ENOUGH,
                critic=[critic] * _ENOUGH)
