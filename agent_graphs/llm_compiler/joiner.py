"""The LLM Compiler's joiner: answer from the tasks' results, or ask for more tasks.

Its own node, so a resume never repeats the planner's or the tools' work; bounded by
``max_replans``; finished tasks are kept and listed to it with their results.

What it is shown, and what it may say, follow ``agent_graphs.grounding`` (as
plan-and-execute's answer does):

- Each task's result as the few lines that can answer it, not a dump of documents: a
  long result is cut to its lines with a figure that share a word with the task and
  name what sets the task apart from its siblings (the company, product or period one
  search was for). A 0.5B model handed three 1500-character search results (3,700
  prompt tokens) asked for more tasks until the replan limit.
- The value each end task was for, read from those lines by ``grounding.extract`` (one
  small call picks the line; the runtime checks the value is in it), kept in the task's
  result so a later round never reads it again. The joiner then sees one line per
  task, and the prompt names each task by what sets it apart: so shown, the 0.5B model
  states all three prices (handed the lines, it copied the prompt's instructions as
  its answer; without the names, it gave the last task's value alone).
- An answer with a number no result holds, claiming an action no result records, or
  leaving out a task's result is sent back once with the problem named,
  then replaced by the results themselves (with a note saying why) instead of another
  round of planning: the model's arithmetic and guesses never reach a user.
- A goal's action (send an email, write a file) that no task ran is not finished: it
  goes back to the planner, or ends the run ``failed`` when no replans are left.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent_graphs import actions
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.figures import figures, unsupported_figures
from agent_graphs.grounding import (
    candidates,
    claimed_actions,
    extract,
    missing_actions,
    missing_results,
    results_answer,
    unsupported_numbers,
)
from agent_graphs.llm import add_usage, structured
from agent_graphs.llm_compiler import prompts
from agent_graphs.llm_compiler.state import JoinDecision, State
from agent_graphs.llm_compiler.subjects import own_words as _own_words
from agent_graphs.llm_compiler.subjects import subject as _subject
from agent_graphs.llm_compiler.subjects import words as _words
from agent_graphs.models import chat_model

__all__ = ["evidence", "join", "problems_with", "read_values"]

_SHORT = 300
"""A result up to this long is shown whole (a calculator's number, an email's receipt)."""
_LINES = 5
"""At most this many lines of a long result per task."""
def evidence(
    plan: Sequence[Mapping[str, Any]], results: Mapping[str, Any]
) -> dict[str, list[tuple[str, str, str]]]:
    """The lines of each finished task's result that can answer it, by task id, as
    ``(line, source, title)`` (the shape of ``grounding.candidates``).

    A short result is one line, whole; a failed task's line is its error; a value read
    before is its line. A long one (a search's documents) keeps at most ``_LINES`` of its
    lines with a figure (``grounding.candidates``): those naming a word of the task that
    no sibling task of the same tool has, when it has one ("Globex" among searches for
    Globex, Initech and Umbrella), so one company's price is not listed under another's.
    Lines sharing more of the task's words come first, then those of a document whose
    title names the task's own word (Globex's profile before a table that mentions
    Globex); a line naming a sibling's own word too (a comparison of all three) comes
    after all that do not. A line shown for an earlier task is not repeated.
    """
    steps = [s for s in plan if s["id"] in results]
    shown: set[str] = set()
    lines: dict[str, list[tuple[str, str, str]]] = {}
    for step in steps:
        r = results[step["id"]]
        output = str(r.get("output", ""))
        if not r["ok"]:
            lines[step["id"]] = [("FAILED: " + " ".join(str(r.get("error")).split()), "", "")]
            continue
        if r.get("quote"):
            lines[step["id"]] = [(r["quote"], r.get("source", ""), "")]
            continue
        if len(output) <= _SHORT:
            lines[step["id"]] = [(" ".join(output.split()), "tool", "")]
            continue
        subject = _subject(step, steps)
        mine = _words(subject)
        own, theirs = _own_words(steps, step["id"])
        found = [(line.replace("**", ""), source, title) for line, source, title
                 in candidates(subject, output)]
        found = [f for f in found if f[0] not in shown and (not own or own & _words(f[0]))]
        found.sort(key=lambda f: (bool(theirs & _words(f[0])), -len(mine & _words(f[0])),
                                  not own & _words(f[2]), len(f[0])))
        lines[step["id"]] = found[:_LINES] or [
            (actions.clip(" ".join(output.split()), _SHORT), "tool", "")]
        shown |= {f[0] for f in found[:_LINES]}
    return lines


def _has_figure(text: str) -> bool:
    return unsupported_figures(text, [text])[0] > 0


_CLAUSE = re.compile(r";|\||,\s|\band\b|\bwhile\b|\bagainst\b")


def _about_own(value: float, quote: str, own: set[str]) -> float | None:
    """The value as the part of ``quote`` about the task's subject states it.

    A line can price two things ("Acme Cloud Starter costs $49 per month and Globex
    Monitor Basic costs $59 per month"); a small model reads its first figure. The
    value stands when a clause stating it names one of ``own`` (or there is no own
    word); else the one figure of the clauses that do name it, if there is exactly one;
    else None.
    """
    clauses = _CLAUSE.split(quote)
    if not own or any(own & _words(c) and _states(c, value) for c in clauses):
        return value
    found = {float(f.digits) for c in clauses if own & _words(c) for f in figures(c)
             if not f.label and "%" not in f.text and "percent" not in f.text}
    return found.pop() if len(found) == 1 else None


def _states(text: str, value: float) -> bool:
    return any(abs(float(f.digits) - value) < 1e-9 or abs(float(f.value) - value) < 1e-9
               for f in figures(text) if not f.label)


def read_values(
    ctx: Context, plan: Sequence[Mapping[str, Any]], results: Mapping[str, Any],
    lines: Mapping[str, list[tuple[str, str, str]]],
) -> tuple[dict[str, Any], dict[str, int]]:
    """Read the value of each end task (one no other task used) from its lines.

    Only long results with a figure in their lines are read (a calculator's number is
    its value already); a value that cannot be verified leaves the task as its lines.

    Returns:
        The tasks' records with ``value``, ``quote`` and ``source`` added, by id (to
        store), and the tokens used.
    """
    used = {d for s in plan for d in s["depends_on"]}
    by_id = {s["id"]: s for s in plan}
    read: dict[str, Any] = {}
    usage: dict[str, int] = {}
    for sid, found in lines.items():
        r = results[sid]
        if (sid in used or not r["ok"] or "value" in r or len(str(r.get("output", ""))) <= _SHORT
                or not any(_has_figure(line) for line, _, _ in found)):
            continue
        value, problem, tokens = extract(lambda: chat_model(ctx, "joiner"),
                                         what=_subject(by_id[sid], plan),
                                         output=str(r["output"]), lines=found)
        usage = add_usage(usage, tokens)
        if value is None:
            emit("value_unread", summary=f"read   {sid}: {actions.clip(problem, 150)}",
                 step_id=sid, problem=problem, level=1)
            continue
        number = _about_own(value.value, value.quote, _own_words(plan, sid)[0])
        if number is None:
            emit("value_unread", summary=f"read   {sid}: {value.value:g} is not stated "
                 f"about the task's subject in {value.quote!r}", step_id=sid, level=1)
            continue
        emit("value_read", summary=f"read   {sid} = {number:g} from {value.quote!r}",
             step_id=sid, value=number, quote=value.quote, level=1)
        read[sid] = {**r, "value": number, "quote": value.quote, "source": value.source}
    return read, usage


def _listing(plan: Sequence[Mapping[str, Any]], lines: Mapping[str, list[tuple[str, str, str]]],
             results: Mapping[str, Any]) -> str:
    by_id = {s["id"]: s for s in plan}
    rows = []
    for sid, found in lines.items():
        r = results[sid]
        if "value" in r and r.get("quote"):
            body = [f"{r['value']:g} (from: {r['quote']})"]
        else:
            body = [f"[{title}] {line}" if title else line for line, _, title in found]
        # One line per task when it has one (a read value): the list reads as an answer.
        inner = body[0] if len(body) == 1 else "\n" + "\n".join(f"- {b}" for b in body) + "\n"
        rows.append(f"<task id='{sid}' tool='{by_id[sid]['tool']}' "
                    f"about='{_subject(by_id[sid], plan)}'>{inner}</task>")
    return "\n".join(rows) or "(no task ran)"


def _uncovered(answer: str, plan: Sequence[Mapping[str, Any]], results: Mapping[str, Any],
               lines: Mapping[str, list[tuple[str, str, str]]]) -> list[str]:
    """End tasks (no other task used them) whose value, or any figure of whose lines,
    the answer does not state: each was planned for the goal, so an answer gives it.
    Actions (tools that change something) are left to ``claimed_actions``."""
    used = {d for s in plan for d in s["depends_on"]}
    missing = []
    for sid, found in lines.items():
        r = results[sid]
        if sid in used or not r["ok"] or r.get("risk", "low") != "low":
            continue  # an action's output confirms it (an email's id): no fact to give
        if isinstance(r.get("value"), float):
            missing += missing_results(answer, {sid: r["value"]})
            continue
        text = "\n".join(line for line, _, _ in found)
        if not _has_figure(text):
            continue
        checked, unsupported = unsupported_figures(answer, [text])
        if checked == len(unsupported):
            missing.append(sid)
    return missing


def problems_with(answer: str, state: State,
                  lines: Mapping[str, list[tuple[str, str, str]]]) -> list[str]:
    """Why ``answer`` cannot stand as the run's answer (empty: it rests on the results).

    ``lines`` are what the joiner was shown (:func:`evidence`): an answer must give the
    value (or a figure of the lines) of each end task, and no number that no result
    holds (``grounding.unsupported_numbers``), nor claim an action no result records.
    """
    results = state.get("results") or {}
    done = {sid: r for sid, r in results.items() if r["ok"]}
    if not answer.strip():
        return ["the answer is empty"]
    problems = []
    if made_up := unsupported_numbers(answer, [r.get("output") for r in done.values()],
                                      state["goal"]):
        problems.append(f"the numbers {', '.join(made_up)} appear in no result")
    plan = state.get("plan") or []
    for sid in _uncovered(answer, plan, results, lines):
        step = next(s for s in plan if s["id"] == sid)
        said = (f"{results[sid]['value']:g}" if isinstance(results[sid].get("value"), float)
                else "a figure of its lines")
        problems.append(f"it does not give task {sid}'s result "
                        f"({_subject(step, plan)}: {said})")
    problems += [f"it says {tool} happened, but no result records it"
                 for tool in claimed_actions(answer, done)]
    return problems


def _finished(answer: str, status: Literal["done", "failed"], update: dict[str, Any]
              ) -> Command[Literal["plan_and_schedule", "__end__"]]:
    emit("finished", summary=f"{status}: {actions.clip(answer, 200)}", status=status,
         answer=answer)
    return Command(goto="__end__",
                   update={**update, "final_answer": answer, "status": status})


def join(state: State, runtime: Runtime[Context]) -> Command[Literal["plan_and_schedule",
                                                                     "__end__"]]:
    """Answer from the results, or ask for more tasks (bounded by max_replans)."""
    ctx = get_context(runtime)
    rnd = state.get("replans", 0)
    if reason := state.get("stop_reason"):
        return _finished(f"Stopped before reaching the goal: {reason}.", "failed", {})
    plan = state.get("plan") or []
    lines = evidence(plan, state.get("results") or {})
    read, usage = read_values(ctx, plan, state.get("results") or {}, lines)
    results = {**(state.get("results") or {}), **read}
    state = {**state, "results": results}
    last = rnd >= ctx.max_replans
    used = {d for s in plan for d in s["depends_on"]}
    subjects = [_subject(s, plan) for s in plan if s["id"] in lines and s["id"] not in used
                and results[s["id"]]["ok"]]
    prompt = prompts.JOINER_PROMPT.format(
        goal=state["goal"], tasks=_listing(plan, lines, results),
        subjects=", ".join(subjects) or "(none succeeded)",
        last_chance=prompts.LAST_CHANCE if last else "")
    messages: list[Any] = [HumanMessage(prompt)]
    problems: list[str] = []
    decision = None
    answer = ""
    for _ in range(2):  # one retry with the problem named, then the results speak
        decision, tokens = structured(chat_model(ctx, "joiner"), JoinDecision, messages,
                                      attempts=ctx.max_plan_attempts)
        usage = add_usage(usage, tokens)
        emit("joined", summary=f"join   {decision.action}: "
             f"{actions.clip(decision.answer or decision.feedback or decision.thought, 160)}",
             **decision.model_dump())
        if decision.action != "finish":
            break
        answer = decision.answer.strip() or decision.thought.strip()
        problems = problems_with(answer, state, lines)
        if not problems:
            break
        emit("answer_rejected", summary=f"join   answer set aside: {'; '.join(problems)}",
             problems=problems, level=1)
        messages.append(HumanMessage(prompts.JOINER_RETRY.format(
            problems="; ".join(problems), answer=answer)))
    assert decision is not None
    update = {"results": read, "usage": usage}
    done = {sid: r for sid, r in results.items() if r["ok"]}
    rejected = [r["tool"] for r in results.values() if r.get("rejected")]
    owed = missing_actions(state["goal"], done, rejected)
    failed = [sid for sid, r in results.items() if not r["ok"] and not r.get("rejected")]
    if decision.action == "finish" and not owed:
        if not problems:
            return _finished(answer, "done", update)
        # The model's words are set aside; the results themselves answer, if they can:
        # each task's value with its line, else its lines, in plan order.
        listed = {sid: results[sid] if "quote" in results[sid] else {
                  "tool": results[sid]["tool"],
                  "output": " | ".join(line for line, _, _ in found)}
                  for sid, found in lines.items()}
        note = f"\n(The joiner's answer was set aside: {'; '.join(problems)}.)"
        if failed:
            note += f" Tasks {', '.join(failed)} failed, so the results are incomplete."
        return _finished(results_answer(listed, width=600) + note,
                         "failed" if failed or not done else "done", update)
    feedback = decision.feedback or decision.thought
    if owed:
        feedback = (f"the goal asks for {' and '.join(owed)} but no task ran it; "
                    f"{feedback}").strip()
    if not last:
        return Command(goto="plan_and_schedule",
                       update={**update, "replans": rnd + 1, "feedback": feedback})
    answer = (f"Stopped before reaching the goal: the replan limit ({ctx.max_replans}) is "
              f"reached. {feedback}").strip()
    return _finished(answer, "failed", update)
