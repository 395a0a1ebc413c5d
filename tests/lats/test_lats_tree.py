"""The pure search functions: UCT, selection, expansion, backpropagation, stops."""

from __future__ import annotations

import json
import math

import pytest

from agent_graphs.lats import tree as T


def grow(tree, parent, *keys):
    """Add children with these keys under ``parent``; return the tree and their ids."""
    patch, ids = T.add_children(tree, parent, [(k, {"k": k}) for k in keys])
    return T.merge_tree(tree, patch), ids


def act(tree, nid, *, terminal=False, solved=None, max_depth=5):
    return T.merge_tree(tree, T.record_outcome(
        nid, depth=tree[nid]["depth"], observation=f"obs {nid}", state={"at": nid},
        terminal=terminal, solved=solved, max_depth=max_depth))


def score(tree, nid, value, **kw):
    return T.merge_tree(tree, T.record_score(tree, nid, score=value, **kw))


def expand(tree, parent, scores, *, max_asks=3, terminal=()):
    """One whole iteration below ``parent``: add, act, score, backpropagate."""
    first = len(tree[parent]["children"])
    keys = [f"{parent}/{first + i}" for i in range(len(scores))]
    tree, ids = grow(tree, parent, *keys)
    for i, (nid, value) in enumerate(zip(ids, scores, strict=True)):
        if i in terminal:
            tree = act(tree, nid, terminal=True, solved=bool(value))
        else:
            tree = score(act(tree, nid), nid, value)
    return T.merge_tree(tree, T.backpropagate(tree, parent, ids, max_asks=max_asks)), ids


def test_uct_is_the_mean_plus_a_weighted_bonus_and_unvisited_children_come_first():
    child = {"visits": 4, "value": 0.5}
    assert T.uct(child, 16, 0.0) == 0.5
    assert T.uct(child, 16, 0.3) == pytest.approx(0.5 + 0.3 * math.sqrt(math.log(16) / 4))
    assert T.uct({"visits": 0, "value": 0.0}, 16, 0.0) == math.inf
    # a parent visited once gives no bonus (log 1 = 0), and never a math error
    assert T.uct(child, 1, 1.0) == 0.5
    assert T.uct(child, 0, 1.0) == 0.5


def test_select_prefers_unvisited_children_then_the_best_uct():
    tree, ids = grow(T.new_tree(), T.ROOT, "a", "b", "c")
    tree = act(act(act(tree, ids[0]), ids[1]), ids[2])
    tree = score(tree, ids[0], 0.9)
    tree = T.merge_tree(tree, {ids[0]: {"visits": 1, "value": 0.9}})
    # ids[1] and ids[2] are unvisited (not scored yet): they go first
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == ids[1]
    tree = T.merge_tree(tree, {ids[1]: {"visits": 1, "value": 0.6},
                               ids[2]: {"visits": 3, "value": 0.8},
                               T.ROOT: {"visits": 6}})
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == ids[0]
    # a big weight favours the rarely visited child over the better-valued one
    assert T.select(tree, weight=0.3, reask_below=0.5, max_asks=3) == ids[0]
    tree = T.merge_tree(tree, {ids[0]: {"visits": 9, "value": 0.85}})
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == ids[0]
    assert T.select(tree, weight=1.0, reask_below=0.5, max_asks=3) == ids[1]


def test_add_children_merges_duplicates_and_gives_path_ids():
    tree = T.new_tree()
    patch, ids = T.add_children(tree, T.ROOT, [("x", 1), ("y", 2), ("x", 3)])
    assert ids == ["0.0", "0.1"]
    tree = T.merge_tree(tree, patch)
    assert tree["0"]["children"] == ids and tree["0"]["asks"] == 1
    assert [tree[i]["action"] for i in ids] == [1, 2]  # the first of two duplicates wins
    assert tree["0.1"]["depth"] == 1 and tree["0.1"]["parent"] == "0"
    patch, more = T.add_children(tree, T.ROOT, [("y", 4), ("z", 5)])  # asked again
    tree = T.merge_tree(tree, patch)
    assert more == ["0.2"] and tree["0"]["children"] == ["0.0", "0.1", "0.2"]
    patch, none = T.add_children(tree, T.ROOT, [("z", 6)])  # nothing new: stale
    assert none == [] and patch["0"]["stale"] and patch["0"]["asks"] == 3
    json.dumps(T.merge_tree(tree, patch))  # the tree is plain JSON


def test_expansion_evaluation_and_backpropagation_on_a_scripted_tree():
    tree, (a, b) = expand(T.new_tree(), T.ROOT, [0.8, 0.4])
    assert (tree[a]["visits"], tree[a]["value"]) == (1, 0.8)
    # the root's reward is the best child it offers now
    assert (tree["0"]["visits"], tree["0"]["value"]) == (2, pytest.approx(0.4))
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == a
    tree, (a0, a1) = expand(tree, a, [0.2, 0.6])
    assert (tree[a]["visits"], tree[a]["value"]) == (2, pytest.approx((0.8 + 0.6) / 2))
    assert (tree["0"]["visits"], tree["0"]["value"]) == (3, pytest.approx((0.4 * 2 + 0.7) / 3))
    assert tree[b]["visits"] == 1  # siblings are untouched
    # a1 fails at the end (verified): a's best open child is now a0 (0.2), so a sinks
    tree, (end,) = expand(tree, a1, [0.0], terminal={0})
    assert tree[end]["terminal"] and not tree[end]["solved"] and tree[end]["score"] == 0.0
    assert tree[a1]["value"] == pytest.approx((0.6 + 0.0) / 2)
    assert tree[a]["value"] == pytest.approx((0.8 + 0.6 + 0.3) / 3)
    assert T.best_trajectory(tree) == ["0", a, a1]


def test_terminal_nodes_are_never_selected_for_expansion():
    tree, (win, lose) = expand(T.new_tree(), T.ROOT, [0.0, 0.0], terminal={0, 1})
    assert tree[win]["terminal"] and tree[lose]["terminal"]
    # every child ended: the root is asked again while it may be...
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=2) == T.ROOT
    tree = T.merge_tree(tree, {T.ROOT: {"asks": 2}})
    # ...and then nothing is left: no finished leaf is expanded again
    assert T.select(tree, weight=1.41, reask_below=0.5, max_asks=2) is None
    assert not T.is_open(tree, T.ROOT, 2)


def test_a_node_whose_children_all_look_bad_is_asked_again_until_its_asks_run_out():
    tree, (a, _b) = expand(T.new_tree(), T.ROOT, [0.9, 0.1])
    tree, kids = expand(tree, a, [0.2, 0.1])
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == a  # ask a again
    tree, kids = expand(tree, a, [0.3])
    tree, kids = expand(tree, a, [0.1])
    assert tree[a]["asks"] == 3
    assert tree[a]["value"] == pytest.approx((0.9 + 0.2 + 0.3 + 0.3) / 4)
    # a sank below 0.5 too: now every child of the root looks bad, so the root is asked
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == T.ROOT
    tree = T.merge_tree(tree, {T.ROOT: {"asks": 3}})
    # neither may be asked again: the search goes on into a's best child
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == "0.0.2"


def test_a_doubtful_node_whose_children_look_bad_sends_the_ask_up():
    tree, (a, _b) = expand(T.new_tree(), T.ROOT, [0.9, 0.1])
    tree, _ = expand(tree, a, [0.2, 0.1])
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == a  # score 0.9: ask a
    # judged again, low: a's score is the mean 0.45, its value still the best of the root
    tree = score(tree, a, 0.0)
    assert tree[a]["score"] == pytest.approx(0.45) and tree[a]["value"] > tree[_b]["value"]
    # its children look bad and so does a itself: the root is asked for other ways
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == T.ROOT
    # when no ancestor may be asked, a is asked after all
    tree = T.merge_tree(tree, {T.ROOT: {"asks": 3}})
    assert T.select(tree, weight=0.0, reask_below=0.5, max_asks=3) == a


def test_pessimism_discounts_children_seen_few_times_in_the_backup():
    tree, (a, b) = expand(T.new_tree(), T.ROOT, [0.7, 0.5])
    tree = T.merge_tree(tree, {b: {"visits": 4, "value": 0.6}})
    tree, ids = grow(tree, a, "x")
    tree = score(act(tree, ids[0]), ids[0], 0.2)
    patch = T.backpropagate(tree, a, ids, max_asks=3, pessimism=0.2)
    # a: best open child x (0.2, one visit) counts 0.2 - 0.2 / 1 = 0.0
    assert patch[a]["value"] == pytest.approx((0.7 + 0.0) / 2)
    # root: a (value 0.35, 2 visits) counts 0.35 - 0.2 / sqrt 2; b (4 visits) 0.6 - 0.1
    reward = max(0.35 - 0.2 / math.sqrt(2), 0.6 - 0.2 / 2)
    assert patch[T.ROOT]["value"] == pytest.approx(tree[T.ROOT]["value"] + (
        reward - tree[T.ROOT]["value"]) / 3)
    plain = T.backpropagate(tree, a, ids, max_asks=3)  # no pessimism: the best value
    assert plain[a]["value"] == pytest.approx((0.7 + 0.2) / 2)


def test_depth_limit_ends_a_branch_unsolved():
    tree, (a,) = grow(T.new_tree(), T.ROOT, "a")
    tree = T.merge_tree(tree, T.record_outcome(a, depth=1, observation="o", state=None,
                                               terminal=False, solved=None, max_depth=1))
    assert tree[a]["terminal"] and not tree[a]["solved"] and tree[a]["score"] == 0.0
    assert "maximum depth" in tree[a]["reflection"]
    assert T.to_evaluate(tree, [a], 10) == []  # no value call for a dead end


def test_to_evaluate_respects_the_budget_and_skips_verified_nodes():
    tree, ids = grow(T.new_tree(), T.ROOT, "a", "b", "c")
    tree = act(act(tree, ids[0], terminal=True, solved=False), ids[1])
    tree = act(tree, ids[2])
    assert T.to_evaluate(tree, ids, 10) == [ids[1], ids[2]]
    assert T.to_evaluate(tree, ids, 2) == [ids[1], ids[2]]  # one batched call scores both
    assert T.to_evaluate(tree, ids, None) == [ids[1], ids[2]]  # no budget of calls
    assert T.to_evaluate(tree, ids, 0) == []
    # one call per node: only as many as there are calls left
    assert T.to_evaluate(tree, ids, 1, batched=False) == [ids[1]]
    assert T.to_evaluate(tree, ids, 2, batched=False) == [ids[1], ids[2]]


def test_the_expanded_node_is_judged_again_in_the_same_call():
    tree, (a,) = expand(T.new_tree(), T.ROOT, [0.8])
    tree, ids = grow(tree, a, "x", "y")
    tree = act(act(tree, ids[0]), ids[1])
    assert T.to_evaluate(tree, ids, 2, parent=a) == [*ids, a]  # last, in the same call
    assert T.to_evaluate(tree, ids, 2, parent=T.ROOT) == ids  # the root is never judged
    assert T.to_evaluate(tree, ids, 0, parent=a) == []
    assert T.to_evaluate(tree, ids, 5, batched=False, parent=a) == ids
    # nothing new to judge: no call just for a second opinion
    tree, (z,) = grow(tree, a, "z")
    tree = act(tree, z, terminal=True, solved=False)
    assert T.to_evaluate(tree, [z], 2, parent=a) == []


def test_the_last_call_is_not_spent_on_a_judgement_nothing_could_act_on():
    tree, (a,) = expand(T.new_tree(), T.ROOT, [0.8])
    tree, ids = grow(tree, a, "x", "y")
    tree = act(act(tree, ids[0]), ids[1])
    assert T.to_evaluate(tree, ids, 2, parent=a) == [*ids, a]
    assert T.to_evaluate(tree, ids, 1, parent=a) == []  # the last call: left to the policy
    # a finished answer only the value model can judge still gets the last call: its
    # verdict can end the search
    tree, (z,) = grow(tree, a, "z")
    tree = act(tree, z, terminal=True)
    assert T.to_evaluate(tree, [*ids, z], 1, parent=a) == [*ids, z, a]
    # one call per node (not batched): as before, as many as there are calls
    assert T.to_evaluate(tree, ids, 1, batched=False, parent=a) == [ids[0]]


def test_earlier_children_that_can_grow_are_judged_again_best_first():
    tree, (a,) = expand(T.new_tree(), T.ROOT, [0.8])
    tree, old = expand(tree, a, [0.3, 0.7, 0.5, 0.6])
    tree = act(tree, old[3], terminal=True, solved=False)  # ended: nothing to judge again
    tree, (x,) = grow(tree, a, "x")
    tree = act(tree, x)
    assert T.to_evaluate(tree, [x], 2, parent=a) == [x, a]  # off by default
    assert T.to_evaluate(tree, [x], 2, parent=a, rejudge=2) == [x, a, old[1], old[2]]
    assert T.to_evaluate(tree, [x], 2, parent=a, rejudge=9) == [x, a, old[1], old[2], old[0]]
    # a child whose subtree cannot grow any more is not judged again
    tree = T.merge_tree(tree, {old[1]: {"stale": True, "asks": 1}})
    assert T.to_evaluate(tree, [x], 2, parent=a, rejudge=9) == [x, a, old[2], old[0]]
    assert T.to_evaluate(tree, [x], 1, parent=a, rejudge=9) == []  # the last call
    # judged again: the judgements average, and count as a visit rewarded by the judgement
    tree = score(tree, old[2], 0.9)
    assert tree[old[2]]["score"] == pytest.approx(0.7) and tree[old[2]]["evals"] == 2
    assert tree[old[2]]["visits"] == 2 and tree[old[2]]["value"] == pytest.approx(0.7)


def test_a_second_judgement_is_averaged_into_score_and_value():
    tree, (a,) = expand(T.new_tree(), T.ROOT, [0.8])
    tree, (x,) = expand(tree, a, [0.6])  # a: visits 2, value (0.8 + 0.6) / 2
    assert (tree[a]["score"], tree[a]["evals"], tree[a]["visits"]) == (0.8, 1, 2)
    tree = score(tree, a, 0.2, reflection="looks worse now")
    assert tree[a]["score"] == pytest.approx(0.5) and tree[a]["evals"] == 2
    # the judgement is one more visit, rewarded by it: the mean of 0.8, 0.6 and 0.2
    assert (tree[a]["visits"], tree[a]["value"]) == (3, pytest.approx((0.8 + 0.6 + 0.2) / 3))
    assert tree[a]["reflection"] == "looks worse now"
    tree = score(tree, a, 1.7)  # clipped to 1 before averaging
    assert tree[a]["score"] == pytest.approx((0.8 + 0.2 + 1.0) / 3) and tree[a]["evals"] == 3
    assert tree[a]["value"] == pytest.approx((0.8 + 0.6 + 0.2 + 1.0) / 4)
    assert tree[a]["reflection"] == "looks worse now"  # an empty reflection keeps the last


def test_judged_answers_count_as_solved_only_on_terminal_nodes():
    tree, (a, b) = grow(T.new_tree(), T.ROOT, "a", "b")
    tree = act(act(tree, a, terminal=True), b)
    tree = score(score(tree, a, 0.95, solved=True), b, 0.95, solved=True)
    assert tree[a]["solved"] and not tree[b]["solved"]
    assert T.solved_node(tree) == a
    assert T.stop_reason(tree, iteration=1, calls=1, tokens=1, max_iterations=9,
                         max_calls=9, max_tokens=9) == "solved"


@pytest.mark.parametrize(("kw", "words"), [
    ({"calls": 10}, "10 model calls"), ({"tokens": 500}, "500 tokens"),
    ({"iteration": 4}, "max_iterations (4)"),
])
def test_stop_reasons(kw, words):
    limits = {"max_iterations": 4, "max_calls": 10, "max_tokens": 500}
    base = {"iteration": 0, "calls": 0, "tokens": 0}
    assert T.stop_reason(T.new_tree(), **base, **limits) is None
    assert words in T.stop_reason(T.new_tree(), **{**base, **kw}, **limits)
    off = {"max_iterations": 0, "max_calls": 0, "max_tokens": 0}
    assert T.stop_reason(T.new_tree(), **{**base, **kw}, **off) is None


def test_merge_tree_patches_fields_and_removes_nodes():
    tree = T.new_tree()
    merged = T.merge_tree(tree, {"0": {"value": 0.5}, "0.0": {"id": "0.0"}})
    assert merged["0"]["value"] == 0.5 and merged["0"]["visits"] == 1
    assert "0.0" in merged and tree["0"]["value"] == 0.0  # the input is not changed
    assert "0.0" not in T.merge_tree(merged, {"0.0": None})
