"""Reflection: a writer drafts, a critic scores it, the writer revises; the best draft wins.

    gather -> write -> check -> critique -> write -> ... -> [review] -> finish

- **gather**: takes the input's sources, or lets the writer search for facts when none
  are given (``reflection_search``).
- **write**: the writer (role ``writer``) drafts, or revises the latest draft against its
  critique, its failed checks and a person's feedback.
- **check**: runs the external checks (``checks.py``); a failing check blocks approval
  whatever the critic says.
- **critique**: the critic (role ``critic``) returns a structured ``Critique`` seeing the
  check results; the round is recorded; the loop ends when a draft is accepted (the
  critic approves, or ``reflection_min_score`` is met, with every check passing) or after
  ``reflection_max_iterations`` rounds, never by LangGraph's recursion limit.
- **review** (``reflection_human_review``): a person approves, rejects with feedback
  (the next round's critique) or edits the draft, through the shared approval gate.
- **finish**: returns the accepted draft, else the best one seen (checks passed first,
  then the critic's score), marked not approved, with the reason.
"""

from __future__ import annotations

import functools

import re
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent_graphs.actions import scope
from agent_graphs.approval import request_approval, thread_id
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.graphs import RECURSION_LIMIT
from agent_graphs.llm import ModelOutputError, structured, usage_of
from agent_graphs.models import chat_model
from agent_graphs.reflection import prompts
from agent_graphs.reflection.checks import Check, run_checks, settings_checks, word_count
from agent_graphs.reflection.settings import reflection_settings
from agent_graphs.reflection.sources import (
    clean_sources,
    parse_ahead,
    search_sources,
    sources_block,
)
from agent_graphs.reflection.state import (
    Critique,
    InputState,
    OutputState,
    Review,
    Round,
    Source,
    State,
)
from agent_graphs.schemas import settings_update

__all__ = ["ROLES", "best_draft", "build_graph", "builder", "graph", "reflect"]

ROLES = ("writer", "critic")

# Supersteps one more round can take: write, check, critique, review, finish.
_ROUND_COST = 5
# A small model sometimes goes on to echo the prompt's sections after its text.
_ECHO = re.compile(r"^\s*</?(?:sources?|task|problems|draft|checks)\b[^>]*>", re.MULTILINE)


def gather(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["write", "check"]]:
    """Take the input's sources, or search for facts when none are given."""
    ctx = get_context(runtime)
    settings = reflection_settings(ctx)
    draft = state.get("draft")
    if draft is not None and not isinstance(draft, str):
        raise ValueError(f"draft must be a string, not {type(draft).__name__}")
    if not isinstance(state.get("goal"), str) or not state["goal"].strip():
        raise ValueError("goal must be a non-empty string: the writing task")
    update: dict[str, Any] = {"drafts": [draft]} if draft and draft.strip() else {}
    if state.get("sources"):
        update["sources"] = clean_sources(state["sources"])
    elif settings.reflection_search:
        update |= search_sources(ctx, state["goal"], settings.reflection_search_results)
    else:
        update["sources"] = []
    update |= settings_update(state, ctx)  # a resume anywhere reuses this run's settings
    return Command(goto="check" if "drafts" in update else "write", update=update)


def _problems(state: State) -> str:
    """What the writer must fix: the latest critique, failed checks, a person's feedback."""
    latest = len(state["drafts"]) - 1
    lines = []
    for review in state.get("reviews") or []:
        if review["draft"] == latest and review["action"] == "reject":
            lines.append(f"- A person rejected this draft: {review['reason'] or 'no reason'}")
    rounds = [r for r in state.get("rounds") or [] if r["draft"] == latest]
    if rounds:
        lines += [f"- {issue}" for issue in rounds[-1]["issues"]]
        lines += [f"- Fix: {fix}" for fix in rounds[-1]["fixes"]]
    return "\n".join(lines) or "- Improve it."


def _clean_draft(text: str) -> str:
    """The reply without a wrapping <draft> tag or the prompt sections echoed after it."""
    body = re.sub(r"^\s*<draft>", "", text.strip())
    return _ECHO.split(body, maxsplit=1)[0].strip() or text.strip()


def write(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the first draft, or revise the latest one against its critique."""
    ctx = get_context(runtime)
    sources = state.get("sources") or []
    common = {"goal": state["goal"], "sources": sources_block(sources),
              "rule": prompts.SOURCES_RULE if sources else prompts.NO_SOURCES_RULE}
    drafts = state.get("drafts") or []
    if drafts:
        prompt = prompts.REVISE_PROMPT.format(draft=drafts[-1], problems=_problems(state),
                                              **common)
    else:
        prompt = prompts.WRITE_PROMPT.format(**common)
    if not drafts:
        parse_ahead(sources, state["goal"])  # for the checks after this draft, meanwhile
    reply = chat_model(ctx, "writer").invoke([HumanMessage(prompt)])
    text = _clean_draft(reply.text)
    if (reply.response_metadata or {}).get("finish_reason") == "length" and "\n" in text:
        # Cut off by max_tokens: its last line stops mid-word or mid-number ("$3" of
        # "$3,500"), which a check could even take for a rounded figure: drop it.
        text = text.rsplit("\n", 1)[0].rstrip()
    n, words = len(drafts) + 1, word_count(text)
    emit("draft_written", f"draft {n} written ({words} words)", draft=n,
         words=words, lines=[text if len(text) <= 300 else text[:300] + " …"])
    return {"drafts": [text], "usage": usage_of(reply), "model_calls": 1}


def _all_checks(extra: Sequence[Check], state: State, ctx: Any) -> list[Check]:
    return [*extra, *settings_checks(reflection_settings(ctx), state["goal"])]


def _check_node(extra: Sequence[Check]):
    def check(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        """Run the external checks on the latest draft."""
        checks = _all_checks(extra, state, get_context(runtime))
        results = run_checks(checks, state["drafts"][-1], state.get("sources") or [])
        failed = [r for r in results if not r["passed"]]
        n = len(state["drafts"])
        summary = (f"draft {n}: no checks" if not results else
                   f"draft {n}: all {len(results)} checks passed" if not failed else
                   f"draft {n}: failed " + "; ".join(f"{r['name']} ({r['detail']})"
                                                    for r in failed))
        emit("draft_checked", summary, draft=n, checks=results, passed=not failed,
             lines=[f"{r['name']}: {r['detail']}" for r in failed])
        return {"checks": results}

    return check


def _ask_critic(ctx: Any, state: State, draft: str) -> tuple[Critique, dict, int]:
    """The critic's verdict (a failed answer becomes an unapproved, zero-score round)."""
    if not draft.strip():
        return Critique(issues=["the draft is empty"], approved=False, score=0.0), {}, 0
    checks = "\n".join(f"- {r['name']}: {'passed' if r['passed'] else 'FAILED'}: {r['detail']}"
                       for r in state.get("checks") or []) or "(none)"
    prompt = prompts.CRITIC_PROMPT.format(
        goal=state["goal"], sources=sources_block(state.get("sources") or []), draft=draft,
        checks=checks)
    retries: list[int] = []
    try:
        verdict, usage = structured(chat_model(ctx, "critic"), Critique, [HumanMessage(prompt)],
                                    on_retry=lambda n, _p: retries.append(n))
    except ModelOutputError as err:
        verdict, usage = Critique(issues=[f"the critic gave no usable answer: {err}"],
                                  approved=False, score=0.0), {}
    return verdict, usage, 1 + len(retries)


def critique(
    state: State, runtime: Runtime[Context]
) -> Command[Literal["write", "review", "finish"]]:
    """Score the latest draft; accept it, revise it, or stop at the limit."""
    ctx = get_context(runtime)
    settings = reflection_settings(ctx)
    index = len(state["drafts"]) - 1
    verdict, usage, calls = _ask_critic(ctx, state, state["drafts"][index])
    results = state.get("checks") or []
    failed = [r for r in results if not r["passed"]]
    passed = not failed
    record: Round = {
        "draft": index, "score": verdict.score, "approved": verdict.approved and passed,
        "critic_approved": verdict.approved, "checks_passed": passed,
        "issues": [f"check {r['name']} failed: {r['detail']}" for r in failed] + verdict.issues,
        "fixes": verdict.fixes, "checks": results,
    }
    n_rounds = len(state.get("rounds") or []) + 1
    by_score = 0 < settings.reflection_min_score <= verdict.score
    accepted = passed and (verdict.approved or by_score)
    verdict_text = "approved" if record["approved"] else (
        "accepted by min_score" if accepted else "not approved")
    emit("draft_critiqued",
         f"draft {index + 1} scored {verdict.score:.2f}, {verdict_text}"
         + (f": {len(record['issues'])} issue(s)" if record["issues"] else ""),
         draft=index + 1, round=n_rounds, score=verdict.score, approved=record["approved"],
         issues=record["issues"], lines=record["issues"])
    update: dict[str, Any] = {"rounds": [record], "usage": usage, "model_calls": calls}
    if accepted:
        update |= {"accepted": index,
                   "accepted_by": "the critic" if verdict.approved else
                   f"min_score ({verdict.score:.2f} >= {settings.reflection_min_score:.2f})"}
        return Command(goto="review" if settings.reflection_human_review else "finish",
                       update=update)
    if n_rounds >= settings.reflection_max_iterations:
        update["stop_reason"] = (f"no draft was accepted within "
                                 f"{settings.reflection_max_iterations} round(s)")
        return Command(goto="finish", update=update)
    if state["remaining_steps"] <= _ROUND_COST:
        update["stop_reason"] = "the run's recursion limit is nearly used up"
        return Command(goto="finish", update=update)
    return Command(goto="write", update=update)


_DRAFT_SCHEMA = {"type": "object", "required": ["draft"],
                 "properties": {"draft": {"type": "string", "description": "The text to return"}}}


def _review_node(extra: Sequence[Check]):
    def review(
        state: State, runtime: Runtime[Context]
    ) -> Command[Literal["write", "finish"]]:
        """A person approves, rejects (with feedback) or edits the accepted draft."""
        ctx = get_context(runtime)
        settings = reflection_settings(ctx)
        index = state.get("accepted")
        assert index is not None, "review runs only after a draft was accepted"
        rounds = state.get("rounds") or []
        latest = rounds[-1]

        def check_args(args: dict[str, Any]) -> dict[str, Any]:
            if not isinstance(args.get("draft"), str) or not args["draft"].strip():
                raise ValueError("an edit needs {'draft': 'the new text'}")
            return {"draft": args["draft"].strip()}

        decision = request_approval(
            {"kind": "draft", "args": {"draft": state["drafts"][index]},
             "risk": "low", "reasons": ["draft review is on (reflection_human_review)"],
             "why": f"draft {index + 1} was accepted by {state['accepted_by']} "
                    f"(score {latest['score']:.2f})",
             "goal": state["goal"], "round": len(rounds), "score": latest["score"],
             "issues": latest["issues"], "checks": latest["checks"],
             "how_to_answer": "approve | reject (+feedback: the writer revises) | "
                              "edit with {'draft': 'new text'}"},
            key=":".join(p for p in (thread_id(), scope(), "draft", str(len(rounds))) if p),
            check_args=check_args, name="accept_draft", args_schema=_DRAFT_SCHEMA,
        )
        by = decision.by or "person"
        if decision.action == "approve":
            record: Review = {"draft": index, "action": "approve", "reason": decision.reason,
                              "by": by}
            return Command(goto="finish", update={"reviews": [record],
                                                  "accepted_by": f"{state['accepted_by']} "
                                                                 f"and a person ({by})"})
        if decision.action == "edit":
            edited = (decision.args or {})["draft"]
            results = run_checks(_all_checks(extra, state, ctx), edited,
                                 state.get("sources") or [])
            record = {"draft": len(state["drafts"]), "action": "edit",
                      "reason": decision.reason, "by": by, "checks": results}
            failing = [r["name"] for r in results if not r["passed"]]
            who = f"a person ({by}), as edited" + (
                f"; checks failing on the edit: {', '.join(failing)}" if failing else "")
            return Command(goto="finish", update={
                "drafts": [edited], "reviews": [record], "accepted": len(state["drafts"]),
                "accepted_by": who})
        record = {"draft": index, "action": "reject", "reason": decision.reason, "by": by}
        update: dict[str, Any] = {"reviews": [record], "accepted": None}
        if len(rounds) >= settings.reflection_max_iterations:
            update["stop_reason"] = (f"a person rejected draft {index + 1} and the round limit "
                                     f"({settings.reflection_max_iterations}) is reached")
            return Command(goto="finish", update=update)
        return Command(goto="write", update=update)

    return review


def best_draft(rounds: Sequence[Round], reviews: Sequence[Review] = ()) -> Round:
    """The best critiqued draft's round: every check passed first, then not rejected by a
    person, then the critic's score; a tie goes to the later draft."""
    rejected = {r["draft"] for r in reviews if r["action"] == "reject"}
    return max(rounds, key=lambda r: (r["checks_passed"], r["draft"] not in rejected,
                                      r["score"], r["draft"]))


def finish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Return the accepted draft, else the best one seen, with a plain reason."""
    rounds = state.get("rounds") or []
    accepted = state.get("accepted")
    if accepted is not None:
        index = accepted
        scored = [r for r in rounds if r["draft"] == index]
        score = scored[-1]["score"] if scored else None
        reason = f"draft {index + 1} accepted by {state['accepted_by']}"
        status, approved = "done", True
    else:
        best = best_draft(rounds, state.get("reviews") or [])
        index, score = best["draft"], best["score"]
        checks = "every check passed" if best["checks_passed"] else "checks failed"
        reason = (f"{state.get('stop_reason') or 'no draft was accepted'}; returned draft "
                  f"{index + 1}, the best of {len(rounds)} (score {score:.2f}, {checks}), "
                  "not approved")
        status, approved = "failed", False
    answer = state["drafts"][index]
    emit("finished", status=status, approved=approved, answer=answer, reason=reason,
         summary=f"{status}: {reason}")
    return {"final_answer": answer, "status": status, "approved": approved, "reason": reason,
            "best_draft": index, "best_score": score}


def build_graph(
    *, checks: Sequence[Check] = (), name: str = "reflection"
) -> StateGraph[State, Context, InputState, OutputState]:
    """Build the (uncompiled) reflection loop.

    Args:
        checks: External checks that always run, besides those the settings switch on
            (``reflection_checks``): e.g. ``JsonMatches(MyModel)``, ``PythonTests(tests)``.
        name: The name given to the nodes' graph when another graph draws it.

    Returns:
        The builder; compile it with your checkpointer, or add the compiled graph as a
        node of a parent whose state shares ``goal``, ``sources``, ``draft`` and the
        output keys (``final_answer``, ``status``, ``approved``, ``rounds``...).
    """
    for check in checks:
        if not (isinstance(getattr(check, "name", None), str) and callable(
                getattr(check, "run", None))):
            raise TypeError(f"{check!r} is not a Check: it needs a name and run(draft, sources)")
    graph_builder = StateGraph(State, context_schema=Context,
                               input_schema=InputState, output_schema=OutputState)
    graph_builder.name = name  # type: ignore[attr-defined]
    graph_builder.add_node(gather)
    graph_builder.add_node(write)
    graph_builder.add_node("check", _check_node(tuple(checks)))
    graph_builder.add_node(critique)
    graph_builder.add_node("review", _review_node(tuple(checks)))
    graph_builder.add_node(finish)
    graph_builder.add_edge(START, "gather")
    graph_builder.add_edge("write", "check")
    graph_builder.add_edge("check", "critique")
    graph_builder.set_finish_point("finish")
    return graph_builder


def reflect(
    goal: str, *, draft: str | None = None, sources: Sequence[Source] | None = None,
    checks: Sequence[Check] = (), context: Any = None,
) -> dict[str, Any]:
    """Run the loop on ``goal`` (improving ``draft`` if given) and return its output.

    Call it from a node of another graph: the loop then runs as that node's subgraph,
    with the parent's checkpointer, context, stream and interrupts (a person's review
    pauses the parent and resumes it). Outside a graph pass ``context`` (a Context or a
    dict of settings).
    """
    loop, payload = _loop(goal, draft, sources, checks)
    return loop.invoke(payload, context=context)


async def areflect(
    goal: str, *, draft: str | None = None, sources: Sequence[Source] | None = None,
    checks: Sequence[Check] = (), context: Any = None,
) -> dict[str, Any]:
    """:func:`reflect` for async nodes: a graph run with an async checkpointer (as
    ``langgraph dev`` runs every graph) can only run a subgraph asynchronously."""
    loop, payload = _loop(goal, draft, sources, checks)
    return await loop.ainvoke(payload, context=context)


def _loop(
    goal: str, draft: str | None, sources: Sequence[Source] | None, checks: Sequence[Check]
) -> tuple[Any, InputState]:
    payload: InputState = {"goal": goal}
    if draft is not None:
        payload["draft"] = draft
    if sources:
        payload["sources"] = list(sources)
    try:
        return compiled_loop(tuple(checks)), payload
    except TypeError:  # a check that cannot be a cache key: compile this loop on its own
        return build_graph(checks=checks).compile(name="reflection"), payload


@functools.lru_cache(maxsize=32)
def compiled_loop(checks: tuple[Check, ...] = ()) -> Any:
    """The reflection loop with ``checks``, compiled once per set of checks (20-30 ms
    each time otherwise). A compiled graph holds no run state: every caller shares it;
    invoked from a node it runs as that node's subgraph, with the run's checkpointer,
    context, stream and interrupts."""
    return build_graph(checks=checks).compile(name="reflection")


builder = build_graph()
# The dev server sets no recursion limit (LangGraph's default is 25): give Studio runs the
# CLI's; reflection_max_iterations still ends the loop first.
graph = builder.compile(name="Reflection").with_config(recursion_limit=RECURSION_LIMIT)
