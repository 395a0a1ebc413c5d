"""Prompts of the plan-and-execute graph (``str.format`` placeholders)."""

PLANNER_PROMPT = """You plan how to reach a goal with tools. Write the fewest steps that \
reach the goal; each step calls exactly one tool. A later step may use the result of an \
earlier one by listing it in depends_on. Do not add a step for writing the final answer: \
it is written from the results automatically.

<tools>
{tools}
</tools>

<goal>{goal}</goal>"""

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
