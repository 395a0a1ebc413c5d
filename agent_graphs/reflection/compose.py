"""The reflection loop's own nodes in another graph: shared nodes, not a nested graph.

A parent that runs the loop as one stage of its own (the planning agent's report) adds the
loop's nodes to its builder with :class:`Loop`: the very node functions the reflection
graph is made of (``graph.py``), each reading and writing the loop's state under one key
of the parent's state. The parent's entry node starts the loop (:meth:`Loop.start`, the
loop's ``gather``) and its exit node reads the loop's result (:meth:`Loop.output`, the
loop's ``finish``); in between run ``write``, ``check``, ``critique`` and ``review`` as
nodes of the parent, with typed routes, so Studio draws every step and edge of the loop,
a person's draft review pauses the parent, and a crash resumes at the loop's last
finished node, as in the reflection graph.

Why not the compiled loop as a subgraph: a nested run has its own start and end (reading
and writing its own checkpoints, its first one waiting on the parent's background write),
measured at ~8 ms of a planning-agent run of ~20-30 ms orchestration in all.
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

# The loop's reducers, key by key (rounds, drafts and reviews add up; usage sums).
_REDUCERS: dict[str, Callable[[Any, Any], Any]] = {
    name: meta
    for name, hint in get_type_hints(State, include_extras=True).items()
    for meta in getattr(hint, "__metadata__", ())[:1] if callable(meta)
}
# Keys a parent owns and lends the loop's nodes to read: never kept in the loop's state.
_LENT = ("remaining_steps", "settings")
# Where each of the loop's routing nodes may go (their Command[Literal] routes).
_ROUTES = {"gather": ("write", "check"), "critique": ("write", "review", "finish"),
           "review": ("write", "finish")}


def merge_loop(left: Mapping[str, Any] | None, right: Mapping[str, Any] | None) -> dict[str, Any]:
    """Reducer for the loop's state kept under one key: each key by the loop's own reducer
    (a plain key is replaced), as the reflection graph's channels would merge it."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        reducer = _REDUCERS.get(key)
        merged[key] = reducer(merged[key], value) if reducer and key in merged else value
    return merged


class Loop:
    """The reflection loop's nodes for one parent: where its state lives, what its nodes
    are called there, and where it ends.

    Args:
        key: The parent's state key holding the loop's state; annotate it
            ``Annotated[dict[str, Any], merge_loop]``.
        prefix: Prepended to the loop's node names in the parent (``report_`` gives
            ``report_write``...).
        done: The parent's node the loop ends at (instead of the loop's ``finish``); it
            reads the result with :meth:`output`.
        checks: External checks that always run, as ``build_graph(checks=...)``.
    """

    def __init__(self, *, key: str, prefix: str, done: str, checks: Sequence[Check] = ()):
        self.key, self.prefix, self.done = key, prefix, done
        self.checks = tuple(checks)
        self._nodes: dict[str, Callable[..., Any]] = {
            "write": write, "check": _check_node(self.checks), "critique": critique,
            "review": _review_node(self.checks)}

    def name(self, node: str) -> str:
        """The parent's name for one of the loop's nodes."""
        return self.done if node == "finish" else self.prefix + node

    def routes(self, node: str) -> tuple[str, ...]:
        """The parent's names of where the loop's ``node`` may go."""
        return tuple(self.name(n) for n in _ROUTES.get(node, ()))

    def view(self, parent: Mapping[str, Any]) -> State:
        """The loop's state as its nodes read it, from the parent's state."""
        inner: dict[str, Any] = dict(parent.get(self.key) or {})
        inner.update({k: parent[k] for k in _LENT if k in parent})
        return inner  # type: ignore[return-value]

    def _lift(self, out: Any, *, fresh: bool = False) -> Any:
        """A loop node's update (or Command) as the parent's, routes renamed."""
        command = out if isinstance(out, Command) else None
        update = {k: v for k, v in dict(command.update if command else out or {}).items()
                  if k not in _LENT}
        lifted = {self.key: Overwrite(update) if fresh else update}
        if command is None:
            return lifted
        return Command(goto=self.name(str(command.goto)), update=lifted)

    def start(self, parent: Mapping[str, Any], runtime: Runtime[Context], task: InputState
              ) -> Command[Any]:
        """Start a fresh loop on ``task`` from the parent's node: the loop's ``gather``;
        goes to the parent's ``write`` (or ``check``, for a given draft)."""
        inner = {**task, **{k: parent[k] for k in _LENT if k in parent}}
        command = gather(inner, runtime)  # type: ignore[arg-type]
        update = {**task, **(command.update or {})}  # type: ignore[dict-item]
        return self._lift(Command(goto=command.goto, update=update), fresh=True)

    def output(self, parent: Mapping[str, Any], runtime: Runtime[Context]) -> dict[str, Any]:
        """The loop's result, as the reflection graph returns it: its ``finish`` (which
        also streams its ``finished`` event) on the loop's state."""
        inner = self.view(parent)
        return {**{k: v for k, v in inner.items() if k not in _LENT}, **finish(inner, runtime)}

    def node(self, name: str) -> Callable[..., Any]:
        """The loop's node ``name`` as a node of the parent."""
        run_inner = self._nodes[name]

        def run(state: Mapping[str, Any], runtime: Runtime[Context]) -> Any:
            return self._lift(run_inner(self.view(state), runtime))

        run.__name__ = run.__qualname__ = self.name(name)
        run.__doc__ = run_inner.__doc__
        return run

    def add_to(self, builder: StateGraph[Any, Any, Any, Any], *,
               retry_policy: RetryPolicy | None = None) -> None:
        """Add ``write``, ``check``, ``critique`` and ``review`` to ``builder`` with their
        edges and routes; ``retry_policy`` applies to the nodes that call a model."""
        for name in ("write", "check", "critique", "review"):
            calls_model = name in ("write", "critique")
            builder.add_node(self.name(name), self.node(name),
                             destinations=self.routes(name) or None,
                             retry_policy=retry_policy if calls_model else None)
        builder.add_edge(self.name("write"), self.name("check"))
        builder.add_edge(self.name("check"), self.name("critique"))
