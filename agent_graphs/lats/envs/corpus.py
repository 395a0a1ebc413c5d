"""Question answering with tools: each action is one tool call or the final answer.

Tool calls go through the shared ``agent_graphs.actions`` halves: ``prepare`` (validated
arguments, the owner's risk, an idempotency key, the reasons to ask a person) when the
policy proposes the call, the approval gate in a node of its own for HIGH-risk calls
(``send_email``), and ``run`` (the toolbox's timeout, the audit trail) when it acts. An
answer ends its branch; nothing can verify it, so the value model judges it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from agent_graphs import actions
from agent_graphs.lats.envs.base import ActContext, Outcome
from tools import ToolError

ANSWER = "answer"
_OBSERVATION_CHARS = 1500


class ToolAction(BaseModel):
    """One action: a tool call, or the final answer (tool 'answer')."""

    thought: str = Field(default="", max_length=200,
                         description="Why this action helps, in one short line")
    tool: str = Field(description="A tool's name, or 'answer' to give the final answer")
    args: dict[str, Any] = Field(default_factory=dict,
                                 description="The tool's arguments; {} for 'answer'")
    answer: str = Field(default="", max_length=800,
                        description="The final answer, only with tool 'answer'")


def _squash(text: str) -> str:
    return " ".join(str(text).lower().split())


class Corpus:
    """The bundled corpus (or ``corpus_dir``) searched with the run's tools."""

    name = "corpus"

    def start(self, inputs: dict[str, Any]) -> tuple[Any, str]:
        """No state besides the path: the observations are in the trajectory."""
        return None, ""

    def describe(self, inputs: dict[str, Any], toolbox: Any) -> str:
        """The tools and the answer action."""
        return ("Answer the goal with the tools. One action is one tool call, or the final "
                "answer (tool 'answer', the text in 'answer') once the observations hold "
                "what the goal asks. Search for one fact per call.\nTools:\n"
                + toolbox.describe()
                + f"\n- {ANSWER}: give the final answer; args: {{}}")

    def action_model(self, toolbox: Any) -> type[BaseModel]:
        """ToolAction whose ``tool`` only admits the toolbox's names and 'answer'."""
        names: Any = Literal[tuple([*toolbox.names(), ANSWER])]
        return create_model(
            "ToolAction", __base__=ToolAction,
            tool=(names, Field(description="A tool's name, or 'answer' to give the final "
                                           "answer")))

    def state_text(self, state: Any) -> str:
        """Nothing beyond the trajectory."""
        return ""

    def render(self, action: dict[str, Any]) -> str:
        """``search({"query": "..."})`` or ``answer: ...``."""
        if action.get("tool") == ANSWER:
            return f"answer: {actions.clip(action.get('answer', ''), 300)}"
        return f"{action.get('tool')}({actions.clip(action.get('args') or {}, 200)})"

    def key(self, state: Any, action: dict[str, Any]) -> str:
        """Same tool with the same arguments (or the same answer text) is one action."""
        if action.get("tool") == ANSWER:
            return "answer:" + _squash(action.get("answer", ""))
        args = {k: _squash(v) if isinstance(v, str) else v
                for k, v in (action.get("args") or {}).items()}
        return f"{action.get('tool')}:{json.dumps(args, sort_keys=True, default=str)}"

    def prepare(self, action: dict[str, Any], *, run: ActContext,
                node_id: str) -> dict[str, Any] | None:
        """Validate the call and decide whether a person must approve it first."""
        if action.get("tool") == ANSWER:
            if not str(action.get("answer", "")).strip():
                raise ValueError("an answer action needs the answer text in 'answer'")
            return None
        try:
            return dict(actions.prepare(run.ctx, run.toolbox, step_id=f"n{node_id}",
                                        tool=str(action.get("tool")),
                                        args=action.get("args") or {}))
        except ToolError as err:
            raise ValueError(str(err)) from None

    def act(self, state: Any, action: dict[str, Any], *, run: ActContext) -> Outcome:
        """Run the prepared call (an error is an observation), or give the answer."""
        if action.get("tool") == ANSWER:
            return Outcome(observation=str(action.get("answer", "")).strip(), terminal=True)
        assert run.prepared is not None, "a tool action acts on its prepared call"
        done = actions.run(run.ctx, run.toolbox, run.prepared)  # type: ignore[arg-type]
        text = done.get("output") if done["ok"] else f"error: {done.get('error')}"
        return Outcome(observation=actions.clip(text or "", _OBSERVATION_CHARS))

    def answer(self, state: Any, action: dict[str, Any] | None, observation: str,
               solved: bool) -> str:
        """The answer action's text ('' for a node that is no answer)."""
        return observation if (action or {}).get("tool") == ANSWER else ""
