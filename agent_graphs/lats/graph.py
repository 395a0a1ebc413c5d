"""LATS: a durable language-agent tree search over actions.

    start -> select -> expand -> [approve] -> act (one branch per candidate) -> evaluate
          -> backpropagate -> select ... -> finish

- **select**: UCT from the root over open children (unvisited first); a node whose
  children all look bad is asked again (or, when the value model doubts the node itself,
  its nearest ancestor that may be asked); stops on a solution, ``lats_max_iterations``, a
  budget of model calls or tokens, or when every branch has ended (finished, or at
  ``lats_max_depth``), never by LangGraph's recursion limit.
- **expand**: the policy (role ``policy``) proposes ``lats_n_candidates`` actions;
  duplicates are merged; the new children are written to the tree before anything runs.
- **approve**: HIGH-risk calls (``send_email``) ask a person through the shared gate, in a
  node of their own, so a resume never repeats the policy's call.
- **act**: each candidate runs in its own parallel branch (``Send``); results merge into
  the tree by node id.
- **evaluate**: one value call (role ``value``) scores all of an expansion's new nodes
  0-1, each with a reflection (a list of verdicts), and judges the expanded node and its
  best earlier children again (``lats_rejudge_children``; averaged into their scores);
  verified outcomes (a puzzle's end, tests) need no call, and none is made when it would
  be the budget's last. The budget counts it as one model call (plus retries), as
  ``bench/lats.py`` does.
- **backpropagate**: backs the expansion up to the root (``tree.backpropagate``; a
  child's value counts less while few visits back it, ``lats_value_pessimism``).
- **finish**: the best trajectory, its value, the reflections, and the answer.

The tree is plain JSON in the state, so a search stopped by a crash, a budget or a person
resumes from the checkpoint in a new process where it left off. The search itself is the
pure functions of ``tree.py``, which ``bench/lats.py`` runs without LangGraph.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from agent_graphs import actions
from agent_graphs.context import Context, get_context
from agent_graphs.events import emit
from agent_graphs.graphs import RECURSION_LIMIT
from agent_graphs.lats import tree as T
from agent_graphs.lats import views
from agent_graphs.lats.envs import get_env
from agent_graphs.lats.envs.base import ActContext
from agent_graphs.lats.settings import lats_settings
from agent_graphs.lats.state import (
    ActInput,
    InputState,
    OutputState,
    State,
    Verdict,
    candidates_schema,
    verdicts_schema,
)
from agent_graphs.llm import ModelOutputError, structured
from agent_graphs.models import MODEL_RETRY, chat_model
from agent_graphs.schemas import settings_update
from agent_graphs.tooling import ExtraTools, toolbox_for, with_tools

__all__ = ["ROLES", "build_graph", "builder", "graph"]

ROLES = ("policy", "value")
_ATTEMPTS = 2  # answers per structured call: one retry with the problem fed back
_ITERATION_COST = 7  # supersteps of one iteration (select ... backpropagate) plus finish


def _inputs(state: State) -> dict[str, Any]:
    return {k: state[k] for k in ("goal", "env", "numbers", "tests") if k in state}


def _env(state: State) -> Any:
    return get_env(state.get("env") or "corpus")


def _spent(state: State) -> tuple[int, int]:
    """Model calls and tokens this search has used (the thread may hold earlier runs)."""
    base = state.get("budget_base") or {}
    tokens = sum((state.get("usage") or {}).values())
    return (state.get("model_calls", 0) - base.get("calls", 0), tokens - base.get("tokens", 0))


def _ask(ctx: Context, role: str, schema: Any, prompt: str) -> tuple[Any, dict, int]:
    """One structured call; returns the answer (None if unusable), usage and calls made."""
    retries: list[int] = []
    try:
        out, usage = structured(chat_model(ctx, role), schema, [HumanMessage(prompt)],
                                attempts=_ATTEMPTS, on_retry=lambda n, _p: retries.append(n))
    except ModelOutputError as err:
        emit("lats_model_error", summary=f"{role} gave no usable answer: {err}", level=1,
             role=role, error=str(err))
        return None, {}, _ATTEMPTS
    return out, usage, 1 + len(retries)


def start(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check the input, store the settings, and plant a new tree with just the root."""
    ctx = get_context(runtime)
    lats_settings(ctx)  # a bad setting fails here, before any model call
    if not isinstance(state.get("goal"), str) or not state["goal"].strip():
        raise ValueError("goal must be a non-empty string: the task to search for")
    env = _env(state)
    root_state, observation = env.start(_inputs(state))
    old = {nid: None for nid in state.get("tree") or {}}  # a new search on an old thread
    emit("lats_started", summary=f"tree search over {env.name}: {state['goal'][:120]}",
         env=env.name, goal=state["goal"])
    return {**settings_update(state, ctx), "tree": {**old, **T.new_tree(root_state, observation)},
            "iteration": 0, "new_ids": [], "stop_reason": "",
            "budget_base": {"calls": state.get("model_calls", 0),
                            "tokens": sum((state.get("usage") or {}).values())}}


def select(state: State, runtime: Runtime[Context]) -> Command[Literal["expand", "finish"]]:
    """Pick the node to expand (UCT from the root), or stop the search."""
    s = lats_settings(get_context(runtime))
    tree, iteration = state["tree"], state.get("iteration", 0)
    calls, tokens = _spent(state)
    reason = T.stop_reason(tree, iteration=iteration, calls=calls, tokens=tokens,
                           max_iterations=s.lats_max_iterations,
                           max_calls=s.lats_max_model_calls, max_tokens=s.lats_token_budget)
    if reason is None and state["remaining_steps"] <= _ITERATION_COST:
        reason = "the run's recursion limit is nearly used up"
    nid = None if reason else T.select(tree, weight=s.lats_exploration_weight,
                                       reask_below=s.lats_reask_below, max_asks=s.lats_max_asks)
    if nid is None:
        reason = reason or ("every branch ended (an answer judged wrong, a failure, or "
                            f"max_depth {s.lats_max_depth}) without a solution")
        return Command(goto="finish", update={"stop_reason": reason})
    node = tree[nid]
    verb = "ask again at" if node["children"] else "expand"
    emit("lats_selected", summary=f"iteration {iteration + 1}: {verb} node {nid} (depth "
         f"{node['depth']}, value {node['value']:.2f}, {node['visits']} visits)",
         iteration=iteration + 1, node=nid, depth=node["depth"], value=node["value"])
    return Command(goto="expand", update={"selected": nid, "iteration": iteration + 1})


def _sends(state: State, tree: T.Tree, ids: list[str]) -> list[Send]:
    parent = tree[state["selected"]]
    return [Send("act", ActInput(node=cid, env=state.get("env") or "corpus",
                                 inputs=_inputs(state), state=parent["state"],
                                 action=tree[cid]["action"], prepared=tree[cid].get("prepared")))
            for cid in ids if not tree[cid]["acted"]]


def expand(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["approve", "act", "evaluate"]]:
    """Ask the policy for candidate actions at the selected node; add the new ones."""
    ctx = get_context(runtime)
    s = lats_settings(ctx)
    env, box, inputs = _env(state), toolbox_for(ctx, tools), _inputs(state)
    tree, nid = state["tree"], state["selected"]
    prompt = views.policy_prompt(env, inputs, box, tree, nid, s.lats_n_candidates)
    schema = candidates_schema(env.action_model(box), s.lats_n_candidates)
    out, usage, calls = _ask(ctx, "policy", schema, prompt)
    proposals = [a.model_dump() for a in out.actions] if out is not None else []
    keyed = [(env.key(tree[nid]["state"], a), a) for a in proposals]
    patch, new_ids = T.add_children(tree, nid, keyed)
    run = ActContext(ctx=ctx, toolbox=box, inputs=inputs)
    gated = []
    for cid in new_ids:  # validate tool calls now: a person approves exactly what runs
        try:
            prepared = env.prepare(patch[cid]["action"], run=run, node_id=cid)
        except ValueError as err:
            patch = T.merge_tree(patch, T.record_outcome(
                cid, depth=patch[cid]["depth"], observation=f"cannot run: {err}", state=None,
                terminal=True, solved=False, max_depth=s.lats_max_depth,
                reflection=f"invalid action: {err}"))
            continue
        patch[cid]["prepared"] = prepared
        if prepared and prepared["reasons"]:
            gated.append(cid)
    emit("lats_expanded", summary=f"node {nid}: {len(new_ids)} new of {len(proposals)} "
         "proposed", node=nid, candidates=[{"node": c, "action": patch[c]["action"]}
                                           for c in new_ids],
         lines=[f"{c}: {env.render(patch[c]['action'])}" for c in new_ids], level=1)
    update = {"tree": patch, "new_ids": new_ids, "model_calls": calls, "usage": usage}
    if gated:
        return Command(goto="approve", update=update)
    work = T.merge_tree(tree, patch)
    return Command(goto=_sends(state, work, new_ids) or "evaluate", update=update)


def approve(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> Command[Literal["act", "evaluate"]]:
    """Ask a person about each gated candidate; a rejection ends that branch."""
    ctx = get_context(runtime)
    s = lats_settings(ctx)
    env, box = _env(state), toolbox_for(ctx, tools)
    tree = state["tree"]
    patch: T.Patch = {}
    for cid in state["new_ids"]:
        node = tree[cid]
        prepared = node.get("prepared")
        if node["acted"] or not prepared or not prepared["reasons"]:
            continue
        path = [env.render(tree[p]["action"]) for p in T.path_to(tree, cid)[1:]]
        approved, rejection, _ = actions.review(
            box, prepared, why=node["action"].get("thought") or env.render(node["action"]),
            goal=state["goal"], plan=path)
        if rejection is not None:
            patch.update(T.record_outcome(
                cid, depth=node["depth"], observation=rejection["error"], state=None,
                terminal=True, solved=False, max_depth=s.lats_max_depth,
                reflection=rejection["error"]))
        else:
            patch[cid] = {"prepared": dict(approved)}
    work = T.merge_tree(tree, patch)
    return Command(goto=_sends(state, work, state["new_ids"]) or "evaluate",
                   update={"tree": patch})


def act(
    payload: ActInput, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> dict[str, Any]:
    """Run one candidate's action; its outcome goes into the tree under its node id."""
    ctx = get_context(runtime)
    s = lats_settings(ctx)
    env = get_env(payload["env"])
    run = ActContext(ctx=ctx, toolbox=toolbox_for(ctx, tools), inputs=payload["inputs"],
                     prepared=payload["prepared"], code_timeout=s.lats_code_timeout)
    outcome = env.act(payload["state"], payload["action"], run=run)
    nid = payload["node"]
    emit("lats_acted", summary=f"{nid}: {env.render(payload['action'])} -> "
         f"{actions.clip(' '.join(outcome.observation.split()), 160)}", level=1, node=nid,
         terminal=outcome.terminal, solved=outcome.solved)
    return {"tree": T.record_outcome(
        nid, depth=nid.count("."), observation=outcome.observation, state=outcome.state,
        terminal=outcome.terminal, solved=outcome.solved, max_depth=s.lats_max_depth,
        reflection=outcome.reflection)}


def evaluate(
    state: State, runtime: Runtime[Context], *, tools: ExtraTools | None = None
) -> dict[str, Any]:
    """Score the new nodes with one value call (a list of verdicts), within the budget.

    The expanded node and up to ``lats_rejudge_children`` of its earlier children are
    judged again in the same call (second opinions averaged into their scores, no extra
    call); verified outcomes (a puzzle's end, tests) need no judgement, and with one call
    left nothing unfinished is judged (``tree.to_evaluate``).
    """
    ctx = get_context(runtime)
    s = lats_settings(ctx)
    env, box, inputs = _env(state), toolbox_for(ctx, tools), _inputs(state)
    tree, parent, new_ids = state["tree"], state["selected"], state.get("new_ids") or []
    calls, _ = _spent(state)
    left = s.lats_max_model_calls - calls if s.lats_max_model_calls else None
    ids = T.to_evaluate(tree, new_ids, left, parent=parent, rejudge=s.lats_rejudge_children,
                        max_asks=s.lats_max_asks)
    patch: T.Patch = {}
    usage: dict[str, int] = {}
    made = 0
    if ids:
        out, usage, made = _ask(ctx, "value", verdicts_schema(len(ids)),
                                views.value_prompt(env, inputs, box, tree, parent, ids))
        for cid, verdict in zip(ids, out.verdicts if out is not None else [None] * len(ids),
                                strict=True):
            if verdict is None:
                if cid not in new_ids:  # no second opinion: keep the first
                    continue
                verdict = Verdict(score=0.5, reflection="the value model gave no usable answer")
            solved = verdict.solved and verdict.score >= s.lats_solve_threshold
            patch.update(T.record_score(T.merge_tree(tree, patch), cid, score=verdict.score,
                                        reflection=verdict.reflection, solved=solved))
    work = T.merge_tree(tree, patch)
    scored = [c for c in new_ids if work[c]["score"] is not None]
    again = [c for c in ids if c not in new_ids and c != parent and c in patch]
    emit("lats_evaluated", summary="values: " + (", ".join(
        f"{c} {work[c]['score']:.2f}{' SOLVED' if work[c]['solved'] else ''}" for c in scored)
        or "none") + (f"; node {parent} judged again: {work[parent]['score']:.2f}"
                      if parent in ids and parent in patch else "")
        + (f"; {len(again)} earlier children judged again" if again else ""), level=1,
        candidates=[{"node": c, "action": work[c]["action"], "score": work[c]["score"],
                     "solved": work[c]["solved"], "reflection": work[c]["reflection"]}
                    for c in scored])
    return {"tree": patch, "model_calls": made, "usage": usage}


def backpropagate(state: State, runtime: Runtime[Context]) -> Command[Literal["select", "finish"]]:
    """Back the expansion's values up to the root; end the search on a solution."""
    s = lats_settings(get_context(runtime))
    tree = state["tree"]
    patch = T.backpropagate(tree, state["selected"], state.get("new_ids") or [],
                            max_asks=s.lats_max_asks, pessimism=s.lats_value_pessimism)
    work = T.merge_tree(tree, patch)
    best = T.best_trajectory(work)[-1]
    solved = T.solved_node(work) is not None
    emit("lats_backpropagated", summary=f"best so far: node {best} (value "
         f"{work[best]['value']:.2f}{', SOLVED' if solved else ''})", node=best,
         value=work[best]["value"], solved=solved)
    update: dict[str, Any] = {"tree": patch, "new_ids": []}
    if solved:
        return Command(goto="finish", update={**update, "stop_reason": "solved"})
    return Command(goto="select", update=update)


def finish(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Return the best trajectory, its value, the reflections and the answer."""
    env = _env(state)
    tree = state["tree"]
    path = T.best_trajectory(tree)
    last = tree[path[-1]]
    solved = bool(last["solved"])
    answer = env.answer(last["state"], last["action"], last["observation"], solved).strip()
    value = 1.0 if solved else float(last["value"] if last["visits"] else last["score"] or 0.0)
    if solved:
        final, status = answer or last["observation"], "done"
    else:
        reason = (state.get("stop_reason") or "no solution was found").rstrip(".")
        final, status = f"Stopped before reaching the goal: {reason}.", "failed"
        if len(path) > 1:
            best = answer or env.render(last["action"])
            final += f" Best attempt (value {value:.2f}): {best}"
    emit("finished", summary=f"{status}: {actions.clip(final, 200)}", status=status,
         answer=final, node=path[-1], value=value)
    steps = [{"node": p, "action": env.render(tree[p]["action"]),
              "observation": actions.clip(tree[p]["observation"], 1500),
              "score": tree[p]["score"], "value": tree[p]["value"]} for p in path[1:]]
    return {"final_answer": final, "status": status, "trajectory": steps, "value": value,
            "reflections": T.reflections(tree)}


def build_graph(
    *, tools: ExtraTools | None = None, name: str = "lats"
) -> StateGraph[State, Context, InputState, OutputState]:
    """Return the uncompiled LATS graph; compile it with your checkpointer.

    Args:
        tools: Tools to add to the built-in ones, by name, each with its declared risk
            (the corpus environment may call them; HIGH ones ask a person first).
        name: The name a parent that adds it as a subgraph node gives it.
    """

    def use(node: Any) -> Any:  # nodes that build a toolbox get the extra tools
        return with_tools(node, tools)

    builder = StateGraph(State, context_schema=Context, input_schema=InputState,
                         output_schema=OutputState)
    builder.add_node(start)
    builder.add_node(select)
    builder.add_node(use(expand), retry_policy=MODEL_RETRY)
    builder.add_node(use(approve))
    builder.add_node("act", use(act), input_schema=ActInput)  # runs tools: never retried
    builder.add_node(use(evaluate), retry_policy=MODEL_RETRY)
    builder.add_node(backpropagate)
    builder.add_node(finish)
    builder.add_edge(START, "start")
    builder.add_edge("start", "select")
    builder.add_edge("act", "evaluate")
    builder.add_edge("evaluate", "backpropagate")
    builder.set_finish_point("finish")
    builder.name = name  # type: ignore[attr-defined]
    return builder


builder = build_graph()
# The dev server sets no recursion limit (LangGraph's default is 25): give Studio runs the
# CLI's; the LATS limits (iterations, budgets) still end the search first.
graph = builder.compile(name="LATS").with_config(recursion_limit=RECURSION_LIMIT)
