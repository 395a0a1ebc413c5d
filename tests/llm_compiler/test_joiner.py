"""The LLM Compiler's joiner with scripted models: what it is shown, what it may answer.

Real searches over the bundled corpus (offline), the scripted joiner model of
``tests/fakes.py``: a grounded answer is accepted; a made-up number is sent back, then
replaced by the results; replans end at ``max_replans``; an action the goal asks for
that no task ran is never answered as done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent_graphs.figures import figures
from agent_graphs.llm_compiler.graph import build_graph
from agent_graphs.llm_compiler.joiner import evidence
from tests.fakes import bound_tool_names, call, install
from tests.llm_compiler.compiler_kit import CONTEXT, Recorder, planner, task

GOAL = "Compare the monthly prices of the entry plans of Globex, Initech and Umbrella"
SEARCHES = [task(f"s{n}", tool_name="search", args={"query": f"{name} entry plan price"})
            | {"description": f"Find the price of {name}'s entry plan"}
            for n, name in enumerate(("Globex", "Initech", "Umbrella"), 1)]


# The line a careful reader picks for each task (the corpus's entry plans).
PICKS = {"Globex": "Globex Monitor Basic: $59", "Initech": "Initech Connect cloud add-on",
         "Umbrella": "Umbrella Insight Team: $179"}


def _config(thread: str = "t1") -> dict:
    return {"configurable": {"thread_id": thread}, "recursion_limit": 100}


def _joiner(decisions: list[Any], picks: dict[str, str] | None = None
            ) -> Callable[[list[BaseMessage], dict[str, Any]], AIMessage]:
    """A joiner model: an Extraction call picks the numbered line holding ``picks[name]``
    for the task about ``name`` (else line 1) with its first figure; a JoinDecision call
    gets the next of ``decisions``."""
    picks = PICKS if picks is None else picks

    def answer(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
        if "Extraction" not in bound_tool_names(bound):
            return decisions.pop(0)
        prompt = messages[0].text
        numbered = re.findall(r"^(\d+)\. (.*)$", prompt, re.M)
        what = prompt[prompt.index("gives:"):]
        marker = next((m for name, m in picks.items() if name in what), None)
        n, line = next(((int(n), line) for n, line in numbered if marker and marker in line),
                       (1, numbered[0][1]))
        first = next(f for f in figures(line.split("] ", 1)[-1]) if not f.label)
        return call("Extraction", line=n, value=float(first.digits))

    return answer


def _run(joiner: list[Any], dirs: dict[str, str], plans: list[list[dict[str, Any]]] | None = None,
         goal: str = GOAL, **settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the graph on the searches with a scripted joiner; return (values, fakes)."""
    fakes = install(fallbacks={"planner": planner(*(plans or [SEARCHES])),
                               "joiner": _joiner(list(joiner))})
    graph = build_graph().compile(checkpointer=InMemorySaver())
    graph.invoke({"goal": goal}, _config(), context={**CONTEXT, **dirs, **settings})
    return graph.get_state(_config()).values, fakes


def _finish(answer: str) -> Any:
    return call("JoinDecision", thought="the lines give the prices", action="finish",
                answer=answer)


def _decisions(fake: Any) -> list[str]:
    """The prompts of the joiner's JoinDecision calls (not its Extraction calls)."""
    return [msgs[-1].text for msgs, bound in zip(fake.calls, fake.bound, strict=True)
            if "JoinDecision" in bound_tool_names(bound)]


def _searched() -> dict[str, Any]:
    from agent_graphs.context import Context
    from agent_graphs.tooling import toolbox_for

    box = toolbox_for(Context())
    return {s["id"]: {"ok": True, "tool": "search", "args": s["args"],
                      "output": box.run("search", {**s["args"], "k": 3})} for s in SEARCHES}


RIGHT = ("Globex Monitor Basic: $59 per month; Initech Connect: $15 per sensor per month; "
         "Umbrella Insight Team: $179 per month.")


# The 0.5B planner's shape: every search described by the goal, told apart by its query.
SAME_WORDS = [s | {"description": GOAL} for s in SEARCHES]


@pytest.mark.parametrize("plan", [SEARCHES, SAME_WORDS], ids=["described", "same-words"])
def test_each_task_is_shown_its_own_lines_not_the_documents(plan):
    results = _searched()
    lines = evidence(plan, results)
    text = {sid: "\n".join(line for line, _, _ in found) for sid, found in lines.items()}
    assert all(len(text[sid]) < len(results[sid]["output"]) / 3 for sid in text)
    assert "Globex Monitor Basic: $59 per month" in text["s1"]
    assert "Initech Connect cloud add-on: $15 per sensor per month" in text["s2"]
    assert "Umbrella Insight Team: $179 per month" in text["s3"]
    # a company's lines are listed under its own task only
    assert "Umbrella" not in text["s1"] + text["s2"] and "Globex" not in text["s3"]
    assert {source for found in lines.values() for _, source, _ in found} >= {
        "competitor-globex.md", "competitor-initech.md", "competitor-umbrella.md"}


def test_a_short_result_or_a_failure_is_shown_whole():
    plan = [task("a"), task("b"), task("c", deps=["b"])]
    results = {"a": {"ok": True, "tool": "work", "output": "result of a"},
               "b": {"ok": False, "tool": "work", "error": "timed out after 1 s"}}
    assert evidence(plan, results) == {"a": [("result of a", "tool", "")],
                                       "b": [("FAILED: timed out after 1 s", "", "")]}


def test_a_grounded_answer_is_accepted_and_the_values_are_kept_with_their_lines(dirs):
    values, fakes = _run([_finish(RIGHT)], dirs)
    assert values["status"] == "done" and values["final_answer"] == RIGHT
    read = {sid: (r["value"], r["source"]) for sid, r in values["results"].items()}
    assert read == {"s1": (59.0, "competitor-globex.md"), "s2": (15.0, "competitor-initech.md"),
                    "s3": (179.0, "competitor-umbrella.md")}
    [prompt] = _decisions(fakes["joiner"])
    assert "59 (from: Globex Monitor Basic: $59 per month" in prompt
    assert "Entry plans" not in prompt  # one line per task once its value is read
    assert len(fakes["joiner"].calls) == 4 and len(fakes["planner"].calls) == 1


def test_a_made_up_number_is_sent_back_once_with_the_problem_named(dirs):
    made_up = RIGHT.replace("$179", "$169")
    values, fakes = _run([_finish(made_up), _finish(RIGHT)], dirs)
    retry = _decisions(fakes["joiner"])[1]
    assert "169" in retry and "appear in no result" in retry
    assert values["status"] == "done" and values["final_answer"] == RIGHT
    assert len(fakes["planner"].calls) == 1  # no replan


def test_an_answer_that_leaves_a_task_out_is_sent_back(dirs):
    partial = "Globex Monitor Basic: $59 per month; Umbrella Insight Team: $179 per month."
    values, fakes = _run([_finish(partial), _finish(RIGHT)], dirs)
    assert ("does not give task s2's result (Find the price of Initech's entry plan: 15)"
            in _decisions(fakes["joiner"])[1])
    assert values["status"] == "done" and values["final_answer"] == RIGHT


def test_an_answer_that_stays_ungrounded_is_replaced_by_the_results(dirs):
    guess = "Globex costs about $60 and Umbrella about $180 a month; Initech is cheaper."
    values, fakes = _run([_finish(guess), _finish(guess)], dirs)
    answer, note = values["final_answer"].split("(The joiner")
    assert values["status"] == "done"
    assert "$60" not in answer and "$60, $180 appear in no result" in note
    for sid, line in (("s1", "Globex Monitor Basic: $59 per month"),
                      ("s2", "Initech Connect cloud add-on: $15"),
                      ("s3", "Umbrella Insight Team: $179 per month")):
        assert re.search(rf"- {sid} search: \d+ \(\"{re.escape(line)}", answer), answer
    assert len(_decisions(fakes["joiner"])) == 2 and len(fakes["planner"].calls) == 1


def test_a_fallback_with_a_failed_task_ends_failed(dirs):
    rec = Recorder()
    plan = [task("a"), task("b", tool_name="calculator", args={"expression": "1/0"})]
    fakes = install(fallbacks={"planner": planner(plan)},
                    joiner=[_finish("a gives 42"), _finish("a gives 42")])
    graph = rec.graph().compile(checkpointer=InMemorySaver())
    values = graph.invoke({"goal": "g"}, _config(), context={**CONTEXT, **dirs})
    assert values["status"] == "failed", values["final_answer"]
    assert "42" in values["final_answer"] and "Tasks b failed" in values["final_answer"]
    assert "result of a" in values["final_answer"] and len(fakes["joiner"].calls) == 2


def test_replans_end_at_the_limit_and_nothing_is_read_twice(dirs):
    more = call("JoinDecision", thought="not enough", action="replan", feedback="look again")
    second = [task("s4", tool_name="search", args={"query": "Globex prices"})]
    values, fakes = _run([more, more, more], dirs, plans=[SEARCHES, second], max_replans=2)
    assert values["status"] == "failed" and "replan limit (2)" in values["final_answer"]
    prompts = _decisions(fakes["joiner"])
    assert len(prompts) == 3 and len(fakes["planner"].calls) == 3
    assert "No replans are left" in prompts[-1] and "No replans" not in prompts[0]
    assert {"s1", "s2", "s3", "s4"} <= set(values["results"])
    asked = [msgs[0].text for msgs in fakes["joiner"].calls]
    for name in ("Globex", "Initech", "Umbrella"):  # each value read once, kept after
        assert sum(f"price of {name}'s entry plan?" in p for p in asked) == 1, name


def test_an_action_the_goal_asks_for_is_not_answered_without_its_task(dirs):
    goal = f"{GOAL}, and email the table to the VP of Sales"
    values, fakes = _run([_finish(RIGHT)], dirs, goal=goal, max_replans=0)
    assert values["status"] == "failed"
    assert "send_email" in values["final_answer"] and "replan limit (0)" in values["final_answer"]


def test_an_answer_claiming_an_action_no_task_ran_is_set_aside(dirs):
    claim = RIGHT + " I sent the comparison to the VP."
    values, fakes = _run([_finish(claim), _finish(RIGHT)], dirs)
    assert "send_email happened" in _decisions(fakes["joiner"])[1]
    assert values["status"] == "done" and values["final_answer"] == RIGHT


def test_a_line_pricing_two_things_gives_the_figure_about_the_tasks_subject(dirs):
    # A small model reads the first figure of "Acme Cloud Starter costs $49 ... and Globex
    # Monitor Basic costs $59": $49 is Acme's; the clause naming Globex says $59.
    picks = {**PICKS, "Globex": "Entry plans: Acme Cloud Starter costs $49"}
    fakes = install(fallbacks={"planner": planner(SEARCHES),
                               "joiner": _joiner([_finish(RIGHT)], picks)})
    graph = build_graph().compile(checkpointer=InMemorySaver())
    values = graph.invoke({"goal": GOAL}, _config(), context={**CONTEXT, **dirs})
    s1 = graph.get_state(_config()).values["results"]["s1"]
    assert s1["value"] == 59.0 and s1["quote"].startswith("Entry plans:")
    assert values["status"] == "done" and len(fakes["joiner"].calls) == 4


def test_tasks_described_alike_are_read_by_their_own_query(dirs):
    values, fakes = _run([_finish(RIGHT)], dirs, plans=[SAME_WORDS])
    asked = [msgs[0].text for msgs in fakes["joiner"].calls][:3]
    assert {a[a.index("gives:"):].strip() for a in asked} == {
        f"gives: {name} entry plan price? Answer with its number and the value it states, as "
        "a plain number (no $, %, commas or words)." for name in ("Globex", "Initech", "Umbrella")}
    assert values["status"] == "done" and {
        sid: r["value"] for sid, r in values["results"].items()} == {
        "s1": 59.0, "s2": 15.0, "s3": 179.0}
    [prompt] = _decisions(fakes["joiner"])  # the tasks named by what sets them apart
    assert ("the result of each task: Globex entry plan price, Initech entry plan price, "
            "Umbrella entry plan price.") in prompt
    assert "about='Initech entry plan price'>15 (from: Initech Connect" in prompt


@pytest.mark.local_model
def test_the_readme_demo_goal_is_answered_right_by_the_default_model(tmp_path):
    """The README's LLM Compiler demo on the REAL embedded 0.5B model: done, with the
    three entry prices the corpus gives, each read from a line of a search result."""
    from tests.local_runs import run_on_local_model

    values = run_on_local_model("llm_compiler", GOAL, tmp_path)
    assert values["status"] == "done", values["final_answer"]
    stated = {float(f.digits) for f in figures(values["final_answer"]) if not f.label}
    assert {59.0, 15.0, 179.0} <= stated, values["final_answer"]
    read = sorted(r["value"] for r in values["results"].values() if "value" in r)
    assert read == [15.0, 59.0, 179.0] and all(
        f"{r['value']:g}" in r["quote"] for r in values["results"].values() if "value" in r)


@pytest.mark.parametrize("email_id", ["902b4d750452", "d526c62c878b"])
def test_an_actions_confirmation_is_not_a_fact_the_answer_must_repeat(email_id):
    # An email's id is random hex: when it began with digits the joiner once demanded
    # them in the answer, and a run's status flipped from done to failed at random.
    from agent_graphs.llm_compiler.joiner import problems_with

    sent = f"Email sent to m2@acme.example (id={email_id}, key=t1:m2:1)."
    state: Any = {"goal": "email m2", "plan": [task("m2", tool_name="send_email")],
                  "results": {"m2": {"ok": True, "tool": "send_email", "risk": "high",
                                     "args": {}, "output": sent}}}
    assert problems_with("The email to m2 was sent.", state, {"m2": [(sent, "", "")]}) == []
