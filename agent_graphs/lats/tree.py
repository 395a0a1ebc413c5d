"""The LATS search tree as plain data, and the pure functions that search it.

The tree is a ``dict`` of nodes keyed by id; a node is a JSON dict (see :func:`make_node`).
Nothing here calls a model or an environment: each function reads the tree and returns a
*patch*, ``{node_id: {field: new value}}``, that :func:`merge_tree` applies. The graph
stores the tree in its state with :func:`merge_tree` as the reducer, so the phases (and
parallel branches inside a phase) write only the fields they own; the benchmark
(``bench/lats.py``) runs the very same functions in a loop without LangGraph.

One iteration: :func:`select` a node (UCT from the root, unvisited children first; a node
whose children all look bad is asked again) -> the policy proposes actions and
:func:`add_children` merges duplicates -> the environment acts, :func:`record_outcome` ->
the value model scores :func:`to_evaluate` nodes, :func:`record_score` -> :func:`backpropagate`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

ROOT = "0"
"""Id of the root node; a child's id is its parent's id plus ``.n`` (``0.2.1``)."""

Tree = dict[str, dict[str, Any]]
Patch = dict[str, dict[str, Any]]

__all__ = [
    "ROOT", "Patch", "Tree", "add_children", "backpropagate", "best_trajectory", "can_ask",
    "is_open", "make_node", "merge_tree", "new_tree", "path_to", "record_outcome",
    "record_score", "reflections", "select", "solved_node", "stop_reason", "to_evaluate",
    "uct",
]


def make_node(nid: str, *, parent: str | None, depth: int, action: Any = None,
              key: str = "") -> dict[str, Any]:
    """Return a fresh node (all fields, JSON-serializable)."""
    return {
        "id": nid,
        "parent": parent,
        "children": [],
        "depth": depth,
        "action": action,  # what the policy proposed (env-specific JSON)
        "key": key,  # the env's dedupe key for the action
        "observation": "",  # what the environment answered
        "state": None,  # env-specific JSON the next actions start from
        "acted": False,  # the environment has run the action
        "score": None,  # the value model's estimate (or a verified 0 / 1), mean of evals
        "evals": 0,  # value-model judgements averaged into score
        "reflection": "",  # why the value model judged it as it did (on failures)
        "visits": 0,  # evaluations of this node plus backups through it
        "value": 0.0,  # mean of the rewards backed up through this node
        "terminal": False,  # no action may follow (an answer, a finished puzzle, max depth)
        "solved": False,  # verified (or judged) to reach the goal
        "asks": 0,  # how many times the policy was asked to expand this node
        "stale": False,  # the last ask here added nothing new: the policy has no more ideas
    }


def new_tree(state: Any = None, observation: str = "") -> Tree:
    """Return a tree with just the root (the task before any action)."""
    root = make_node(ROOT, parent=None, depth=0)
    root.update(state=state, observation=observation, acted=True, visits=1)
    return {ROOT: root}


def merge_tree(left: Mapping[str, dict] | None,
               right: Mapping[str, dict | None] | None) -> Tree:
    """Reducer: merge ``right``'s per-node patches into ``left`` (shallow, per field).

    ``{node_id: None}`` removes a node (a new search on the same thread clears the old).
    """
    merged = dict(left or {})
    for nid, fields in (right or {}).items():
        if fields is None:
            merged.pop(nid, None)
        else:
            merged[nid] = {**merged.get(nid, {}), **fields}
    return merged


def path_to(tree: Mapping[str, dict], nid: str) -> list[str]:
    """Return the node ids from the root down to ``nid``."""
    path = []
    while nid is not None:
        path.append(nid)
        nid = tree[nid]["parent"]
    return path[::-1]


def uct(child: Mapping[str, Any], parent_visits: int, weight: float) -> float:
    """Upper confidence bound of ``child``: mean value plus an exploration bonus.

    Values are in [0, 1], so the weight should be well below the textbook sqrt(2), which
    would let the bonus swamp every difference in value. Unvisited children come first.
    """
    if child["visits"] <= 0:
        return math.inf
    bonus = math.sqrt(math.log(max(parent_visits, 1)) / child["visits"])
    return child["value"] + weight * bonus


def can_ask(node: Mapping[str, Any], max_asks: int) -> bool:
    """True when the policy may (still) be asked to expand ``node``."""
    return (not node["terminal"] and not node["stale"] and node["acted"]
            and node["asks"] < max_asks)


def is_open(tree: Mapping[str, dict], nid: str, max_asks: int,
            _memo: dict[str, bool] | None = None) -> bool:
    """True when the subtree under ``nid`` can still grow (or holds a solution)."""
    memo = {} if _memo is None else _memo
    if nid not in memo:
        node = tree[nid]
        memo[nid] = node["solved"] or (not node["terminal"] and node["acted"] and (
            can_ask(node, max_asks)
            or any(is_open(tree, c, max_asks, memo) for c in node["children"])))
    return memo[nid]


def select(tree: Mapping[str, dict], *, weight: float, reask_below: float,
           max_asks: int) -> str | None:
    """Return the node to expand next, or None when no branch can grow.

    From the root, follow the open child with the highest UCT until a node that was never
    expanded. A node whose open children all have a value below ``reask_below`` (or that
    has no open child left) is itself returned, to ask the policy again, while it may be
    asked (``max_asks`` asks per node; an ask that adds nothing ends the asking) — unless
    the value model's own score of it (the mean of its judgements) is below
    ``reask_below`` too: then the nearest ancestor that may be asked is asked instead
    (new ideas are wanted higher up, not more children of a doubtful node). Terminal
    nodes are never returned: a finished branch is not expanded again.
    """
    memo: dict[str, bool] = {}
    if not is_open(tree, ROOT, max_asks, memo):
        return None
    nid = ROOT
    while True:
        node = tree[nid]
        if not node["children"]:
            return nid
        kids = [c for c in node["children"] if is_open(tree, c, max_asks, memo)]
        looks_bad = all(tree[c]["visits"] > 0 and tree[c]["value"] < reask_below
                        for c in kids)
        if can_ask(node, max_asks) and looks_bad:
            if node["score"] is not None and node["score"] < reask_below:
                up = [a for a in path_to(tree, node["parent"])[::-1] if can_ask(tree[a], max_asks)]
                if up:
                    return up[0]
            return nid
        if not kids:  # is_open(nid) guarantees can_ask or an open child; kept for safety
            return None
        nid = max(kids, key=lambda c: uct(tree[c], node["visits"], weight))


def add_children(tree: Mapping[str, dict], parent: str,
                 proposals: Iterable[tuple[str, Any]]) -> tuple[Patch, list[str]]:
    """Add the policy's ``(key, action)`` proposals under ``parent``, merging duplicates.

    A proposal whose key equals another proposal's or an existing child's is dropped. The
    parent's ask count goes up; an ask that adds nothing marks the parent stale.

    Returns:
        The patch and the ids of the new children, in proposal order.
    """
    node = tree[parent]
    seen = {tree[c]["key"] for c in node["children"]}
    patch: Patch = {}
    new_ids: list[str] = []
    for key, action in proposals:
        if key in seen:
            continue
        seen.add(key)
        nid = f"{parent}.{len(node['children']) + len(new_ids)}"
        patch[nid] = make_node(nid, parent=parent, depth=node["depth"] + 1, action=action,
                               key=key)
        new_ids.append(nid)
    patch[parent] = {"children": node["children"] + new_ids, "asks": node["asks"] + 1,
                     "stale": not new_ids}
    return patch, new_ids


def record_outcome(nid: str, *, depth: int, observation: str, state: Any, terminal: bool,
                   solved: bool | None, max_depth: int, reflection: str = "") -> Patch:
    """Patch for what the environment answered to ``nid``'s action (``nid`` at ``depth``).

    ``solved`` is True / False when the environment verifies the outcome itself (a puzzle,
    tests), None when the value model must judge it. A node at ``max_depth`` that is not
    terminal ends its branch unsolved: nothing may follow it.
    """
    fields: dict[str, Any] = {"observation": observation, "state": state, "acted": True,
                              "terminal": bool(terminal)}
    if solved is not None:
        fields.update(solved=bool(solved), score=1.0 if solved else 0.0,
                      reflection=reflection, terminal=bool(terminal or solved))
    if not fields["terminal"] and depth >= max_depth:
        fields.update(terminal=True, solved=False, score=0.0,
                      reflection=reflection or f"reached the maximum depth ({max_depth}) "
                                               "without finishing")
    return {nid: fields}


def to_evaluate(tree: Mapping[str, dict], new_ids: Iterable[str], calls_left: int | None, *,
                batched: bool = True, parent: str | None = None, rejudge: int = 0,
                max_asks: int = 1) -> list[str]:
    """Ids the value model scores after an expansion, within ``calls_left`` calls.

    The new nodes that need a judgement (``calls_left`` None: no budget of calls).
    ``batched``: one value call scores them all (the graph's evaluate node), and the same
    call judges again, as second opinions that cost no extra call: the expanded ``parent``
    (when given, and judged before), then up to ``rejudge`` of its earlier children that
    can still grow, best-scored first. Repeated judgements of a node average out the value
    model's noise, and an earlier child judged low by bad luck gets a fresh hearing beside
    its new siblings. With a single call left and nothing finished to judge, nothing is
    judged: no call would be left to act on the judgement, and the call is better spent
    asking the policy (only a finished answer's verdict, which can end the search, is worth
    the last call). Otherwise (not ``batched``) each node costs a call and only the first
    ``calls_left`` are scored.
    """
    need = [n for n in new_ids if tree[n]["acted"] and tree[n]["score"] is None]
    if not batched:
        return need if calls_left is None else need[:max(calls_left, 0)]
    if not need or (calls_left is not None and calls_left <= 0):
        return []
    if calls_left == 1 and not any(tree[n]["terminal"] for n in need):
        return []
    if parent is None:
        return need
    if tree[parent].get("evals", 0) > 0 and not tree[parent]["terminal"]:
        need.append(parent)
    if rejudge > 0:
        memo: dict[str, bool] = {}
        earlier = [c for c in tree[parent]["children"] if c not in need
                   and tree[c]["score"] is not None and not tree[c]["terminal"]
                   and is_open(tree, c, max_asks, memo)]
        earlier.sort(key=lambda c: -tree[c]["score"])  # stable: ties keep the tree's order
        need += earlier[:rejudge]
    return need


def record_score(tree: Mapping[str, dict], nid: str, *, score: float, reflection: str = "",
                 solved: bool = False) -> Patch:
    """Patch for the value model's verdict on ``nid``: a score in [0, 1], a reflection.

    A node judged again (an expanded node re-judged beside its new children) keeps the
    mean of its judgements as its score, and the judgement counts as one more visit of
    the node, rewarded by it: repeated noisy guesses average out, and a node the value
    model keeps trusting is not sunk by one unlucky expansion. ``solved`` is the judge's
    word that a terminal node reaches the goal (environments without a verifier); it is
    ignored for non-terminal nodes.
    """
    node = tree[nid]
    judged = min(max(float(score), 0.0), 1.0)
    evals = node.get("evals", 0)
    mean = judged
    if node["score"] is not None and evals > 0:
        mean = (node["score"] * evals + judged) / (evals + 1)
    fields: dict[str, Any] = {"score": mean, "evals": evals + 1,
                              "reflection": reflection or node["reflection"]}
    if node["visits"] > 0:  # judged again: one more visit, whose reward is this judgement
        fields.update(visits=node["visits"] + 1,
                      value=node["value"] + (judged - node["value"]) / (node["visits"] + 1))
    if solved and node["terminal"]:
        fields["solved"] = True
    return {nid: fields}


def backpropagate(tree: Mapping[str, dict], parent: str, new_ids: Iterable[str], *,
                  max_asks: int, pessimism: float = 0.0) -> Patch:
    """Patch that backs up one expansion of ``parent``.

    Each scored new child counts one visit at its own score. Then ``parent`` and every
    ancestor, from the bottom up, count one visit whose reward is the best value among
    their open children now (0 when none is open): what the node offers after this
    expansion. A node's value is so the mean of its own score and of those rewards, and a
    branch whose leaves keep failing sinks, while one failure does not sink a node that
    still has good children. An expansion that scored nothing changes no value.

    ``pessimism``: a child's value counts as ``value - pessimism / sqrt(visits)`` in the
    best-child reward. The best of several noisy guesses is biased up (five hopeless
    children judged with noise: their best looks fair); a child seen once counts for
    less than one whose value several visits agree on.
    """
    patch: Patch = {}
    for nid in new_ids:
        score = tree[nid]["score"]
        if score is not None:  # not evaluated (the budget ran out): stays unvisited
            patch[nid] = {"visits": 1, "value": float(score)}
    if not patch:
        return patch
    work = merge_tree(tree, patch)
    memo: dict[str, bool] = {}
    for nid in reversed(path_to(tree, parent)):
        node = work[nid]
        values = [work[c]["value"] - pessimism / math.sqrt(work[c]["visits"])
                  for c in node["children"]
                  if work[c]["visits"] > 0 and is_open(work, c, max_asks, memo)]
        reward = max(values, default=0.0)
        visits = node["visits"] + 1
        patch[nid] = {"visits": visits, "value": node["value"] + (reward - node["value"]) / visits}
        work[nid] = {**node, **patch[nid]}
    return patch


def solved_node(tree: Mapping[str, dict]) -> str | None:
    """Return the id of a solved node (the first made), or None."""
    return next((nid for nid, node in tree.items() if node["solved"]), None)


def best_trajectory(tree: Mapping[str, dict]) -> list[str]:
    """Return the ids from the root to the best node found.

    A solved node wins; otherwise the best-scored terminal node (a finished answer);
    otherwise follow the highest-valued child from the root down, short of dead ends.
    """
    if (nid := solved_node(tree)) is not None:
        return path_to(tree, nid)
    finished = [n for n in tree.values() if n["terminal"] and n["score"] is not None
                and n["depth"] > 0]
    if finished:
        best = max(finished, key=lambda n: (n["score"], -n["depth"]))
        if best["score"] > 0:
            return path_to(tree, best["id"])
    nid = ROOT
    while True:
        kids = [c for c in tree[nid]["children"] if tree[c]["visits"] > 0
                and not (tree[c]["terminal"] and not tree[c]["solved"])]
        if not kids:
            return path_to(tree, nid)
        nid = max(kids, key=lambda c: (tree[c]["value"], tree[c]["visits"]))


def reflections(tree: Mapping[str, dict], limit: int = 0) -> list[dict[str, Any]]:
    """Return the reflections on failed or weak nodes, newest last (``limit`` > 0: last n)."""
    found = [{"node": n["id"], "action": n["action"], "score": n["score"],
              "reflection": n["reflection"]}
             for n in tree.values() if n["reflection"] and not n["solved"]]
    return found[-limit:] if limit > 0 else found


def stop_reason(tree: Mapping[str, dict], *, iteration: int, calls: int, tokens: int,
                max_iterations: int, max_calls: int, max_tokens: int) -> str | None:
    """Say why the search must stop now, or None to go on (limits of 0 are off).

    Exhaustion (no branch can grow: every one is finished or at the depth limit) is
    found by :func:`select` returning None.
    """
    if solved_node(tree) is not None:
        return "solved"
    if max_calls and calls >= max_calls:
        return f"the budget of {max_calls} model calls is used up"
    if max_tokens and tokens >= max_tokens:
        return f"the budget of {max_tokens} tokens is used up"
    if max_iterations and iteration >= max_iterations:
        return f"max_iterations ({max_iterations}) reached"
    return None
