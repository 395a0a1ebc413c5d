"""The run report: a Markdown page a person would rather look at than read.

Built from a run's final values alone (plus, when given, the thread's audit trail), so it
can be written for any finished or paused thread, from the CLI (``--report PATH``) or from
Python (:func:`write_report`): the plan as a Mermaid dependency diagram with each task's
status and duration, the approvals asked and answered, the reflection rounds and scores,
tokens per role, and the source behind each figure of the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from agent_graphs.figures import (
    Figure,
    checked,
    figure_spans,
    figures,
    known_values,
    supported,
    values_of,
)
from agent_graphs.reflection.sources import parse_search
from agent_graphs.reflection.state import Source


__all__ = ["Trace", "render_report", "sources_of", "task_status", "trace_figures",
           "write_report"]


class Trace(NamedTuple):
    """Where one figure of the report comes from (``step`` None: from no result)."""

    figure: str
    step: str | None
    source: str
    line: str


def sources_of(results: Mapping[str, Any]) -> list[Source]:
    """The facts a report may use: each document a search found, each other result.

    Ids say which step a fact came from (``s2.d1``: step s2's first document), so the
    writer, the critic and the run report all name the step behind a figure.
    """
    sources: list[Source] = []
    for sid, r in results.items():
        output = str(r.get("output") or "")
        docs = parse_search(output) if r.get("tool") == "search" else []
        if docs:
            sources += [{"id": f"{sid}.{d['id']}", "text": d["text"],
                         "source": f"{sid} {d['source']}"} for d in docs]
        elif r.get("tool") == "calculator":
            sources.append({"id": sid, "text": f"{r.get('description', '')}: {output}",
                            "source": f"{sid} calculator: {r['args'].get('expression', '')}"})
        else:
            sources.append({"id": sid, "text": output[:2000], "source": f"{sid} {r.get('tool')}"})
    return sources


def _lines_with_figures(text: str) -> Iterator[tuple[str, list[Figure]]]:
    """Each line of ``text`` that holds figures, stripped, with them (one parse of the
    whole text, shared with the checks that parsed it before: a figure spans no lines)."""
    spans = figure_spans(text)
    i, start = 0, 0
    for raw in text.splitlines(keepends=True):
        end = start + len(raw)
        figs = []
        while i < len(spans) and spans[i][0] < end:
            figs.append(spans[i][1])
            i += 1
        if figs:
            yield raw.strip(), figs
        start = end


def trace_figures(text: str, results: Mapping[str, Any], goal: str = "") -> list[Trace]:
    """Every checked figure of ``text`` with the step, document and line it comes from.

    Figures are checked by the reflection loop's rule (``figures``): labels such as Q4 and
    small counts are not figures; a rounded figure matches the number it rounds.
    """
    # Values read with a verified quote first: that is the line the step stands for.
    quoted = [{"source": f"{sid} {r.get('source', r.get('tool'))}", "text": r["quote"]}
              for sid, r in results.items() if r.get("quote")]
    sources = quoted + sources_of(results)
    wanted: dict[str, Figure] = {}
    for fig in figures(text):
        if checked(fig) and fig.text not in wanted:
            wanted[fig.text] = fig
    found: dict[str, tuple[str, str]] = {}
    # NOTE: each line is parsed once (figures() caches it) and compared by value with the
    # figures still unplaced, the first line of the first source that states one wins,
    # else the first that rounds to it ("$1 million" is the partner threshold, not
    # "$0.88 million" rounded); re-checking with the text rule took 10-40 ms a report.
    pending = dict(wanted)
    for exact in (True, False):  # a line with the very figure before one it rounds
        for s in sources:
            if not pending:
                break
            for line, figs in _lines_with_figures(s["text"]):
                known = values_of(figs)
                stated = {f.value for f in figs}
                for fig_text, fig in list(pending.items()):
                    if fig.value in stated if exact else supported(fig, known):
                        found[fig_text] = (s["source"], line)
                        del pending[fig_text]
    in_goal = known_values([goal]) if goal else []
    traces: list[Trace] = []
    for fig_text, fig in wanted.items():
        if fig_text in found:
            source, line = found[fig_text]
            traces.append(Trace(fig_text, source.split()[0], source.partition(" ")[2], line))
        elif supported(fig, in_goal):
            traces.append(Trace(fig_text, "goal", "the goal", goal))
        else:
            traces.append(Trace(fig_text, None, "", ""))
    return traces


def task_status(values: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every task attempt by id: ``done``, ``failed``, ``skipped``, ``rejected`` or
    ``not run``, with its record (empty when it never ran)."""
    status: dict[str, tuple[str, dict[str, Any]]] = {}
    for f in values.get("failures") or []:
        if f.get("step_id"):
            kind = "rejected" if f.get("rejected") else "skipped" if f.get("skipped") else "failed"
            status[f["step_id"]] = (kind, f)
    for sid, r in (values.get("results") or {}).items():
        status[sid] = ("done", r)
    for step in values.get("plan") or []:
        status.setdefault(step["id"], ("not run", {}))
    return status


def _esc(text: Any, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return text.replace('"', "#quot;").replace("|", "/").replace("<", "&lt;")


def _mermaid(values: Mapping[str, Any]) -> list[str]:
    steps = {s["id"]: s for s in values.get("plan") or []}
    status = task_status(values)
    for sid, (_, record) in status.items():
        steps.setdefault(sid, {"id": sid, "tool": record.get("tool", "?"), "depends_on": [],
                               "description": record.get("description", "")})
    out = ["```mermaid", "flowchart TD"]
    for sid, step in steps.items():
        kind, record = status[sid]
        took = f" · {record['seconds']:.2f} s" if "seconds" in record else ""
        out.append(f'  {_node(sid)}["{sid} · {step["tool"]}<br/>{_esc(step["description"])}'
                   f'<br/>{kind}{took}"]:::{kind.replace(" ", "_")}')
        out += [f"  {_node(d)} --> {_node(sid)}" for d in step.get("depends_on") or []
                if d in steps]
    reflection = values.get("reflection") or {}
    if values.get("report"):
        rounds = reflection.get("rounds") or []
        score = reflection.get("best_score")
        out.append(f'  report[["report · {len(rounds)} reflection round(s)'
                   + (f" · score {score:.2f}" if isinstance(score, int | float) else "")
                   + '"]]')
        out += [f"  {_node(sid)} --> report" for sid in values.get("results") or {}]
        for tool, outcome in (values.get("delivery") or {}).items():
            said = ("rejected" if outcome.get("rejected") else "done" if outcome.get("ok")
                    else "failed")
            out.append(f'  report --> {_node(tool)}{{{{"{tool} · {said}"}}}}:::'
                       f'{"done" if said == "done" else "failed"}')
    out += ["  classDef done fill:#d4edda,stroke:#2e7d32",
            "  classDef failed fill:#f8d7da,stroke:#c62828",
            "  classDef rejected fill:#fff3cd,stroke:#b8860b",
            "  classDef skipped fill:#eeeeee,stroke:#9e9e9e",
            "  classDef not_run fill:#ffffff,stroke:#9e9e9e,stroke-dasharray: 4", "```"]
    return out


def _node(sid: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in sid)


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    body = ["| " + " | ".join(_esc(c, 120) for c in row) + " |" for row in rows]
    if not body:
        return ["(none)"]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *body]


def render_report(values: Mapping[str, Any], audit_records: Sequence[Any] = ()) -> str:
    """Return the run report of a thread's ``values`` as Markdown."""
    goal = values.get("goal", "")
    results = values.get("results") or {}
    lines = [f"# Run report: {goal}", "",
             f"**Status:** {values.get('status', 'not finished')}"
             + (f" — {values['stop_reason']}" if values.get("stop_reason") else ""), "",
             "## Plan", "", *_mermaid(values), ""]
    status = task_status(values)
    lines += _table(["task", "tool", "status", "seconds", "result"], [
        (sid, rec.get("tool", ""), kind, f"{rec['seconds']:.2f}" if "seconds" in rec else "",
         rec.get("output") or rec.get("error") or "")
        for sid, (kind, rec) in status.items()])
    lines += ["", "## Approvals", ""]
    lines += _table(["asked about", "risk", "decision", "by", "reason"], [
        (d.get("what", ""), d.get("risk", ""), d.get("decision", ""), d.get("by", ""),
         d.get("reason", "")) for d in values.get("decisions") or []])
    if audit_records:
        lines += ["", "Audit trail:", ""]
        lines += _table(["at", "kind", "key", "actor"], [
            (r.at, r.kind, r.key, r.actor) for r in audit_records])
    reflection = values.get("reflection") or {}
    lines += ["", "## Reflection", "", reflection.get("reason", "(the report was not reflected)"),
              ""]
    lines += _table(["draft", "score", "approved", "checks passed", "issues"], [
        (r["draft"] + 1, f"{r['score']:.2f}", r["approved"], r["checks_passed"],
         "; ".join(r.get("issues") or []) or "none") for r in reflection.get("rounds") or []])
    lines += ["", "## Tokens per role", ""]
    lines += _table(["role", "input", "output"], [
        (role, used.get("input_tokens", 0), used.get("output_tokens", 0))
        for role, used in sorted((values.get("tokens") or {}).items())])
    lines += ["", "## Sources behind each figure", ""]
    traces = trace_figures(values.get("report", ""), results, goal)
    lines += _table(["figure", "step", "document", "line"], [
        (t.figure, t.step or "NOT FOUND", t.source, t.line) for t in traces])
    lines += ["", "## Final answer", "", values.get("final_answer", "(none yet)"), ""]
    return "\n".join(lines)


def write_report(values: Mapping[str, Any], path: str | Path,
                 audit_records: Sequence[Any] = ()) -> Path:
    """Write the run report of ``values`` to ``path`` (folders made); return the path."""
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(values, audit_records), encoding="utf-8")
    return target
