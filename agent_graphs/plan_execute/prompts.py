"""Prompts of the plan-and-execute graph (``str.format`` placeholders)."""

PLANNER_PROMPT = """Plan the tool calls that reach the goal, one tool per step. Use \
search to look facts up and calculator for arithmetic. Use write_file or send_email only if \
the goal asks for a file or an email. Do not add a step for the final answer.

Tools:
{tools}

Example. Goal: What is the total of Globex's Q3 and Q4 2025 revenue?
Plan: {{"steps": [
{{"id": "s1", "description": "Find Globex Q3 2025 revenue", "tool": "search", "args": {{"query": "Globex Q3 2025 revenue"}}, "depends_on": [], "expected_output": "Q3 revenue"}},
{{"id": "s2", "description": "Find Globex Q4 2025 revenue", "tool": "search", "args": {{"query": "Globex Q4 2025 revenue"}}, "depends_on": [], "expected_output": "Q4 revenue"}},
{{"id": "s3", "description": "Add the two revenues", "tool": "calculator", "args": {{"expression": "q3 + q4"}}, "depends_on": ["s1", "s2"], "expected_output": "the total"}}]}}

Goal: {goal}"""

REPLANNER_PROMPT = """You plan how to reach a goal with tools. A step failed, so write \
the steps that remain, taking the failure into account. Completed steps keep their \
results: do not repeat them; new steps may list their ids in depends_on. Use new step ids. \
If the goal is already reached, answer with an empty list of steps.

<tools>
{tools}
</tools>

<goal>{goal}</goal>

<completed>
{completed}
</completed>

<failed>
{failed}
</failed>"""

EXECUTOR_PROMPT = """Call the tool {tool} to carry out this step. Fill in its arguments \
from the step and from the results of earlier steps.

<step>{step}</step>
<planned_args>{args}</planned_args>
<earlier_results>
{context}
</earlier_results>"""

CRITIC_PROMPT = """Judge whether this step achieved what it expected. Say success=false \
only if the result is an error, is empty, or clearly lacks what was expected.

<step>{step}</step>
<expected>{expected}</expected>
<result>{result}</result>"""

FINISH_PROMPT = """Answer the goal using only the results below. Be brief and give the \
concrete figures the results contain.

<goal>{goal}</goal>

<results>
{results}
</results>"""
