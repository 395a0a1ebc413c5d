"""What the policy and the value model see: a node's trajectory, what was tried, lessons.

Built from the tree alone, so a resumed search in a new process sends the very same
prompts as the search that was interrupted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_graphs.actions import clip
from agent_graphs.lats import prompts
from agent_graphs.lats import tree as T

_OBSERVATION_CHARS = 600
_LESSONS = 3


def trajectory(env: Any, tree: Mapping[str, dict], nid: str) -> str:
    """The actions from the root to ``nid``, each with what the environment answered."""
    lines = []
    for i, step in enumerate(T.path_to(tree, nid)[1:], start=1):
        node = tree[step]
        lines.append(f"{i}. {env.render(node['action'])}")
        if node["acted"]:
            lines.append(f"   -> {clip(node['observation'], _OBSERVATION_CHARS)}")
    return "\n".join(lines) or prompts.NO_ACTIONS


def _state(env: Any, node: Mapping[str, Any]) -> str:
    text = env.state_text(node["state"]) if node["state"] is not None else ""
    return f"\n{text}\n" if text else ""


def policy_prompt(env: Any, inputs: dict[str, Any], box: Any, tree: Mapping[str, dict],
                  nid: str, n: int) -> str:
    """The prompt that asks the policy for ``n`` actions from node ``nid``."""
    node = tree[nid]
    tried = [f"- {env.render(tree[c]['action'])} (value {tree[c]['value']:.2f})"
             + (f": {tree[c]['reflection']}" if tree[c]["reflection"] else "")
             for c in node["children"]]
    on_path = set(T.path_to(tree, nid))
    lessons = [f"- {env.render(r['action'])}: {r['reflection']}"
               for r in T.reflections(tree) if r["node"] not in on_path
               and r["node"] not in node["children"]][-_LESSONS:]
    return prompts.POLICY_PROMPT.format(
        task=env.describe(inputs, box), goal=inputs["goal"],
        trajectory=trajectory(env, tree, nid), state=_state(env, node),
        tried=prompts.TRIED.format(lines="\n".join(tried)) if tried else "",
        reflections=prompts.REFLECTIONS.format(lines="\n".join(lessons)) if lessons else "",
        n=n)


def _candidate(env: Any, tree: Mapping[str, dict], parent: str, nid: str) -> str:
    node = tree[nid]
    if nid == parent:  # the expanded node itself, judged again
        lines = [prompts.AS_IT_STANDS]
    else:
        lines = [f"{node['depth']}. {env.render(node['action'])}"]
        if node["acted"]:
            lines.append(f"   -> {clip(node['observation'], _OBSERVATION_CHARS)}")
    state = _state(env, node).strip()
    return "\n".join(lines + ([state] if state else []))


def value_prompt(env: Any, inputs: dict[str, Any], box: Any, tree: Mapping[str, dict],
                 parent: str, ids: list[str]) -> str:
    """The prompt that asks the value model to judge ``ids`` (children of ``parent``, and
    ``parent`` itself when listed) in one answer, one verdict each in this order."""
    candidates = "\n".join(prompts.CANDIDATE.format(i=i, body=_candidate(env, tree, parent, c))
                           for i, c in enumerate(ids, start=1))
    return prompts.VALUE_PROMPT.format(
        task=env.describe(inputs, box), goal=inputs["goal"],
        trajectory=trajectory(env, tree, parent), state=_state(env, tree[parent]),
        candidates=candidates, n=len(ids))
