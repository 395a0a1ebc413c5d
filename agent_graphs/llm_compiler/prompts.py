"""Prompts of the LLM Compiler graph (``str.format`` placeholders)."""

_PLANNING_RULES = """Plan the tool calls that reach the goal as a graph of tasks, one tool \
per task. Tasks run at the same time unless one needs another's result: only then list \
the other task in depends_on and write $id in the argument where its result goes (e.g. \
"$s1"). Search for one fact per task (one company, one period). Use write_file or \
send_email only if the goal asks for a file or an email. Do not add a task for the final \
answer: it is written from the results.

Tools:
{tools}

Example. Goal: Compare the prices of Globex's and Initech's basic plans.
Plan: {{"steps": [
{{"id": "s1", "description": "Find the price of Globex's basic plan", "tool": "search", "args": {{"query": "Globex basic plan price"}}, "depends_on": [], "expected_output": "a monthly price"}},
{{"id": "s2", "description": "Find the price of Initech's basic plan", "tool": "search", "args": {{"query": "Initech basic plan price"}}, "depends_on": [], "expected_output": "a monthly price"}}]}}
"""

PLANNER_PROMPT = _PLANNING_RULES + """
Goal: {goal}"""

REPLANNER_PROMPT = _PLANNING_RULES + """
Goal: {goal}

Tasks already done (do not repeat them; list an id in depends_on and write $id to use its \
result):
{done}

Why more tasks are needed: {feedback}
Plan only the tasks that are still missing, with new ids."""

# NOTE: few instructions, and the tasks named: the 0.5B model copied instructions written
# here ("for each thing the goal asks about...") as its answer, and without the names it
# answered with the last task's line alone; naming each task's subject, it answered all.
JOINER_PROMPT = """<results>
{tasks}
</results>

<goal>{goal}</goal>

Do these results answer the goal? If they do, the answer gives the result of each task: \
{subjects}.{last_chance}"""

LAST_CHANCE = """ No replans are left: choose finish and answer with what the results \
give, saying what is missing."""

JOINER_RETRY = """Your answer was not used: {problems}.
<previous_answer>{answer}</previous_answer>
Answer again with finish, giving each figure as the results write it."""
