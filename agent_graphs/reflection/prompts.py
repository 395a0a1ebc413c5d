"""Prompts of the reflection graph: search, write, revise, critique."""

SEARCH_PROMPT = """Find the facts needed for this writing task. Call the search tool with a few key words (names, periods, figures asked for).

<task>{goal}</task>"""

SOURCES_RULE = """Use only the facts in <sources>; copy every figure exactly as a source writes it, and do not compute new figures or add facts from memory."""

NO_SOURCES_RULE = """No sources were given: do not invent figures."""

WRITE_PROMPT = """Do this writing task. Reply with the text only, no preamble.

<task>{goal}</task>

<sources>
{sources}
</sources>

{rule}"""

REVISE_PROMPT = """Revise a draft written for a task so that it fixes every problem listed.

<task>{goal}</task>

<sources>
{sources}
</sources>

<problems>
{problems}
</problems>

<draft>
{draft}
</draft>

{rule} Reply with the whole revised text only: no tags, no sources, no preamble."""

CRITIC_PROMPT = """You review a draft written for a task. List specific problems (wrong or unsupported facts, missing content the task asks for, length, clarity), a concrete fix for each, then decide: approve only if the draft does the task well as it is. Score it from 0 (useless) to 1 (perfect).

<task>{goal}</task>

<sources>
{sources}
</sources>

<draft>
{draft}
</draft>

<checks>
{checks}
</checks>

A failed check is a real problem: mention it and do not approve."""
