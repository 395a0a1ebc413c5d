"""Contract cases of planning_agent, and the scripted models behind its tests.

Every role answers only from what it is sent (module-level functions: a case is imported
again in a fresh process after a crash or for a resume):

- planner: the demo goals' plans (sales: Q3 and Q4 searches in parallel, the growth over
  both, the VP of Sales's address when the goal says email; competitors: one search per
  competitor, one misspelt so that it fails and the replan replaces it);
- executor: grounded extractions (the line of the right document that names the figure)
  and the email's address, read from the results it is shown;
- writer: a report made of the sources' lines that hold figures, so every number in it
  comes from a step; critic: approves.

"answer" analyses Q4 2024 sales; "approval" does the same and emails the VP of Sales.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from tests.fakes import bound_tool_names, call

SALES_GOAL = "Analyze Q4 2024 sales trends and create an executive summary"
EMAIL_GOAL = SALES_GOAL + " and email it to the VP of Sales"
COMPETITOR_GOAL = ("Research the top 3 competitors of Acme Corp, compare their pricing, "
                   "and create a summary report")
MISSPELT = "Intiech qqzx"
"""A query that finds nothing: the step fails and the replan searches again."""


def _step(sid: str, what: str, tool: str, args: dict[str, Any], deps: list[str] = (),  # type: ignore[assignment]
          expected: str = "a result") -> dict[str, Any]:
    return {"id": sid, "description": what, "tool": tool, "args": args,
            "depends_on": list(deps), "expected_output": expected}


def _goal(prompt: str) -> str:
    return prompt.rsplit("\nGoal: ", 1)[-1].split("\n", 1)[0]


def sales_plan(goal: str) -> list[dict[str, Any]]:
    steps = [
        _step("s1", "Find total revenue in Q3 2024", "search",
              {"query": "Q3 2024 sales results"}, expected="Q3 2024 total revenue"),
        _step("s2", "Find total revenue in Q4 2024", "search",
              {"query": "Q4 2024 sales results"}, expected="Q4 2024 total revenue"),
        _step("s3", "Revenue growth from Q3 to Q4 2024 in percent", "calculator",
              {"expression": "($s2 - $s1) / $s1 * 100"}, ["s1", "s2"], "a percentage"),
    ]
    if "email" in goal.lower():
        steps.append(_step("s4", "Find the VP of Sales's email address", "search",
                           {"query": "VP of Sales email"}, expected="an email address"))
    return steps


def competitor_plan(replanning: bool) -> list[dict[str, Any]]:
    if replanning:
        return [_step("s1", "Find Initech's prices", "search", {"query": "Initech pricing"})]
    return [
        _step("s1", "Find Globex's prices", "search", {"query": "Globex pricing"}),
        _step("s2", "Find Umbrella Analytics's prices", "search",
              {"query": "Umbrella Analytics pricing"}),
        _step("s3", "Find Initech's prices", "search", {"query": MISSPELT}),
        _step("s4", "Find the competitive pricing comparison", "search",
              {"query": "competitive pricing comparison"}),
    ]


def planner(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage | str:
    """Plan the goal in the prompt; a replan (``<failed>`` in it) replaces what failed."""
    prompt = messages[0].text
    if "Plan" not in bound_tool_names(bound):
        return "unexpected call without the Plan tool"
    goal = _goal(prompt)
    if "competitor" in goal.lower():
        return call("Plan", steps=competitor_plan("<failed>" in prompt))
    if "<failed>" in prompt:
        return call("Plan", steps=[])
    return call("Plan", steps=sales_plan(goal))


_WORD = re.compile(r"[a-z]{4,}")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _extraction(prompt: str) -> AIMessage:
    """Pick the first candidate line the runtime offers (it lists the best first) and
    state its first figure."""
    listed = prompt.split("<lines>", 1)[1].split("</lines>", 1)[0].strip().splitlines()
    first = listed[0].split(". ", 1)[1].split("] ", 1)[-1]
    value = float(_NUMBER.findall(first)[0].replace(",", ""))
    return call("Extraction", line=1, value=value)


def executor(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Read a value with its quote, or address the email from the results shown."""
    prompt = messages[0].text
    [tool] = bound_tool_names(bound)
    if tool == "Extraction":
        return _extraction(prompt)
    if tool == "send_email":
        found = re.search(r"VP of Sales\W+([\w.]+@[\w.]+)", prompt)
        to = found.group(1) if found else "nobody"
        return call("send_email", to=to, subject="Executive summary", body="(the report)")
    return call(tool)


_SOURCE = re.compile(r"<source id='([^']+)'(?: from=(['\"])(.*?)\2)?>(.*?)</source>", re.S)


def writer(messages: list[BaseMessage], bound: dict[str, Any]) -> str:
    """A report of the sources' lines with figures, each with the step it came from."""
    lines = []
    for sid, _, origin, text in _SOURCE.findall(messages[-1].text):
        if "." in sid and not sid.endswith(".d1"):
            continue  # each search's best document only
        picked = [ln.strip("- ").strip() for ln in text.splitlines()
                  if "$" in ln or "%" in ln or "calculator" in origin][:3]
        lines += [f"- {ln} [{sid}]" for ln in picked]
    return "Summary report.\n" + "\n".join(lines)


def critic(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Approve every draft (the external checks still judge its numbers)."""
    if "StepEvaluation" in bound_tool_names(bound):
        return call("StepEvaluation", success=True, issues="", suggestion="")
    return call("Critique", issues=[], fixes=[], approved=True, score=0.9)


FALLBACKS = {"planner": planner, "executor": executor, "critic": critic, "writer": writer}
CONTEXT = {"planner_model": "fake:planner", "executor_model": "fake:executor",
           "critic_model": "fake:critic", "models": {"writer": "fake:writer"}}

CASES = {
    "answer": {"input": {"goal": SALES_GOAL}, "context": {}, "fallbacks": FALLBACKS},
    "approval": {"input": {"goal": EMAIL_GOAL}, "context": {}, "fallbacks": FALLBACKS},
}
