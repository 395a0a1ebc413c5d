"""Right answers, honestly: values read from results with a verified quote, answers whose
numbers come from results, actions that happened, and 'done' only when results say so."""

from __future__ import annotations

import json

import pytest

from agent_graphs.llm import ModelOutputError
from tests.fakes import call, install
from tests.plan_execute.test_graph import plan, run, step

GOAL = "Find Acme's total revenue in Q1 2025 and in Q2 2026, then compute the growth in percent."


def _demo_plan():
    return plan(
        step("s1", "search", {"query": "Acme total revenue Q1 2025"},
             desc="Find Acme total revenue in Q1 2025"),
        step("s2", "search", {"query": "Acme total revenue Q2 2026"},
             desc="Find Acme total revenue in Q2 2026"),
        step("s3", "calculator", {"expression": "($s2 - $s1) / $s1 * 100"}, deps=["s1", "s2"],
             desc="Compute the growth in percent"))


def _extract(line: int, value: float):
    return call("Extraction", line=line, value=value)


def test_values_are_read_with_their_quote_and_the_calculator_does_the_arithmetic(
    checkpointer, dirs
):
    fakes = install(
        planner=[_demo_plan(), "Revenue grew 41.3% from Q1 2025 to Q2 2026."],
        # Q1 2025's report has one line about revenue: no model call. Q2 2026's has two
        # (the total and a note): the model picks one, and says its value.
        executor=[_extract(1, 13.0)],
        critic=[],
    )
    graph, config, _ = run(checkpointer, dirs, goal=GOAL)
    values = graph.get_state(config).values
    assert values["status"] == "done", values["final_answer"]
    s1, s2, s3 = (values["results"][k] for k in ("s1", "s2", "s3"))
    assert (s1["value"], s1["quote"], s1["source"]) == (
        9.2, "Total revenue: $9.20 million.", "sales-q1-2025.md")
    assert (s2["value"], s2["source"]) == (13.0, "sales-q2-2026.md")
    assert s3["args"] == {"expression": "(13 - 9.2) / 9.2 * 100"}
    assert abs(s3["value"] - 41.304) < 0.001
    assert values["final_answer"] == "Revenue grew 41.3% from Q1 2025 to Q2 2026."
    assert fakes["critic"].calls == []  # every verdict came from the results themselves
    # the extraction saw only the candidate lines of the document about its period
    prompt = fakes["executor"].calls[0][0].content
    assert "1. [Q2 2026 Sales Results] Total revenue: $13.00 million." in prompt
    assert "9.20" not in prompt
    assert len(fakes["executor"].calls) == 1


def test_a_value_its_line_does_not_state_is_never_used(checkpointer, dirs):
    fakes = install(
        planner=[_demo_plan(), plan(), "unused"],
        executor=[_extract(1, 14.0), _extract(2, 13.0)],  # neither line states it
        critic=[],
    )
    graph, config, _ = run(checkpointer, dirs, goal=GOAL, max_replans=1)
    values = graph.get_state(config).values
    assert values["status"] == "failed"
    failure = values["failures"][0]
    assert failure["step_id"] == "s3" and "no value for $s2" in failure["error"]
    assert "does not state 13" in failure["error"]
    # the model was told what was wrong before its second try
    assert "does not state 14" in fakes["executor"].calls[1][-1].content
    assert "s3" not in values["results"]


def test_a_result_with_no_line_about_the_period_fails_the_step(checkpointer, dirs):
    install(planner=[plan(
        step("s1", "search", {"query": "Acme total revenue Q1 2031"},
             desc="Find Acme total revenue in Q1 2031"),
        step("s2", "calculator", {"expression": "$s1 * 2"}, deps=["s1"])), plan(), "unused"])
    graph, config, _ = run(checkpointer, dirs, goal="Twice Acme's Q1 2031 revenue?",
                           max_replans=1)
    values = graph.get_state(config).values
    assert values["status"] == "failed"
    assert "no line of the result states" in values["failures"][0]["error"]


def test_a_made_up_number_in_the_answer_is_replaced_by_the_results(checkpointer, dirs):
    fakes = install(
        planner=[_demo_plan(), "Revenue grew 40.8%.", "Revenue grew about 40.8 percent."],
        executor=[_extract(1, 13.0)],
    )
    graph, config, _ = run(checkpointer, dirs, goal=GOAL)
    values = graph.get_state(config).values
    assert values["status"] == "done"
    answer = values["final_answer"]
    assert "40.8" not in answer.split("(The model's answer was set aside")[0]
    assert "41.30434783" in answer and "the numbers 40.8 percent appear in no result" in answer
    assert "appear in no result" in fakes["planner"].calls[2][0].content  # told, then retried


def test_an_empty_replan_after_a_failure_ends_failed_not_done(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {"expression": "1/0"})), plan(),
                     "The answer is 42."])
    graph, config, _ = run(checkpointer, dirs, goal="What is 1/0?")
    values = graph.get_state(config).values
    assert values["status"] == "failed"
    assert "no step succeeded" in values["final_answer"]
    assert "A stronger model" not in values["final_answer"]  # scripted models are not local


def test_a_failed_step_the_replanner_drops_leaves_the_run_failed(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {"expression": "6*7"}),
                          step("s2", "calculator", {"expression": "1/0"})), plan(),
                     "42 and then some."])
    graph, config, _ = run(checkpointer, dirs, goal="Compute 6*7 and then 1/0")
    values = graph.get_state(config).values
    assert values["status"] == "failed"
    assert "step s2 (calculator) failed and no later step replaced it" in values["final_answer"]


def test_a_goal_asking_for_an_email_needs_an_email_step(checkpointer, dirs):
    fakes = install(planner=[plan(step("s1", "calculator", {"expression": "6*7"}))] * 2)
    with pytest.raises(ModelOutputError, match="add a send_email step"):
        run(checkpointer, dirs, goal="Email our CFO the value of 6*7", max_plan_attempts=2)
    assert "add a send_email step" in fakes["planner"].calls[1][-1].content
    assert not (json.loads("[]"))  # nothing was sent: no outbox line


def test_an_answer_claiming_an_action_that_never_ran_is_set_aside(checkpointer, dirs):
    install(planner=[plan(step("s1", "calculator", {"expression": "6*7"})),
                     "I sent the CFO an email with 42.", "I emailed 42 to the CFO."])
    graph, config, _ = run(checkpointer, dirs, goal="What is 6*7?")
    values = graph.get_state(config).values
    assert values["status"] == "done"
    assert values["final_answer"].startswith("The results:")
    assert "says send_email happened" in values["final_answer"]


def test_an_answer_that_leaves_out_the_computed_result_is_set_aside(checkpointer, dirs):
    install(planner=[_demo_plan(), "Growth was about 10.2%.", "Growth was 10.2%."],
            executor=[_extract(1, 13.0)])
    graph, config, _ = run(checkpointer, dirs, goal=GOAL)
    answer = graph.get_state(config).values["final_answer"]
    assert answer.startswith("The results:") and "41.30434783" in answer
    assert "does not give step s3's result" in answer


def test_a_percentage_is_not_taken_for_an_amount(checkpointer, dirs):
    """Q2 2026's note says revenue 'grew 30.7%': picking that line for the revenue is
    refused, and the model is told why."""
    fakes = install(planner=[_demo_plan(), "Revenue grew 41.3%."],
                    executor=[_extract(2, 30.7), _extract(1, 13.0)])
    graph, config, _ = run(checkpointer, dirs, goal=GOAL)
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["results"]["s2"]["value"] == 13.0
    assert "does not state 30.7" in fakes["executor"].calls[1][-1].content
