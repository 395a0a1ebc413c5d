"""What an environment the search runs over must provide, and what acting returns.

An environment turns the policy's proposed actions into observations: it gives the
shape of one action (``action_model``), says which actions are the same (``key``),
prepares a tool call that may need a person's yes (``prepare``: the shared approval gate
runs between expansion and acting), runs an action (``act``), and says whether the result
is terminal and, when it can check that itself, solved. It holds no run state: what it
needs comes in the arguments, and its states are plain JSON for the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

__all__ = ["ActContext", "Environment", "Outcome"]


@dataclass
class Outcome:
    """What acting on one action gave."""

    observation: str
    """What the environment answered (a tool result, the numbers left, test output)."""
    state: Any = None
    """Env-specific JSON the next actions start from."""
    terminal: bool = False
    """No action may follow (an answer, a finished puzzle, passing code)."""
    solved: bool | None = None
    """True / False when the environment verified the outcome; None: the value model judges."""
    reflection: str = ""
    """Why a verified outcome failed, in a line (the value model is not asked then)."""


@dataclass
class ActContext:
    """What ``prepare`` and ``act`` may use: the run's settings, toolbox and input."""

    ctx: Any = None
    """The run's ``Context``."""
    toolbox: Any = None
    """The run's ``tools.Toolbox`` (built-in tools plus the factory's extra tools)."""
    inputs: dict[str, Any] = field(default_factory=dict)
    """The graph input (goal and the environment's own fields, e.g. numbers, tests)."""
    prepared: dict[str, Any] | None = None
    """The tool call ``prepare`` made for this action (with its idempotency key), as
    approved or edited by a person; None for actions that call no tool."""
    code_timeout: float = 10.0


class Environment(Protocol):
    """A task the search can explore: root state, actions, acting and verification."""

    name: str

    def start(self, inputs: dict[str, Any]) -> tuple[Any, str]:
        """Return the root state and its observation; ValueError on bad input."""

    def describe(self, inputs: dict[str, Any], toolbox: Any) -> str:
        """Explain the task's rules and actions for the prompts."""

    def action_model(self, toolbox: Any) -> type[BaseModel]:
        """Return the schema of one action; the policy answers with a list of them."""

    def state_text(self, state: Any) -> str:
        """Describe a state in a line or two for a prompt ('' when the path says it all)."""

    def render(self, action: dict[str, Any]) -> str:
        """Write one action as a short line."""

    def key(self, state: Any, action: dict[str, Any]) -> str:
        """Return a key equal for actions that are the same (duplicates are merged)."""

    def prepare(self, action: dict[str, Any], *, run: ActContext,
                node_id: str) -> dict[str, Any] | None:
        """Return the tool call an action makes (``agent_graphs.actions.Action``: risk,
        reasons to ask a person, idempotency key), or None when it calls no tool.

        Raises:
            ValueError: The action cannot run (unknown tool, bad arguments).
        """

    def act(self, state: Any, action: dict[str, Any], *, run: ActContext) -> Outcome:
        """Run the action from ``state``."""

    def answer(self, state: Any, action: dict[str, Any] | None, observation: str,
               solved: bool) -> str:
        """Write the final answer from the best node ('' when it holds none yet)."""
