"""The LATS graph driven by scripted models: phases, stops, environments, the gate."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import StructuredTool
from langgraph.types import Command

from agent_graphs.lats.envs import game24 as G
from agent_graphs.lats.graph import build_graph, builder
from agent_graphs.lats.settings import LatsContext
from tests.fakes import call, install
from tests.lats.contract import last_action, trajectory
from tests.lats.kit import (
    batched,
    context,
    g24_blind_policy,
    g24_policy,
    g24_value,
    hopeful_value,
    numbers_left,
    summaries,
    wanted,
)
from tools import Risk

CONFIG = {"configurable": {"thread_id": "t1"}, "recursion_limit": 500}


def run(checkpointer: Any, inputs: dict[str, Any], ctx: LatsContext, graph_builder=builder,
        resume: Any = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    graph = graph_builder.compile(checkpointer=checkpointer)
    events = [chunk for chunk in graph.stream(
        inputs if resume is None else Command(resume=resume), CONFIG, context=ctx,
        stream_mode="custom", durability="sync")]
    return graph.get_state(CONFIG).values, events


def game(*numbers: int) -> dict[str, Any]:
    return {"goal": "Make 24", "env": "game24", "numbers": list(numbers)}


def test_game24_search_solves_through_visible_phases(checkpointer, tmp_path):
    fakes = install(fallbacks={"policy": g24_policy, "value": g24_value})
    values, events = run(checkpointer, game(4, 7, 8, 8), context(tmp_path, lats_n_candidates=3))
    assert values["status"] == "done" and values["stop_reason"] == "solved"
    expression, result = values["final_answer"].split(" = ")
    assert result == "24" and "4" in expression and expression.count("8") == 2
    assert len(values["trajectory"]) == 3 and values["value"] == 1.0
    # one value call per scored expansion, whatever the number of candidates; the last
    # expansion's moves finish the puzzle and are verified, not judged
    assert len(fakes["policy"].calls) == 3 and len(fakes["value"].calls) == 2
    assert values["model_calls"] == 5 and values["usage"]["output_tokens"] == 5 * 5
    first, second = (m[-1].text for m in fakes["value"].calls)
    assert first.count("<candidate ") == 3 and "exactly 3 verdicts" in first
    # the second also judges the expanded node again, as it stands, last
    assert second.count("<candidate ") == 4 and "exactly 4 verdicts" in second
    assert "<candidate 4>\n(no new action" in second
    expanded = values["trajectory"][0]["node"]  # judged twice: the mean of 0.9 and 0.9
    assert values["tree"][expanded]["evals"] == 2 and values["tree"][expanded]["score"] == 0.9
    json.dumps(values["tree"])  # the tree is plain JSON
    kinds = [e["event"] for e in events]
    assert kinds[0] == "lats_started" and kinds[-1] == "finished"
    assert kinds.count("lats_selected") == kinds.count("lats_backpropagated") == 3
    assert kinds.count("lats_acted") == 9  # 3 candidates a time, each in its own branch
    assert all(e["summary"].strip() for e in events)
    assert summaries(events, "lats_selected")[0].startswith("iteration 1: expand node 0")


def test_one_iteration_expands_evaluates_and_backpropagates(checkpointer, tmp_path):
    install(fallbacks={"policy": g24_policy, "value": g24_value})
    ctx = context(tmp_path, lats_n_candidates=3, lats_max_iterations=1)
    values, events = run(checkpointer, game(4, 7, 8, 8), ctx)
    tree = values["tree"]
    assert tree["0"]["children"] == ["0.0", "0.1", "0.2"]
    # the policy's two losing moves and its good one, scored by the value model
    assert [tree[c]["score"] for c in tree["0"]["children"]] == [0.1, 0.1, 0.9]
    assert all(tree[c]["visits"] == 1 and tree[c]["acted"] for c in tree["0"]["children"])
    assert tree["0.0"]["reflection"] == "24 cannot be reached from here"
    # the root's first visit was worth 0; the expansion's reward is its best child, 0.9,
    # less the default pessimism for a child judged once (0.15 / sqrt 1)
    assert (tree["0"]["visits"], tree["0"]["value"]) == (2, pytest.approx((0.9 - 0.15) / 2))
    assert values["status"] == "failed" and values["stop_reason"] == "max_iterations (1) reached"
    assert values["final_answer"].startswith("Stopped before reaching the goal: max_iterations")
    assert "Best attempt (value 0.90)" in values["final_answer"]
    assert [r["node"] for r in values["reflections"]] == ["0.0", "0.1"]
    assert summaries(events, "lats_evaluated") == ["values: 0.0 0.10, 0.1 0.10, 0.2 0.90"]


def test_finished_branches_are_never_expanded_again(checkpointer, tmp_path):
    fakes = install(fallbacks={"policy": g24_blind_policy, "value": hopeful_value})
    ctx = context(tmp_path, lats_n_candidates=2, lats_max_asks=2, lats_max_model_calls=0)
    values, _ = run(checkpointer, game(1, 1, 1, 1), ctx)
    tree = values["tree"]
    assert values["status"] == "failed"
    assert values["stop_reason"].startswith("every branch ended")
    # no prompt was about a finished state (one number left), and no terminal node asked
    assert all(len(numbers_left(m)) >= 2 for m in fakes["policy"].calls)
    assert all(n["asks"] == 0 for n in tree.values() if n["terminal"])
    assert max(n["asks"] for n in tree.values()) == 2
    leaves = [n for n in tree.values() if n["depth"] == 3]
    assert leaves and all(n["terminal"] and not n["solved"] for n in leaves)
    # each unfinished node was asked twice (the second ask proposed nothing new)
    assert len(fakes["policy"].calls) == 2 * sum(not n["terminal"] for n in tree.values())


def _searcher(messages, bound):
    """Keep searching, never answering: a new query for each depth."""
    depth = len(re.findall(r"^\d+\. ", trajectory(messages), re.M))
    return call("Candidates", actions=[
        {"thought": "dig deeper", "tool": "search", "args": {"query": f"Acme revenue {depth}"}}])


def test_depth_limit_ends_the_search(checkpointer, tmp_path):
    fakes = install(fallbacks={"policy": _searcher, "value": hopeful_value})
    ctx = context(tmp_path, lats_max_depth=2, lats_max_asks=1)
    values, _ = run(checkpointer, {"goal": "What was Acme's revenue?"}, ctx)
    tree = values["tree"]
    assert values["status"] == "failed" and "max_depth 2" in values["stop_reason"]
    assert max(n["depth"] for n in tree.values()) == 2
    assert "maximum depth (2)" in tree["0.0.0"]["reflection"]
    assert len(fakes["value"].calls) == 1  # the node at the limit needs no value call
    assert values["model_calls"] == 3


def test_budget_of_model_calls_stops_the_search(checkpointer, tmp_path):
    install(fallbacks={"policy": g24_blind_policy, "value": hopeful_value})
    ctx = context(tmp_path, lats_n_candidates=3, lats_max_model_calls=3)
    values, _ = run(checkpointer, game(1, 1, 1, 1), ctx)
    assert values["stop_reason"] == "the budget of 3 model calls is used up"
    assert values["model_calls"] == 3  # policy + value, then policy: no call left to judge
    unscored = [n for n in values["tree"].values() if n["depth"] and n["score"] is None]
    assert len(unscored) == 3 and all(n["visits"] == 0 and n["depth"] == 2 for n in unscored)


def _fresh_policy(messages, bound):
    """Losing moves, new ones each time it is asked at a node (past the ones it lists as
    already tried)."""
    numbers = numbers_left(messages)
    tried = messages[-1].text.partition("Already tried from here")[2]
    k, n = len(re.findall(r"^- ", tried.partition("\n\n")[0], re.M)), wanted(messages)
    bad = [m for m in G.moves(numbers) if not G.solvable(m[3])][k:k + n]
    return call("Candidates", actions=[{"left": G.fmt(numbers[i]), "op": op,
                                        "right": G.fmt(numbers[j])} for i, op, j, _ in bad])


@batched
def _doubtful_value(messages, bound):
    return call("Verdict", reflection="unlikely", score=0.2, solved=False)


def test_a_value_call_after_asking_again_judges_the_earlier_children_again(
        checkpointer, tmp_path):
    fakes = install(fallbacks={"policy": _fresh_policy, "value": _doubtful_value})
    ctx = context(tmp_path, lats_n_candidates=2, lats_max_iterations=2,
                  lats_rejudge_children=1)
    values, events = run(checkpointer, game(1, 1, 1, 2), ctx)
    tree = values["tree"]
    # every child looks bad, so the root is asked again; that value call judges its two
    # new children and the best earlier one (the cap is 1), averaged into its score
    assert tree["0"]["asks"] == 2 and tree["0"]["children"] == ["0.0", "0.1", "0.2", "0.3"]
    first, second = (m[-1].text for m in fakes["value"].calls)
    assert "exactly 2 verdicts" in first and "exactly 3 verdicts" in second
    assert [tree[c]["evals"] for c in tree["0"]["children"]] == [2, 1, 1, 1]
    assert tree["0.0"]["visits"] == 2 and tree["0.0"]["score"] == pytest.approx(0.2)
    assert summaries(events, "lats_evaluated")[1].endswith("1 earlier children judged again")


def test_the_budgets_last_call_asks_the_policy_instead_of_judging(checkpointer, tmp_path):
    fakes = install(fallbacks={"policy": _fresh_policy, "value": _doubtful_value})
    ctx = context(tmp_path, lats_n_candidates=2, lats_max_model_calls=4)
    values, events = run(checkpointer, game(1, 1, 1, 2), ctx)
    # policy, value, policy (the root again: its children look bad), then one call left:
    # no value call nothing could act on; the last call expands a new child instead
    assert values["model_calls"] == 4 and len(fakes["value"].calls) == 1
    assert len(fakes["policy"].calls) == 3
    assert summaries(events, "lats_evaluated")[1] == "values: none"
    assert [n["depth"] for n in values["tree"].values() if n["asks"]] == [0, 1]


def test_budget_of_tokens_stops_the_search(checkpointer, tmp_path):
    install(fallbacks={"policy": g24_blind_policy, "value": hopeful_value})
    ctx = context(tmp_path, lats_n_candidates=3, lats_token_budget=50)
    values, _ = run(checkpointer, game(1, 1, 1, 1), ctx)
    assert values["stop_reason"] == "the budget of 50 tokens is used up"
    # 15 tokens a call: policy + value (30), then policy + value (60) passes the budget
    assert sum(values["usage"].values()) == 4 * 15 and values["iteration"] == 2


def test_a_new_search_on_the_same_thread_starts_a_new_tree(checkpointer, tmp_path):
    install(fallbacks={"policy": g24_policy, "value": g24_value})
    ctx = context(tmp_path, lats_n_candidates=3, lats_max_model_calls=4)
    first, _ = run(checkpointer, game(4, 7, 8, 8), ctx)
    second, _ = run(checkpointer, game(1, 5, 5, 5), ctx)
    assert second["tree"]["0"]["observation"] == "Numbers left: 1, 5, 5, 5"
    assert set(second["tree"]) == set(first["tree"])  # same shape, the old nodes replaced
    assert all("7" not in json.dumps(n["state"]) for n in second["tree"].values())
    assert second["model_calls"] == 8 and second["stop_reason"].startswith("the budget of 4")


EMAIL = {"to": "vp@acme.example", "subject": "Q2", "body": "Revenue was $13.00 million."}


def _mail_or_search(messages, bound):
    if "search(" not in trajectory(messages):
        return call("Candidates", actions=[
            {"thought": "tell the VP", "tool": "send_email", "args": EMAIL},
            {"thought": "find it", "tool": "search", "args": {"query": "Acme revenue Q2 2026"}}])
    return call("Candidates", actions=[
        {"tool": "answer", "args": {}, "answer": "Acme's Q2 2026 revenue was $13.00 million."}])


@batched
def _judge_answers(messages, bound):
    if last_action(messages).startswith("answer:"):
        return call("Verdict", reflection="right", score=1.0, solved=True)
    return call("Verdict", reflection="useful", score=0.7, solved=False)


def test_a_rejected_email_ends_its_branch_and_the_search_goes_on(checkpointer, tmp_path):
    install(fallbacks={"policy": _mail_or_search, "value": _judge_answers})
    ctx = context(tmp_path)
    values, events = run(checkpointer, {"goal": "Acme's Q2 2026 revenue?"}, ctx)
    graph = builder.compile(checkpointer=checkpointer)
    [pending] = graph.get_state(CONFIG).interrupts
    assert pending.value["action_requests"][0]["name"] == "send_email"
    assert "lats_acted" not in [e["event"] for e in events]  # nothing ran before the answer
    values, _ = run(checkpointer, {}, ctx,
                    resume={pending.id: {"action": "reject", "reason": "not the VP's business"}})
    tree = values["tree"]
    assert tree["0.0"]["terminal"] and not tree["0.0"]["solved"] and tree["0.0"]["score"] == 0.0
    assert "not the VP's business" in tree["0.0"]["reflection"]
    assert not Path(ctx.outbox).exists()
    assert values["status"] == "done"
    assert values["final_answer"] == "Acme's Q2 2026 revenue was $13.00 million."
    assert [s["node"] for s in values["trajectory"]] == ["0.1", "0.1.0"]


GOOD = "def add(a, b):\n    return a + b\n"


def _coder(messages, bound):
    prompt = messages[-1].text
    if "Latest program" not in prompt:
        return call("Candidates", actions=[
            {"thought": "subtract", "code": "def add(a, b):\n    return a - b\n"},
            {"thought": "wait", "code": "def add(a, b):\n    while True:\n        pass\n"}])
    return call("Candidates", actions=[{"thought": "fix the sign", "code": GOOD}])


@batched
def _code_value(messages, bound):
    return call("Verdict", reflection="close", score=0.6 if "0/2" not in messages[-1].text
                else 0.5)


def test_code_environment_runs_tests_in_a_subprocess_and_revises(checkpointer, tmp_path):
    install(fallbacks={"policy": _coder, "value": _code_value})
    ctx = context(tmp_path, lats_code_timeout=2.0)
    inputs = {"goal": "Write add(a, b)", "env": "code",
              "tests": ["assert add(2, 3) == 5", "assert add(0, 0) == 0"]}
    values, _ = run(checkpointer, inputs, ctx)
    tree = values["tree"]
    assert "1/2 tests passed" in tree["0.0"]["observation"]
    assert "assert add(2, 3) == 5 -> AssertionError" in tree["0.0"]["observation"]
    assert "did not finish within 2 seconds" in tree["0.1"]["observation"]
    assert values["status"] == "done" and values["final_answer"] == GOOD.strip()
    assert tree[values["trajectory"][-1]["node"]]["observation"] == "all 2 tests passed"


GOAL = "How much do 3 units of the gateway that FlowGuard F3 connects through cost?"


def _two_hop_policy(messages, bound):
    seen = trajectory(messages)
    if "search(" not in seen:  # first hop: which gateway? (and a distraction)
        return call("Candidates", actions=[
            {"tool": "search", "args": {"query": "FlowGuard F3 warranty"}},
            {"tool": "search", "args": {"query": "FlowGuard F3 connects through gateway"}}])
    gateway = re.search(r"through the (Gateway \w+)", seen)
    if gateway and "price" not in last_action(messages):  # second hop: its price
        return call("Candidates", actions=[
            {"tool": "search", "args": {"query": f"{gateway.group(1)} price"}}])
    price = re.search(r"List price: \$(\d+)", seen)
    if price and "calculator(" not in seen:
        return call("Candidates", actions=[
            {"tool": "calculator", "args": {"expression": f"3 * {price.group(1)}"}}])
    total = re.findall(r"-> (\d+)$", seen, re.M)
    return call("Candidates", actions=[
        {"tool": "answer", "args": {}, "answer": f"3 Gateway G5 units cost ${total[-1]}."}])


@batched
def _two_hop_value(messages, bound):
    action = last_action(messages)
    if action.startswith("answer:"):
        right = "$2697" in action
        return call("Verdict", reflection="matches the price list" if right else "wrong",
                    score=1.0 if right else 0.1, solved=right)
    score = 0.2 if "warranty" in action else 0.8
    return call("Verdict", reflection="" if score > 0.5 else "not about the gateway",
                score=score)


def test_corpus_environment_answers_a_two_hop_question(checkpointer, tmp_path):
    install(fallbacks={"policy": _two_hop_policy, "value": _two_hop_value})
    values, events = run(checkpointer, {"goal": GOAL}, context(tmp_path))
    assert values["status"] == "done"
    assert values["final_answer"] == "3 Gateway G5 units cost $2697."
    steps = [s["action"] for s in values["trajectory"]]
    assert steps[0].startswith("search(") and "connects through gateway" in steps[0]
    assert "Gateway G5 price" in steps[1] and steps[2].startswith("calculator(")
    assert values["trajectory"][2]["observation"] == "2697"  # the tool's result, not the model's
    assert values["tree"]["0.0"]["children"] == []  # the distraction was never followed
    assert "tool_called" in [e["event"] for e in events]  # tools ran through actions.run


def test_extra_tools_reach_the_policy_and_run(checkpointer, tmp_path):
    def shout(text: str) -> str:
        """Return the text in capitals."""
        return text.upper()

    tool = StructuredTool.from_function(shout)

    def policy(messages, bound):
        if "shout(" not in trajectory(messages):
            return call("Candidates", actions=[{"tool": "shout", "args": {"text": "hi"}}])
        return call("Candidates", actions=[{"tool": "answer", "args": {}, "answer": "HI"}])

    fakes = install(fallbacks={"policy": policy, "value": _judge_answers})
    graph_builder = build_graph(tools={"shout": (tool, Risk.LOW)})
    values, _ = run(checkpointer, {"goal": "Shout hi"}, context(tmp_path), graph_builder)
    schema = fakes["policy"].bound[0]["tools"][0]["function"]["parameters"]
    assert "shout" in json.dumps(schema)
    assert values["tree"]["0.0"]["observation"] == "HI" and values["status"] == "done"


@pytest.mark.parametrize(("inputs", "words"), [
    ({"goal": "x", "env": "chess"}, "unknown env 'chess'"),
    ({"goal": "x", "env": "game24"}, "game24 needs 'numbers'"),
    ({"goal": "x", "env": "game24", "numbers": [1, "two", 3, 4]}, "'two' is not a number"),
    ({"goal": "x", "env": "code", "tests": []}, "code needs 'tests'"),
    ({"goal": "  "}, "goal must be a non-empty string"),
])
def test_bad_input_gets_a_clear_error_before_any_model_call(checkpointer, tmp_path, inputs,
                                                             words):
    fakes = install(fallbacks={"policy": g24_policy, "value": g24_value})
    with pytest.raises(ValueError, match=re.escape(words)):
        run(checkpointer, inputs, context(tmp_path))
    assert not fakes["policy"].calls


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="lats_n_candidates must be at least 1"):
        LatsContext(lats_n_candidates=0)
    with pytest.raises(ValueError, match="lats_reask_below must be between 0 and 1"):
        LatsContext(lats_reask_below=2.0)
    with pytest.raises(ValueError, match="lats_value_pessimism must be between 0 and 1"):
        LatsContext(lats_value_pessimism=-0.1)


def test_the_game24_verifier_is_exact():
    from agent_graphs.lats.envs.game24 import Game24

    env = Game24()
    state, _ = env.start({"numbers": [3, 3, 8, 8]})
    for move in ({"left": "8", "op": "/", "right": "3"}, {"left": "3", "op": "-", "right": "8/3"},
                 {"left": "8", "op": "/", "right": "1/3"}):
        outcome = env.act(state, move)
        state = outcome.state
    assert outcome.solved and outcome.terminal  # 8 / (3 - 8/3) is exactly 24
    assert Fraction(state[0]["value"]) == 24
    assert env.answer(state, None, "", True) == "(8 / (3 - (8 / 3))) = 24"
    bad = env.act(state, {"left": "5", "op": "+", "right": "1"})
    assert bad.terminal and bad.solved is False and "not among the numbers" in bad.observation


def _mute(messages, bound):
    return "I would rather not say."  # no Verdict call: a malformed answer


def test_an_unusable_value_answer_is_neutral_counted_and_reported(checkpointer, tmp_path):
    install(fallbacks={"policy": g24_policy, "value": _mute})
    ctx = context(tmp_path, lats_n_candidates=3, lats_max_iterations=1)
    values, events = run(checkpointer, game(4, 7, 8, 8), ctx)
    tree = values["tree"]
    assert [tree[c]["score"] for c in tree["0"]["children"]] == [0.5, 0.5, 0.5]
    assert values["model_calls"] == 1 + 2  # one value call for all three, retried once
    assert len(summaries(events, "lats_model_error")) == 1


def test_a_low_recursion_limit_ends_the_search_gracefully(tmp_path):
    install(fallbacks={"policy": g24_blind_policy, "value": hopeful_value})
    graph = builder.compile()
    values = graph.invoke(game(1, 1, 1, 1), {"recursion_limit": 20},
                          context=context(tmp_path, lats_max_model_calls=0))
    assert values["status"] == "failed"
    assert values["final_answer"].startswith(
        "Stopped before reaching the goal: the run's recursion limit is nearly used up")
