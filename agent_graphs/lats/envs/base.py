"""What an environment the search runs over must provide, and what acting returns.

An environment turns the policy's proposed actions into observations: it says which
actions are the same (``key``), how risky one is (``risk``: HIGH goes through the
shared approval gate before ``act``), runs it (``act``), and whether the result is
terminal and, when it can check that itself, solved. It holds no run state: everything
it needs comes in the arguments, and its state values are plain JSON for the tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel


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
    """What ``act`` may use: the run's toolbox and limits, and the call's stable key."""

    toolbox: Any = None
    """The run's ``tools.Toolbox`` (built lazily by the graph; None where not needed)."""
    key: str = ""
    """Idempotency key of this action (thread, namespace, node id): stable across replays."""
    tool_timeout: float = 30.0
    code_timeout: float = 10.0


class Environment(Protocol):
    """A task the search can explore: root state, actions, acting and verification."""

    name: str
    action_schema: type[BaseModel]
    """Schema of one action; the policy answers with a list of them."""

    def start(self, inputs: dict[str, Any]) -> tuple[Any, str]:
        """Return the root state and its observation; ValueError on bad input."""

    def describe(self, inputs: dict[str, Any]) -> str:
        """Explain the task's rules and actions for the prompts."""

    def state_text(self, state: Any) -> str:
        """Describe a state in a line or two for a prompt ('' when the path says it all)."""

    def render(self, action: dict[str, Any]) -> str:
        """Write one action as a short line."""

    def key(self, state: Any, action: dict[str, Any]) -> str:
        """Return a key equal for actions that are the same (duplicates are merged)."""

    def risk(self, action: dict[str, Any]) -> str:
        """Return 'low', 'medium' or 'high' (the tool owner's declaration)."""

    def act(self, state: Any, action: dict[str, Any], *, run: ActContext) -> Outcome:
        """Run the action from ``state``."""

    def answer(self, state: Any, solved: bool) -> str:
        """Write the final answer from the best node's state (or '' to use its observation)."""
