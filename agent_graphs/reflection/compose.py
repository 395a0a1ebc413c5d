"""The reflection loop's own nodes in another graph: shared nodes, not a nested graph.

A parent that runs the loop as one stage of its own (the planning agent's report) adds the
loop's nodes to its builder with :class:`Loop`: the very node functions the reflection
graph is made of (``graph.py``), each reading and writing the loop's state under one key
of the parent's state. The parent's entry node starts the loop (:meth:`Loop.start`, the
loop's ``gather``); then, as nodes of the parent with typed routes (so Studio draws every
step and edge of the loop):

- ``{prefix}write``: the loop's ``write``;
- ``{prefix}critique``: the loop's ``check`` then its ``critique`` (the critic is shown
  the checks' results, so they always run together; the checks are deterministic, so
  a retry or a resume after a crash just runs them again);
- ``{prefix}review``: the loop's ``review`` (a person's draft review pauses the parent).

Where the loop would go to its ``finish``, the node that ends it runs the loop's
``finish`` and hands its result to the parent's ``done`` callback, which says where the
parent goes next: no superstep for bookkeeping between the last critique and the parent.

Why not the compiled loop as a subgraph: a nested run has its own start and end (reading
and writing its own checkpoints, its first one waiting on the parent's background write),
measured at ~8 ms of a planning-agent run's ~28 ms of orchestration; each superstep of the
parent costs ~0.5-1 ms more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_type_hints

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command, Overwrite, RetryPolicy

from agent_graphs.context import Context
from agent_graphs.reflection.checks import Check
from agent_graphs.reflection.graph import (
    _check_node,
    _review_node,
    critique,
    finish,
    gather,
    write,
)
from agent_graphs.reflection.state import InputState, State

__all__ = ["Loop", "merge_loop"]

# Keys a parent owns and lends the loop's nodes to read: never kept in the loop's state.
_LENT = ("remaining_steps", "settings")
# The loop's reducers, key by key (rounds, drafts and reviews add up; usage sums).
_REDUCERS: dict[str, Callable[[Any, Any], Any]] = {
    name: meta
    for name, hint in get_type_hints(State, include_extras=True).items() if name not in _LENT
    for meta in getattr(hint, "__metadata__", ())[:1] if callable(meta)
}


def merge_loop(left: Mapping[str, Any] | None, right: Mapping[str, Any] | None) -> dict[str, Any]:
    """Reducer for the loop's state kept under one key: each key by the loop's own reducer
    (a plain key is replaced), as the reflection graph's channels would merge it."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        reducer = _REDUCERS.get(key)
        merged[key] = reducer(merged[key], value) if reducer and key in merged else value
    return merged


Done = Callable[[Mapping[str, Any], dict[str, Any], Runtime[Context]], Command[Any]]
"""The parent's callback when the loop ends: (parent state, the loop's result, runtime) ->
where the parent goes next, with its own update."""


class Loop:
    """The reflection loop's nodes for one parent: where its state lives, what its nodes
    are called there, and what happens when it ends.

    Args:
        key: The parent's state key holding the loop's state; annotate it
            ``Annotated[dict[str, Any], merge_loop]``.
        prefix: Prepended to the loop's node names in the parent (``report_`` gives
            ``report_write``, ``report_critique``, ``report_review``).
        done: Called when the loop ends, with the loop's result (what the reflection
            graph returns); its Command is the ending node's route.
        done_routes: Where ``done`` may go, for the drawing.
        checks: External checks that always run, as ``build_graph(checks=...)``.
        ahead: Called with the parent's state and a draft that passed every check, just
            before the critic reads it: work the parent may start on the draft meanwhile
            (on a worker thread; it must not change the state).
    """

    def __init__(self, *, key: str, prefix: str, done: Done, done_routes: Sequence[str],
                 checks: Sequence[Check] = (),
                 ahead: Callable[[Mapping[str, Any], str], None] | None = None):
        self.key, self.prefix, self.done, self.ahead = key, prefix, done, ahead
        self.done_routes = tuple(done_routes)
        self.checks = tuple(checks)
        self._check = _check_node(self.checks)
        self._review = _review_node(self.checks)

    def name(self, node: str) -> str:
        """The parent's name for one of the loop's nodes (``check`` runs in ``critique``)."""
        return self.prefix + ("critique" if node == "check" else node)

    def view(self, parent: Mapping[str, Any]) -> State:
        """The loop's state as its nodes read it, from the parent's state."""
        inner: dict[str, Any] = dict(parent.get(self.key) or {})
        inner.update({k: parent[k] for k in _LENT if k in parent})
        return inner  # type: ignore[return-value]

    def start(self, parent: Mapping[str, Any], runtime: Runtime[Context], task: InputState
              ) -> Command[Any]:
        """Start a fresh loop on ``task`` from the parent's node: the loop's ``gather``;
        goes to the parent's ``write`` (or ``critique``, for a given draft)."""
        inner = {**task, **{k: parent[k] for k in _LENT if k in parent}}
        command = gather(inner, runtime)  # type: ignore[arg-type]
        update = _own({**task, **(command.update or {})})
        return Command(goto=self.name(str(command.goto)), update={self.key: Overwrite(update)})

    def write(self, state: Mapping[str, Any], runtime: Runtime[Context]) -> dict[str, Any]:
        """The loop's ``write``: the writer drafts, or revises the latest draft."""
        return {self.key: _own(write(self.view(state), runtime))}

    def critique(self, state: Mapping[str, Any], runtime: Runtime[Context]) -> Command[Any]:
        """The loop's ``check`` then ``critique`` on the latest draft."""
        checked = _own(self._check(self.view(state), runtime))
        view = merge_loop(self.view(state), checked)  # what the critic sees: the checks too
        if self.ahead and all(r["passed"] for r in checked.get("checks") or []):
            self.ahead(state, view["drafts"][-1])
        command = critique(view, runtime)  # type: ignore[arg-type]
        return self._route(state, view, str(command.goto),
                           merge_loop(checked, _own(command.update)), runtime)

    def review(self, state: Mapping[str, Any], runtime: Runtime[Context]) -> Command[Any]:
        """The loop's ``review``: a person approves, rejects or edits the accepted draft."""
        view = self.view(state)
        command = self._review(view, runtime)
        return self._route(state, view, str(command.goto), _own(command.update), runtime)

    def _route(self, state: Mapping[str, Any], view: Mapping[str, Any], goto: str,
               update: dict[str, Any], runtime: Runtime[Context]) -> Command[Any]:
        if goto != "finish":
            return Command(goto=self.name(goto), update={self.key: update})
        inner = merge_loop(view, update)
        result = {**_own(inner), **finish(inner, runtime)}  # type: ignore[arg-type]
        then = self.done(state, result, runtime)
        return Command(goto=then.goto, update={self.key: update, **dict(then.update or {})})

    def add_to(self, builder: StateGraph[Any, Any, Any, Any], *,
               retry_policy: RetryPolicy | None = None) -> None:
        """Add the loop's nodes to ``builder`` with their edges and routes;
        ``retry_policy`` applies to the two that call a model (write, critique)."""
        ends = self.done_routes
        for name, node, routes in (
                ("write", self.write, None),
                ("critique", self.critique, (self.name("write"), self.name("review"), *ends)),
                ("review", self.review, (self.name("write"), *ends))):
            builder.add_node(self.name(name), _named(node, self.name(name)),
                             destinations=routes,
                             retry_policy=retry_policy if name != "review" else None)
        builder.add_edge(self.name("write"), self.name("critique"))


def _own(update: Any) -> dict[str, Any]:
    """A loop node's update without the keys the parent lends it."""
    return {k: v for k, v in dict(update or {}).items() if k not in _LENT}


def _named(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``method`` as a plain function named ``name`` (LangGraph reads a node's signature)."""

    def node(state: Mapping[str, Any], runtime: Runtime[Context]) -> Any:
        return method(state, runtime)

    node.__name__ = node.__qualname__ = name
    node.__doc__ = method.__doc__
    return node
