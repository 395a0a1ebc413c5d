"""The report: drafted and improved by the reflection loop, grounded in the results.

The reflection loop's own nodes run as nodes of this graph (one copy of them,
``reflection.compose.Loop``): the node that ends the plan's rounds (``evaluate``,
``replan``) starts the loop (:func:`to_report`) with the results as sources, each named by
the step it came from; ``report_write``, ``report_critique`` (the checks, then the critic)
and ``report_review`` (when a person reviews drafts) are its rounds; the node that ends
the loop takes its best draft as the report (``_reflected``) and, when the goal asks for
no delivery, finishes the run.
Its checks refuse a draft with a number no result holds; one more check here refuses a
draft that claims it was sent or saved. A report that still fails a check is not used:
the results speak.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from agent_graphs.actions import clip
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.grounding import (
    asked_actions,
    claimed_actions,
    missing_actions,
    results_answer,
)
from agent_graphs.planning_agent import prompts
from agent_graphs.planning_agent.report import sources_of, trace_figures
from agent_graphs.planning_agent.settings import agent_settings
from agent_graphs.planning_agent.state import State
from agent_graphs.reflection.checks import CheckResult
from agent_graphs.reflection.compose import Loop
from agent_graphs.reflection.state import InputState as LoopInput
from agent_graphs.schemas import merge_by_id
from tools.runner import spawn

__all__ = ["CONTENT", "LOOP", "ClaimsNoAction", "final_text", "finish", "still_owed",
           "to_report"]

CONTENT = {"send_email": "body", "write_file": "content"}
"""The argument of each delivery tool that carries the report."""


def still_owed(ctx: Context, state: Mapping[str, Any]) -> list[str]:
    """Delivery tools the goal asks for that have not been tried yet."""
    if not agent_settings(ctx).agent_deliver or not state.get("report"):
        return []
    done = state.get("delivery") or {}
    return [t for t in asked_actions(state["goal"]) if t in CONTENT and t not in done]


@dataclass(frozen=True)
class ClaimsNoAction:
    """The report must not say it was sent or saved: that happens after it, if at all."""

    name: str = "claims_no_action"

    def run(self, draft: str, sources: Sequence[Mapping[str, Any]]) -> CheckResult:
        """Fail a draft that says something was emailed, sent or saved."""
        claimed = claimed_actions(draft, {})
        return CheckResult(not claimed, "no claims of actions" if not claimed else
                           f"it says {', '.join(claimed)} happened; nothing was sent or "
                           "saved yet: leave that out")


_CHECKS = (ClaimsNoAction(),)


def to_report(state: State, runtime: Runtime[Context], update: dict[str, Any]
              ) -> Command[Any]:
    """Go on to the report from the node that ends the plan's rounds, with its ``update``:
    the reflection loop starts on every result (the writer drafts next), or the run
    finishes when no step succeeded. Run inside that node, not as a node of its own: a
    superstep costs ~1 ms of bookkeeping and this one did nothing else. Goes to
    ``report_write`` or ``finish``: the calling node's routes name both (a ``Command`` of
    those two alone would not type-check as one of the caller's wider routes)."""
    results = merge_by_id(state.get("results"), update.get("results"))
    if not results:
        return Command(goto="finish", update=update)
    start = LOOP.start(state, runtime, _report_task({**state, "results": results}))
    assert start.goto == "report_write", "a report task has no draft: the writer drafts"
    return Command(goto="report_write", update={**update, **dict(start.update or {})})


def _report_task(state: Mapping[str, Any]) -> LoopInput:
    """The loop's input: the writing task, the results as sources."""
    return {"goal": prompts.REPORT_TASK.format(goal=state["goal"]),
            "sources": sources_of(state.get("results") or {})}


def _reflected(state: State, out: dict[str, Any], runtime: Runtime[Context]
               ) -> Command[Literal["prepare_delivery", "__end__"]]:
    """The loop's best draft as the report (the results, if it failed a check); then the
    delivery the goal asks for, or the run's end (:func:`finish`, run here)."""
    results = state.get("results") or {}
    rounds = out.get("rounds") or []
    best = out.get("best_draft", -1)
    passed = any(r["draft"] == best and r["checks_passed"] for r in rounds) or (
        bool(out.get("approved")) and not any(r["draft"] == best for r in rounds))
    report = out.get("final_answer", "")
    reason = out.get("reason", "")
    if not passed or not report.strip():
        report = results_answer(results)
        reason += "; the returned draft failed its checks, so the report lists the results"
    reflection = {"approved": out.get("approved", False), "reason": reason,
                  "best_score": out.get("best_score"), "model_calls": out.get("model_calls", 0),
                  "rounds": [{k: r[k] for k in ("draft", "score", "approved", "checks_passed",
                                                "issues")} for r in rounds]}
    emit("report_written", summary=f"report: {clip(reason, 160)}", level=1,
         rounds=len(rounds), approved=reflection["approved"])
    update = {"report": report, "reflection": reflection, "usage": out.get("usage") or {},
              "tokens": {"reflection (writer, critic)": out.get("usage") or {}}}
    if still_owed(get_context(runtime), {**state, "report": report}):
        return Command(goto="prepare_delivery", update=update)
    # NOTE: nothing to deliver: the run ends in this node, with finish's answer (a
    # superstep of its own cost ~1 ms of bookkeeping for a few lines of Python)
    ended = finish({**state, **update}, runtime)  # type: ignore[typeddict-item]
    return Command(goto="__end__", update={**update, **ended})


def _trace_ahead(state: Mapping[str, Any], draft: str) -> None:
    """Trace a draft's figures on a worker thread while the critic reads it: when it
    becomes the report, the answer's sources (``final_text``, cached by content) are
    ready instead of taking ~1 ms after the critic's verdict."""

    def trace() -> None:
        try:
            final_text(state, draft)
        except Exception:  # noqa: BLE001 - only a head start: the answer traces it itself
            pass

    spawn(trace, name="trace")


LOOP = Loop(key="report_loop", prefix="report_", done=_reflected,  # type: ignore[arg-type]
            done_routes=("prepare_delivery", END), checks=_CHECKS, ahead=_trace_ahead)
"""The reflection loop's nodes in this graph: its state under ``report_loop``."""


def final_text(state: Mapping[str, Any], report: str) -> str:
    """The report followed by the sources of its figures and the steps behind it."""
    return _final_text(_Inputs(report, state.get("goal", ""), state.get("results") or {}))


class _Inputs:
    """What the final text is made of, compared by content: the delivery and the answer
    of one run ask for the same text (tracing its figures takes ~1 ms)."""

    def __init__(self, report: str, goal: str, results: Mapping[str, Any]):
        self.report, self.goal, self.results = report, goal, results
        self.key = (report, goal, json.dumps(results, default=str))

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Inputs) and self.key == other.key


@lru_cache(maxsize=16)
def _final_text(given: _Inputs) -> str:
    report, results = given.report, given.results
    traces = [t for t in trace_figures(report, results, given.goal) if t.step]
    lines = [report.rstrip(), "", "Sources:"]
    lines += [f"- {t.figure}: step {t.step}, {t.source} (\"{clip(t.line, 100)}\")"
              for t in traces]
    lines += [f"- step {sid}: {r['tool']}({clip(r['args'], 80)})" for sid, r in results.items()
              if not any(t.step == sid for t in traces)]
    return "\n".join(lines)


def finish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Return the report with its sources, or say why the run stopped short."""
    results = state.get("results") or {}
    report = state.get("report") or ""
    reason = state.get("stop_reason", "")
    if not report:
        why = reason or "no step succeeded, so there is nothing to report"
        answer = f"Stopped before reaching the goal: {why}"
        emit("finished", summary=f"failed: {clip(answer, 200)}", status="failed", answer=answer)
        return {"final_answer": answer, "status": "failed"}
    delivery = state.get("delivery") or {}
    notes = []
    for tool, outcome in delivery.items():
        if outcome.get("rejected"):
            notes.append(f"A person rejected the {tool} call ({outcome.get('error')}).")
        elif outcome.get("ok"):
            notes.append(f"{tool}: {clip(outcome.get('output'), 200)}")
        else:
            notes.append(f"{tool} failed: {clip(outcome.get('error'), 200)}")
    done_actions = {f"deliver-{t}": o for t, o in delivery.items() if o.get("ok")}
    rejected = [t for t, o in delivery.items() if o.get("rejected")]
    owed = (missing_actions(state["goal"], done_actions, rejected)
            if agent_settings(get_context(runtime)).agent_deliver else [])
    failed_delivery = [t for t, o in delivery.items() if not o.get("ok") and not o.get("rejected")]
    problems = [reason] if reason else []
    problems += [f"the goal asks for {t} but it did not happen" for t in owed
                 if t not in failed_delivery]
    problems += [f"{t} failed" for t in failed_delivery]
    answer = final_text(state, report) + ("\n\n" + "\n".join(notes) if notes else "")
    status: Literal["done", "failed"] = "failed" if problems else "done"
    if problems:
        answer = f"Not everything the goal asks for was done: {'; '.join(problems)}.\n\n{answer}"
    emit("finished", summary=f"{status}: {clip(report, 160)}", status=status, answer=answer)
    return {"final_answer": answer, "status": status}
