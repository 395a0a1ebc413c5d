"""The shared plan/DAG module: validation, $id references, readiness, renumbering."""

from __future__ import annotations

import pytest

from agent_graphs.plans import (
    Plan,
    plan_schema,
    ready_steps,
    references,
    renumber,
    resolve_args,
    validate_plan,
)

TOOLS = {"search", "calculator"}


def _plan(*steps: tuple[str, str, dict, list[str]]) -> Plan:
    return Plan.model_validate({"steps": [
        {"id": i, "description": f"do {i}", "tool": t, "args": a, "depends_on": d,
         "expected_output": "x"} for i, t, a, d in steps]})


def test_a_sound_plan_has_no_problems():
    plan = _plan(("s1", "search", {"query": "q1"}, []), ("s2", "search", {"query": "q2"}, []),
                 ("s3", "calculator", {"expression": "($s2 - $s1) / ${s1} * 100"}, ["s1", "s2"]))
    assert validate_plan(plan, tools=TOOLS, ordered=True) == []


@pytest.mark.parametrize(("steps", "problem"), [
    ([("s1", "search", {}, []), ("s1", "search", {}, [])], "used more than once"),
    ([("s1", "teleport", {}, [])], "unknown tool 'teleport'"),
    ([("s1", "search", {}, ["s9"])], "depends on 's9', which does not exist"),
    ([("s1", "search", {}, ["s1"])], "depends on itself"),
    ([("s1", "search", {}, ["s2"]), ("s2", "search", {}, ["s1"])], "form a cycle"),
    ([("s1", "calculator", {"expression": "$s1 + 1"}, [])], "refers to its own result"),
    ([("s1", "calculator", {"expression": "$s7 + 1"}, [])], "refers to $s7, which does not"),
    ([("s1", "search", {}, []), ("s2", "calculator", {"expression": "$s1 * 2"}, [])],
     "does not list 's1' in depends_on"),
])
def test_each_problem_is_named(steps, problem):
    problems = validate_plan(_plan(*steps), tools=TOOLS)
    assert any(problem in p for p in problems), problems


def test_ordered_plans_refuse_forward_references():
    plan = _plan(("s1", "calculator", {"expression": "$s2"}, ["s2"]), ("s2", "search", {}, []))
    assert validate_plan(plan, tools=TOOLS) == []
    assert any("comes after it" in p for p in validate_plan(plan, tools=TOOLS, ordered=True))


def test_references_to_completed_steps_are_allowed():
    plan = _plan(("s3", "calculator", {"expression": "$s1 + $s2"}, ["s1", "s2"]))
    assert validate_plan(plan, tools=TOOLS, done={"s1", "s2"}) == []


def test_resolve_keeps_whole_values_and_substitutes_inside_text():
    values = {"s1": 9.2, "s2": 13.0, "s3": "Globex"}
    assert resolve_args({"x": "$s1"}, values) == {"x": 9.2}
    assert resolve_args({"expression": "($s2 - $s1) / ${s1} * 100"}, values) == {
        "expression": "(13 - 9.2) / 9.2 * 100"}
    assert resolve_args({"q": ["price of $s3", 3]}, values) == {"q": ["price of Globex", 3]}
    with pytest.raises(KeyError):
        resolve_args({"x": "$s9"}, values)
    assert references({"a": ["$s1", {"b": "${s2} and $s3"}]}) == {"s1", "s2", "s3"}


def test_ready_steps_are_all_steps_whose_dependencies_are_done():
    steps = [s.model_dump() for s in _plan(
        ("s1", "search", {}, []), ("s2", "search", {}, []),
        ("s3", "calculator", {}, ["s1"]), ("s4", "calculator", {}, ["s1", "s2"])).steps]
    assert [s["id"] for s in ready_steps(steps, done=set())] == ["s1", "s2"]
    assert [s["id"] for s in ready_steps(steps, done={"s1"}, started={"s2"})] == ["s3"]
    assert [s["id"] for s in ready_steps(steps, done={"s1", "s2"})] == ["s3", "s4"]


def test_renumber_follows_references_into_the_new_ids():
    plan = _plan(("s1", "search", {}, []), ("s2", "calculator", {"expression": "$s1 * 2"}, ["s1"]))
    renamed = renumber(plan, done={"s1"})
    assert [s.id for s in renamed.steps] == ["s3", "s2"]
    assert renamed.steps[1].depends_on == ["s3"] and renamed.steps[1].args == {
        "expression": "${s3} * 2"}
    assert validate_plan(renamed, tools=TOOLS, done={"s1"}) == []


def test_plan_schema_restricts_tools_and_length():
    schema = plan_schema(["search"], max_steps=2)
    with pytest.raises(ValueError):
        schema.model_validate({"steps": [{"id": "s1", "description": "d", "tool": "calculator",
                                          "args": {}, "expected_output": "x"}]})
    with pytest.raises(ValueError):
        schema.model_validate({"steps": []})


def test_a_reference_to_an_earlier_step_implies_the_dependency():
    from agent_graphs.plans import Plan, implied_dependencies

    plan = Plan.model_validate({"steps": [
        {"id": "s1", "description": "a", "tool": "search", "args": {"query": "x"},
         "depends_on": [], "expected_output": ""},
        {"id": "s2", "description": "b", "tool": "calculator",
         "args": {"expression": "$s1 + ${s0} + $s2 + $s3 + $s9"}, "depends_on": [],
         "expected_output": ""},
        {"id": "s3", "description": "c", "tool": "search", "args": {"query": "y"},
         "depends_on": [], "expected_output": ""}]})
    fixed = implied_dependencies(plan, done={"s0"})
    # earlier and completed steps are added; itself, a later step and no step are not
    assert fixed.steps[1].depends_on == ["s0", "s1"]
    problems = validate_plan(fixed, tools={"search", "calculator"}, done={"s0"})
    assert any("its own result $s2" in p for p in problems)
    assert any("refers to $s3 but does not list" in p for p in problems)
    assert any("$s9, which does not exist" in p for p in problems)


def test_an_answer_made_of_results_never_cuts_a_number():
    from agent_graphs.grounding import results_answer

    output = "Acme Corp results for the fourth quarter. Total revenue: $9.45 million. " * 3
    for width in range(40, 120):
        answer = results_answer({"s1": {"tool": "search", "output": output}}, width=width)
        said = answer.split("search: ", 1)[1]
        assert "$9.4 " not in said + " " and not said.rstrip(" …").endswith(("$9", "$9.4"))
        assert len(said) <= width + 2
