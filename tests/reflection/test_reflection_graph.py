"""Every route of the reflection loop, driven by scripted writer and critic models."""

from __future__ import annotations

import pytest
from langgraph.types import Command

from agent_graphs.reflection.checks import PythonTests, WordLimit
from agent_graphs.reflection.graph import build_graph
from tests.fakes import call, install

CTX = {"critic_model": "fake:critic", "models": {"writer": "fake:writer"}}
SOURCES = [{"id": "d1", "source": "sales.md",
            "text": "FY2025 revenue was $41.95 million, up 24% from $33.8 million."}]
GOAL = "Summarize Acme's FY2025 revenue"


def verdict(score, approved=False, issues=()):
    return call("Critique", issues=list(issues), fixes=[f"fix: {i}" for i in issues],
                approved=approved, score=score)


def run(checkpointer, payload, *, checks=(), thread="t1", **ctx):
    graph = build_graph(checks=checks).compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": thread}}
    events = [chunk for _mode, chunk in graph.stream(
        payload, config, context={**CTX, **ctx}, stream_mode=["custom"])]
    return graph, config, events


def test_approved_on_the_first_round(checkpointer):
    fakes = install(writer=["Revenue was $41.95 million, up 24%."],
                    critic=[verdict(0.9, approved=True)])
    graph, config, events = run(checkpointer, {"goal": GOAL, "sources": SOURCES})
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["approved"] is True
    assert values["final_answer"] == "Revenue was $41.95 million, up 24%."
    assert [r["score"] for r in values["rounds"]] == [0.9]
    assert values["model_calls"] == 2 and values["best_score"] == 0.9
    assert "accepted by the critic" in values["reason"]
    # the writer was told to use only the sources; the critic saw them and the checks
    assert "Use only the facts in <sources>" in fakes["writer"].calls[0][0].text
    critic_prompt = fakes["critic"].calls[0][0].text
    assert "$33.8 million" in critic_prompt and "unsupported_numbers: passed" in critic_prompt
    kinds = [e["event"] for e in events]
    assert kinds == ["draft_written", "draft_checked", "draft_critiqued", "finished"]
    assert all(e["summary"] for e in events)
    assert all(f.remaining == 0 for f in fakes.values())


def test_the_limit_returns_the_best_draft_not_the_last(checkpointer):
    fakes = install(
        writer=["Draft A: $41.95 million.", "Draft B: $41.95 million, up 24%.",
                "Draft C: revenue grew."],
        critic=[verdict(0.5, issues=["no growth rate"]), verdict(0.8, issues=["dull"]),
                verdict(0.6, issues=["lost the figures"])],
    )
    graph, config, _ = run(checkpointer, {"goal": GOAL, "sources": SOURCES},
                           reflection_max_iterations=3)
    values = graph.get_state(config).values
    assert values["status"] == "failed" and values["approved"] is False
    assert values["final_answer"] == "Draft B: $41.95 million, up 24%."
    assert values["best_draft"] == 1 and values["best_score"] == 0.8
    assert [r["score"] for r in values["rounds"]] == [0.5, 0.8, 0.6]
    assert "within 3 round(s)" in values["reason"] and "not approved" in values["reason"]
    # each revision saw the critique of the draft before it
    assert "no growth rate" in fakes["writer"].calls[1][0].text
    assert "lost the figures" not in fakes["writer"].calls[2][0].text
    assert all(f.remaining == 0 for f in fakes.values())


def test_a_failing_check_overrides_the_critics_approval(checkpointer):
    fakes = install(
        writer=["Revenue was $41.95 million in FY2025, up 24% on the year.",
                "Revenue: $41.95 million."],
        critic=[verdict(0.95, approved=True), verdict(0.9, approved=True)],
    )
    graph, config, events = run(checkpointer, {"goal": GOAL, "sources": SOURCES},
                                checks=[WordLimit(max_words=5)])
    values = graph.get_state(config).values
    first, second = values["rounds"]
    assert first["critic_approved"] is True and first["approved"] is False
    assert first["checks_passed"] is False
    assert first["issues"][0].startswith("check word_limit failed: 11 words")
    # the writer saw the failed check before revising
    assert "word_limit failed" in fakes["writer"].calls[1][0].text
    assert second["approved"] is True
    assert values["status"] == "done" and values["final_answer"] == "Revenue: $41.95 million."
    checked = [e for e in events if e["event"] == "draft_checked"]
    assert checked[0]["passed"] is False and "word_limit" in checked[0]["summary"]


def test_a_draft_failing_a_check_ranks_below_any_passing_one(checkpointer):
    install(writer=["Revenue was $50 million.", "Revenue was $41.95 million."],
            critic=[verdict(0.95, approved=True), verdict(0.3, issues=["thin"])])
    graph, config, _ = run(checkpointer, {"goal": GOAL, "sources": SOURCES},
                           reflection_max_iterations=2)
    values = graph.get_state(config).values
    assert values["rounds"][0]["checks_passed"] is False  # $50 million is in no source
    assert "$50 million" in values["rounds"][0]["issues"][0]
    assert values["final_answer"] == "Revenue was $41.95 million."
    assert values["status"] == "failed" and "every check passed" in values["reason"]


def test_min_score_accepts_a_draft_the_critic_did_not_approve(checkpointer):
    install(writer=["Revenue was $41.95 million."], critic=[verdict(0.85, issues=["terse"])])
    graph, config, _ = run(checkpointer, {"goal": GOAL, "sources": SOURCES},
                           reflection_min_score=0.8)
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["approved"] is True
    assert "min_score" in values["reason"] and len(values["rounds"]) == 1


def test_an_input_draft_is_critiqued_before_anything_is_written(checkpointer):
    fakes = install(writer=[], critic=[verdict(0.9, approved=True)])
    graph, config, _ = run(checkpointer, {"goal": GOAL, "sources": SOURCES,
                                          "draft": "Revenue was $41.95 million."})
    values = graph.get_state(config).values
    assert values["status"] == "done" and values["drafts"] == ["Revenue was $41.95 million."]
    assert fakes["writer"].calls == []


def test_without_sources_the_writer_searches_first(checkpointer, dirs):
    fakes = install(
        writer=[call("search", query="fiscal year 2025 sales summary"),
                "Revenue for fiscal year 2025: $41.95 million, up 24%."],
        critic=[verdict(0.9, approved=True)],
    )
    graph, config, events = run(checkpointer, {"goal": GOAL}, **dirs)
    values = graph.get_state(config).values
    assert fakes["writer"].bound[0]["tool_choice"] == "search"
    assert any(s["source"] == "search: sales-fy-2025-summary.md" for s in values["sources"])
    gathered = next(e for e in events if e["event"] == "sources_gathered")
    assert gathered["count"] == len(values["sources"]) >= 1 and gathered["summary"]
    # the draft's figures were checked against what the search found
    assert values["rounds"][0]["checks"][0]["name"] == "unsupported_numbers"
    assert values["rounds"][0]["checks_passed"] is True and values["status"] == "done"


def test_an_unusable_critic_answer_is_a_failed_round_not_a_crash(checkpointer):
    install(writer=["Revenue was $41.95 million.", "Revenue was $41.95 million, up 24%."],
            critic=["I like it", "still prose", "no tool call", verdict(0.9, approved=True)])
    graph, config, _ = run(checkpointer, {"goal": GOAL, "sources": SOURCES})
    values = graph.get_state(config).values
    first = values["rounds"][0]
    assert first["score"] == 0.0 and "no usable answer" in first["issues"][0]
    assert values["status"] == "done" and values["model_calls"] == 2 + 3 + 1


def test_a_low_recursion_limit_ends_the_loop_gracefully():
    install(writer=["Revenue was $41.95 million."] * 9, critic=[verdict(0.2)] * 9)
    graph = build_graph().compile()
    out = graph.invoke({"goal": GOAL, "sources": SOURCES},
                       {"recursion_limit": 10}, context={**CTX, "reflection_max_iterations": 9})
    assert out["status"] == "failed" and "recursion limit" in out["reason"]
    assert len(out["rounds"]) < 9


@pytest.mark.parametrize("sources, problem", [
    ("not a list", "sources must be a list"),
    ([{"id": "x"}], "sources[0] needs a 'text' string"),
])
def test_bad_input_gets_a_clear_error(sources, problem):
    install(writer=[], critic=[])
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        build_graph().compile().invoke({"goal": GOAL, "sources": sources}, context=CTX)


def test_bad_settings_get_a_clear_error():
    install(writer=[], critic=[])
    with pytest.raises(ValueError, match="reflection_max_iterations must be at least 1"):
        build_graph().compile().invoke({"goal": GOAL, "sources": SOURCES},
                                       context={**CTX, "reflection_max_iterations": 0})


def test_a_check_without_a_name_and_run_is_refused():
    with pytest.raises(TypeError, match="is not a Check"):
        build_graph(checks=[lambda draft, sources: True])


# --- the human gate ----------------------------------------------------------------------


def _gated(checkpointer, writer, critic, **ctx):
    fakes = install(writer=writer, critic=critic)
    graph, config, _ = run(checkpointer, {"goal": GOAL, "sources": SOURCES},
                           reflection_human_review=True, **ctx)
    return fakes, graph, config


def _resume(graph, config, answer, **ctx):
    graph.invoke(Command(resume=answer), config,
                 context={**CTX, "reflection_human_review": True, **ctx})
    return graph.get_state(config)


def test_gate_approve(checkpointer):
    _, graph, config = _gated(checkpointer, ["Revenue was $41.95 million."],
                              [verdict(0.9, approved=True)])
    state = graph.get_state(config)
    (request,) = state.interrupts
    assert request.value["kind"] == "draft"
    assert request.value["args"] == {"draft": "Revenue was $41.95 million."}
    assert "values" not in state.values or state.values.get("status") is None
    state = _resume(graph, config, {"action": "approve", "by": "ann"})
    assert state.values["status"] == "done" and state.values["approved"] is True
    assert "a person (ann)" in state.values["reason"]
    assert state.values["reviews"][0]["action"] == "approve"


def test_gate_reject_feedback_becomes_the_next_critique(checkpointer):
    fakes, graph, config = _gated(
        checkpointer, ["Revenue was $41.95 million.", "Revenue was $41.95 million, up 24%."],
        [verdict(0.9, approved=True), verdict(0.95, approved=True)])
    state = _resume(graph, config, {"action": "reject", "reason": "mention the growth"})
    assert "mention the growth" in fakes["writer"].calls[1][0].text
    (request,) = state.interrupts  # the revision was accepted by the critic: asked again
    assert request.value["args"]["draft"] == "Revenue was $41.95 million, up 24%."
    state = _resume(graph, config, "approve")
    assert state.values["status"] == "done"
    assert state.values["final_answer"] == "Revenue was $41.95 million, up 24%."
    assert [r["action"] for r in state.values["reviews"]] == ["reject", "approve"]


def test_gate_reject_at_the_limit_ends_with_the_best_draft(checkpointer):
    _, graph, config = _gated(checkpointer, ["Revenue was $41.95 million."],
                              [verdict(0.9, approved=True)], reflection_max_iterations=1)
    state = _resume(graph, config, {"action": "reject", "reason": "no"},
                    reflection_max_iterations=1)
    assert state.values["status"] == "failed" and state.values["approved"] is False
    assert "a person rejected draft 1" in state.values["reason"]


def test_gate_edit_returns_the_persons_draft(checkpointer):
    _, graph, config = _gated(checkpointer, ["Revenue was $41.95 million."],
                              [verdict(0.9, approved=True)])
    bad = _resume(graph, config, {"action": "edit", "args": {"draft": "  "}})
    assert "an edit needs" in bad.interrupts[0].value["error"]  # still paused, nothing lost
    state = _resume(graph, config, {"action": "edit", "args": {"draft": "Revenue: $99 million."}})
    values = state.values
    assert values["status"] == "done" and values["final_answer"] == "Revenue: $99 million."
    assert values["drafts"][-1] == "Revenue: $99 million." and values["best_draft"] == 1
    edit = values["reviews"][-1]
    assert edit["action"] == "edit" and edit["checks"][0]["passed"] is False
    assert "checks failing on the edit: unsupported_numbers" in values["reason"]


def test_code_drafts_are_graded_by_their_tests_in_a_subprocess(checkpointer):
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    right = "```python\ndef add(a, b):\n    return a + b\n```"
    fakes = install(writer=[wrong, right],
                    critic=[verdict(0.9, approved=True), verdict(0.9, approved=True)])
    graph, config, _ = run(checkpointer, {"goal": "Write add(a, b) in Python", "sources": []},
                           checks=[PythonTests("assert add(2, 3) == 5", timeout=20)],
                           reflection_search=False)
    values = graph.get_state(config).values
    first = values["rounds"][0]
    assert first["critic_approved"] and not first["approved"]
    assert "python_tests failed: exit code 1" in first["issues"][0]
    assert "AssertionError" in fakes["writer"].calls[1][0].text  # the writer saw the failure
    assert values["status"] == "done" and values["final_answer"] == right


def test_prompt_sections_a_small_model_echoes_are_cut_from_the_draft(checkpointer):
    install(writer=["<draft>\nRevenue was $41.95 million.\n</draft>\n\n<sources>\n<source id='d1'>"
                    "FY2025 revenue was $99 million.</source>"],
            critic=[verdict(0.9, approved=True)])
    graph, config, _ = run(checkpointer, {"goal": GOAL, "sources": SOURCES})
    assert graph.get_state(config).values["drafts"] == ["Revenue was $41.95 million."]


def test_gate_speaks_the_hitl_protocol(checkpointer):
    _, graph, config = _gated(checkpointer, ["Revenue was $41.95 million."],
                              [verdict(0.9, approved=True)])
    (request,) = graph.get_state(config).interrupts
    action = request.value["action_requests"][0]
    assert action["name"] == "accept_draft" and action["args"]["draft"].startswith("Revenue")
    assert request.value["review_configs"][0]["args_schema"]["required"] == ["draft"]
    answer = {"decisions": [{"type": "edit", "edited_action": {
        "name": "accept_draft", "args": {"draft": "Revenue: $41.95 million."}}}]}
    state = _resume(graph, config, answer)
    assert state.values["final_answer"] == "Revenue: $41.95 million."


def test_a_draft_cut_off_by_max_tokens_loses_its_unfinished_last_line(checkpointer):
    from langchain_core.messages import AIMessage

    cut = AIMessage(content="Revenue was $41.95 million, up 24%.\n- Prices start at $3",
                    response_metadata={"finish_reason": "length"})
    install(writer=[cut], critic=[verdict(0.9, approved=True)])
    graph, config, _ = run(checkpointer, {"goal": GOAL, "sources": SOURCES})
    assert graph.get_state(config).values["final_answer"] == (
        "Revenue was $41.95 million, up 24%.")
