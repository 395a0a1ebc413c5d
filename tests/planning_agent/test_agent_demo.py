"""The planning agent end to end on the bundled corpus, with scripted models.

Both demo goals: a pause for the plan and (sales, emailed) for the email, resumed in new
processes; the competitor goal's failed search replanned while what succeeded is kept;
every figure of the report traced to the step and document it came from.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool
from langgraph.types import Command

from agent_graphs.figures import unsupported_figures
from agent_graphs.planning_agent.graph import build_graph, builder
from agent_graphs.planning_agent.report import render_report, trace_figures, write_report
from tests.fakes import call, install
from tests.planning_agent.contract import (
    CASES,
    COMPETITOR_GOAL,
    CONTEXT,
    EMAIL_GOAL,
    FALLBACKS,
    MISSPELT,
)
from tools import Risk

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"configurable": {"thread_id": "t1"}, "recursion_limit": 500}


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "tests.planning_agent.agent_child", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _assert_grounded(values: dict[str, Any]) -> None:
    """Every figure in the report is in a step's result, and the report says which."""
    outputs = [str(r.get("output")) for r in values["results"].values()]
    assert unsupported_figures(values["report"], outputs + [values["goal"]])[1] == []
    traces = trace_figures(values["report"], values["results"], values["goal"])
    assert traces and all(t.step in values["results"] or t.step == "goal" for t in traces)


def test_emailed_sales_summary_pauses_twice_and_resumes_in_new_processes(tmp_path):
    db, outbox = str(tmp_path / "agent.sqlite"), str(tmp_path / "outbox.jsonl")
    first = _child("start", db, EMAIL_GOAL, outbox)
    assert [w["kind"] for w in first["waiting"]] == ["plan"]
    assert "results" not in first["values"] or not first["values"]["results"]

    second = _child("resume", db, "approve", outbox)  # a new process approves the plan
    assert [(w["kind"], w["tool"]) for w in second["waiting"]] == [("tool_call", "send_email")]
    assert not Path(outbox).exists()  # nothing is sent before a person's yes
    values = second["values"]
    assert set(values["results"]) == {"s1", "s2", "s3", "s4"}
    assert values["results"]["s3"]["output"].startswith("11.17")  # (9.45 - 8.50) / 8.50
    assert values["results"]["s1"]["value"] == 8.5 and values["results"]["s2"]["value"] == 9.45

    third = _child("resume", db, "approve", outbox)  # and another one the email
    values = third["values"]
    assert third["waiting"] == [] and values["status"] == "done"
    [line] = Path(outbox).read_text().splitlines()
    sent = json.loads(line)
    assert "elena.vasquez@acme.example" in json.dumps(sent)
    assert "$9.45 million" in json.dumps(sent) and "Sources:" in json.dumps(sent)
    _assert_grounded(values)
    assert "Email sent" in values["final_answer"]
    assert [d["decision"] for d in values["decisions"]] == ["approve", "approve"]

    again = _child("resume", db, "approve", outbox)  # nothing pending: nothing resent
    assert again["values"]["status"] == "done"
    assert len(Path(outbox).read_text().splitlines()) == 1


def test_competitor_report_replans_only_what_failed(checkpointer, dirs):
    install(fallbacks=FALLBACKS)
    graph = builder.compile(checkpointer=checkpointer)
    context = {**CONTEXT, **dirs, "approve_plan": True}
    events: list[dict[str, Any]] = []

    def run(payload: Any) -> None:
        for _ns, chunk in graph.stream(payload, CONFIG, context=context, stream_mode="custom",
                                       subgraphs=True, durability="sync"):
            events.append(chunk)

    run({"goal": COMPETITOR_GOAL})
    plans = 0
    while pending := graph.get_state(CONFIG).interrupts:
        plans += 1
        assert pending[0].value["kind"] == "plan"
        run(Command(resume={i.id: "approve" for i in pending}))
    assert plans == 2  # the first plan and the replan, each approved
    values = graph.get_state(CONFIG).values
    assert values["status"] == "done"
    [failed] = values["failures"]
    assert failed["step_id"] == "s3" and failed["args"]["query"] == MISSPELT
    assert set(values["results"]) == {"s1", "s2", "s4", "s5"}
    assert values["results"]["s5"]["args"]["query"] == "Initech pricing"
    started = [e["step_id"] for e in events if e["event"] == "task_started"]
    assert sorted(started) == ["s1", "s2", "s3", "s4", "s5"]  # kept steps never ran again
    assert values["replans"] == 1
    for price in ("$249", "$179", "$289"):  # Globex, Umbrella, Initech
        assert price in values["report"]
    _assert_grounded(values)


def test_contract_cases(checkpointer, dirs):
    install(fallbacks=CASES["answer"]["fallbacks"])
    graph = builder.compile(checkpointer=checkpointer)
    graph.invoke(CASES["answer"]["input"], CONFIG, context={**CONTEXT, **dirs})
    values = graph.get_state(CONFIG).values
    assert values["status"] == "done" and values["final_answer"].strip()
    assert not values.get("delivery")  # the goal asks for no email

    config = {**CONFIG, "configurable": {"thread_id": "t2"}}
    graph.invoke(CASES["approval"]["input"], config, context={**CONTEXT, **dirs})
    paused = 0
    while (pending := graph.get_state(config).interrupts) and paused < 5:
        paused += 1
        graph.invoke(Command(resume={i.id: "approve" for i in pending}), config,
                     context={**CONTEXT, **dirs})
    assert paused == 1 and graph.get_state(config).values["status"] == "done"
    assert len(Path(dirs["outbox"]).read_text().splitlines()) == 1


def test_rejected_email_is_not_sent_and_the_answer_says_so(dirs):
    install(fallbacks=FALLBACKS)
    from langgraph.checkpoint.memory import InMemorySaver

    graph = builder.compile(checkpointer=InMemorySaver())
    context = {**CONTEXT, **dirs}
    graph.invoke({"goal": EMAIL_GOAL}, CONFIG, context=context)
    [pending] = graph.get_state(CONFIG).interrupts
    graph.invoke(Command(resume={pending.id: {"action": "reject", "reason": "not yet"}}),
                 CONFIG, context=context)
    values = graph.get_state(CONFIG).values
    assert not Path(dirs["outbox"]).exists()
    assert values["status"] == "done" and "rejected the send_email call" in values["final_answer"]
    assert values["decisions"][-1]["decision"] == "reject"


def test_run_report_shows_plan_approvals_reflection_tokens_and_sources(dirs, tmp_path):
    install(fallbacks=FALLBACKS)
    from langgraph.checkpoint.memory import InMemorySaver

    graph = builder.compile(checkpointer=InMemorySaver())
    context = {**CONTEXT, **dirs}
    graph.invoke({"goal": EMAIL_GOAL}, CONFIG, context=context)
    [pending] = graph.get_state(CONFIG).interrupts
    graph.invoke(Command(resume={pending.id: "approve"}), CONFIG, context=context)
    values = graph.get_state(CONFIG).values
    path = write_report(values, tmp_path / "out" / "report.md")
    text = path.read_text()
    assert text == render_report(values)
    assert "```mermaid" in text and "n_s1 --> n_s3" in text and "n_s2 --> n_s3" in text
    for sid in ("s1", "s2", "s3", "s4"):
        seconds = values["results"][sid]["seconds"]
        assert f"{sid} · " in text and f"done · {seconds:.2f} s" in text
    assert "| send_email(" in text and "| high | approve |" in text
    assert "| 1 | 0.90 | True | True | none |" in text  # the reflection round
    for role in ("planner", "executor", "reflection (writer, critic)"):
        assert f"| {role} |" in text
    assert "| $9.45 million | s2 |" in text and "sales-q4-2024.md" in text
    assert "NOT FOUND" not in text


def test_independent_tasks_run_at_the_same_time(dirs):
    """Two tasks meet at a barrier: run one after the other, both would fail."""
    meet = threading.Barrier(2, timeout=30)

    @tool
    def rendezvous(name: str) -> str:
        """Wait until the other task arrives."""
        meet.wait()
        return f"{name} met the other at 1 barrier"

    def planner(messages, bound):
        return call("Plan", steps=[
            {"id": f"s{n}", "description": f"meet {n}", "tool": "rendezvous",
             "args": {"name": f"t{n}"}, "depends_on": [], "expected_output": "met"}
            for n in (1, 2)])

    install(fallbacks={**FALLBACKS, "planner": planner})
    from langgraph.checkpoint.memory import InMemorySaver

    graph = build_graph(tools={"rendezvous": (rendezvous, Risk.LOW)}).compile(
        checkpointer=InMemorySaver())
    graph.invoke({"goal": "Meet twice"}, CONFIG, context={**CONTEXT, **dirs})
    values = graph.get_state(CONFIG).values
    assert set(values["results"]) == {"s1", "s2"}, values.get("failures")


@pytest.mark.parametrize("bad", [{"goal": ""}, {"goal": "   "}])
def test_an_empty_goal_is_refused(bad, dirs):
    install(fallbacks=FALLBACKS)
    with pytest.raises(ValueError, match="goal must be a non-empty string"):
        builder.compile().invoke(bad, context={**CONTEXT, **dirs})


def test_a_replanner_with_no_usable_plan_ends_the_run_with_what_succeeded(dirs):
    from tests.planning_agent.contract import _step, competitor_plan

    def planner(messages, bound):
        if "<failed>" not in messages[0].text:
            return call("Plan", steps=competitor_plan(False))
        return call("Plan", steps=[_step("s5", "Initech again", "calculator",
                                         {"expression": "$s9 * 2"})])  # names no real step

    install(fallbacks={**FALLBACKS, "planner": planner})
    from langgraph.checkpoint.memory import InMemorySaver

    graph = builder.compile(checkpointer=InMemorySaver())
    graph.invoke({"goal": COMPETITOR_GOAL}, CONFIG, context={**CONTEXT, **dirs})
    values = graph.get_state(CONFIG).values
    assert values["status"] == "failed"
    assert "no usable plan" in values["final_answer"]
    assert set(values["results"]) == {"s1", "s2", "s4"}  # what succeeded is reported
    assert "$249" in values["report"] and "$179" in values["report"]


def test_a_plan_cannot_save_or_send_the_report_before_it_exists(dirs):
    seen: list[tuple[str, str]] = []

    def planner(messages, bound):
        seen.append((messages[0].text, json.dumps(bound.get("tools"))))
        return FALLBACKS["planner"](messages, bound)

    install(fallbacks={**FALLBACKS, "planner": planner})
    from langgraph.checkpoint.memory import InMemorySaver

    graph = builder.compile(checkpointer=InMemorySaver())
    graph.invoke({"goal": CASES["answer"]["input"]["goal"] + " and save it to summary.md"},
                 CONFIG, context={**CONTEXT, **dirs})
    prompt, grammar = seen[0]
    assert "- search (low)" in prompt and "- write_file" not in prompt
    assert "send_email" not in grammar and "write_file" not in grammar
    assert '"search"' in grammar


def test_a_plan_reads_only_files_that_are_in_the_workspace(dirs):
    # A small planner plans read_file("sales_data.csv") for files it made up: with an
    # empty workspace read_file is not offered, and a plan that uses it goes back.
    from langgraph.checkpoint.memory import InMemorySaver

    from tests.planning_agent.contract import _step

    seen: list[tuple[str, str]] = []

    def planner(messages, bound):
        seen.append((messages[0].text, json.dumps(bound.get("tools"))))
        if len(seen) == 1:
            return call("Plan", steps=[_step("s1", "Read the sales data", "read_file",
                                             {"path": "sales_data.csv"})])
        return FALLBACKS["planner"](messages, bound)

    install(fallbacks={**FALLBACKS, "planner": planner})
    graph = builder.compile(checkpointer=InMemorySaver())
    goal = CASES["answer"]["input"]["goal"]
    graph.invoke({"goal": goal}, CONFIG, context={**CONTEXT, **dirs})
    assert graph.get_state(CONFIG).values["status"] == "done"
    prompt, grammar = seen[0]
    assert "- read_file" not in prompt and '"read_file"' not in grammar
    assert "read_file" in seen[1][0]  # the feedback names the refused tool

    # With files in the workspace, read_file is offered for exactly those files.
    workspace = Path(dirs["workspace"])
    (workspace / "notes").mkdir(parents=True, exist_ok=True)
    (workspace / "notes" / "q4.md").write_text("Q4 notes")
    (workspace / ".hidden").write_text("x")
    seen.clear()
    config = {**CONFIG, "configurable": {"thread_id": "t2"}}
    graph.invoke({"goal": goal}, config, context={**CONTEXT, **dirs})
    prompt, grammar = seen[0]
    assert "- read_file" in prompt and "workspace files read_file can read: notes/q4.md" in prompt
    assert '"notes/q4.md"' in grammar and ".hidden" not in grammar
