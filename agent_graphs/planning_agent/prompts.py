"""Prompts of the planning agent (``str.format`` placeholders).

The step critic is plan-and-execute's (``plan_execute.prompts.CRITIC_PROMPT``); the
report's writer and critic are the reflection loop's own prompts.
"""

_RULES = """Plan the tool calls that gather what the goal needs, one tool per step. \
Steps that do not need each other's results run at the same time: give them no \
depends_on. Search for one fact per step (one company, one period, one person): the company's \
documents (sales reports, price lists, people) are found with search; read_file only \
reads a workspace file listed under Tools. To use a \
number an earlier step found, write $ and its id, e.g. $s1, and list that id in \
depends_on; never copy numbers. Use calculator for all arithmetic; growth in percent from \
$s1 to $s2 is ($s2 - $s1) / $s1 * 100. Do not write the report and do not send or save \
it: that happens after the steps, from their results. If the goal asks to email someone, \
add a search step that finds their email address.

Tools:
{tools}

Example. Goal: Compare Globex's Q3 and Q4 2025 revenue and email a summary to the CFO.
Plan: {{"steps": [
{{"id": "s1", "description": "Find Globex total revenue in Q3 2025", "tool": "search", "args": {{"query": "Globex total revenue Q3 2025"}}, "depends_on": [], "expected_output": "Q3 2025 revenue"}},
{{"id": "s2", "description": "Find Globex total revenue in Q4 2025", "tool": "search", "args": {{"query": "Globex total revenue Q4 2025"}}, "depends_on": [], "expected_output": "Q4 2025 revenue"}},
{{"id": "s3", "description": "Find the CFO's email address", "tool": "search", "args": {{"query": "CFO email address"}}, "depends_on": [], "expected_output": "an email address"}},
{{"id": "s4", "description": "Growth from Q3 to Q4 in percent", "tool": "calculator", "args": {{"expression": "($s2 - $s1) / $s1 * 100"}}, "depends_on": ["s1", "s2"], "expected_output": "a percentage"}}]}}
"""

PLANNER_PROMPT = _RULES + """
Goal: {goal}{feedback}"""

REPLANNER_PROMPT = _RULES + """
Goal: {goal}

Some steps already ran; their results are kept. Plan only the steps that replace the \
failed ones, with new ids; to use a completed step's number write $ and its id and list \
the id in depends_on. If the completed steps already cover the goal, return no steps.

<completed>
{completed}
</completed>

<failed>
{failed}
</failed>"""

EXECUTOR_PROMPT = """Call the tool {tool} to carry out this step. Replace any \
placeholder in the planned arguments with the value found in the earlier results. For \
calculator write plain numbers: no units, $ signs or commas.

<goal>{goal}</goal>
<step>{step}</step>
<planned_args>{args}</planned_args>
<earlier_results>
{context}
</earlier_results>"""

REPORT_TASK = """Write the report this goal asks for, from the sources only: \
{goal}

Name the figures exactly as the sources state them (a percentage may be rounded to one \
decimal) and do no arithmetic of your own. Write only the report: do not say it was sent \
or saved."""

DELIVERY_PROMPT = """The report below is finished. Call {tool} to do what the goal asks \
with it. Take addresses, names and paths only from the results; the report itself is \
attached as it is, whatever you write in the {content} argument.

<goal>{goal}</goal>
<results>
{results}
</results>
<report>
{report}
</report>"""
