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

VALUE_PROMPT = """You judge candidate next steps of an attempt at a task, all in one answer.

<task>
{task}
</task>

Goal: {goal}

<trajectory>
{trajectory}
</trajectory>
{state}
Each candidate below continues the trajectory above.

{candidates}

For EACH candidate, in the order listed, judge its LAST action and result: how likely does \
the trajectory ending there lead to (or already is) a correct and complete solution? \
Score 0 to 1. Mark solved only for a final answer that fully and correctly achieves the \
goal. Give exactly {n} verdicts, one per candidate."""

CANDIDATE = """<candidate {i}>
{body}
</candidate {i}>"""

AS_IT_STANDS = "(no new action: judge the trajectory as it stands)"

TRIED = """
Already tried from here (propose different actions):
{lines}
"""

REFLECTIONS = """
Lessons from failed attempts:
{lines}
"""

NO_ACTIONS = "(no actions yet)"
