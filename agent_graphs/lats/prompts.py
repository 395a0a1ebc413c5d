"""Prompts of the LATS graph (``str.format`` placeholders)."""

POLICY_PROMPT = """You are searching for a solution one action at a time.

<task>
{task}
</task>

Goal: {goal}

<trajectory>
{trajectory}
</trajectory>
{state}{tried}{reflections}
Propose {n} different next actions from the end of this trajectory, the most promising \
first."""

VALUE_PROMPT = """You judge one partial or finished attempt at a task.

<task>
{task}
</task>

Goal: {goal}

<trajectory>
{trajectory}
</trajectory>
{state}
Judge the LAST action and its result: how likely does this trajectory lead to (or already \
is) a correct and complete solution? Score 0 to 1. Mark solved only for a final answer \
that fully and correctly achieves the goal."""

TRIED = """
Already tried from here (propose different actions):
{lines}
"""

REFLECTIONS = """
Lessons from failed attempts:
{lines}
"""

NO_ACTIONS = "(no actions yet)"
