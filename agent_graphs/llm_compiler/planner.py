"""The streaming planner: each task leaves the model's answer the moment its JSON closes.

The planner answers with one forced call of the ``Plan`` tool (a grammar on llama.cpp).
When the model streams, :class:`StepStream` reads the tool call's argument text as it
arrives and hands over each object of ``"steps"`` as soon as its closing brace is in, in
O(n) over the whole answer (re-parsing the growing text with ``parse_partial_json`` after
every token would be O(n^2): seconds for a 200-task plan). When it cannot stream, the
whole plan is handed over at once. Either way each task is checked before it is handed
over (:class:`TaskCheck`): a task that fails a check stops the hand-over, and the problems
go back to the model as feedback, bounded by ``max_plan_attempts``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ValidationError

from agent_graphs.llm import ModelOutputError, add_usage, usage_of
from agent_graphs.plans import REFERENCE, Plan, Step, validate_plan

__all__ = ["StepStream", "TaskCheck", "can_stream", "plan_tasks"]


class StepStream:
    """Find each complete object of a streamed ``{"steps": [...]}`` JSON text, in order."""

    def __init__(self) -> None:
        self.text = ""
        self._pos = 0
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._string_start = 0
        self._last_string = ""
        self._key = ""
        self._steps_depth = -1  # depth inside the "steps" array, once it opened
        self._object_start = -1

    def feed(self, piece: str) -> list[dict[str, Any]]:
        """Add ``piece`` of the answer; return the step objects it completed."""
        self.text += piece
        found: list[dict[str, Any]] = []
        text = self.text
        for i in range(self._pos, len(text)):
            ch = text[i]
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif ch == "\\":
                    self._escape = True
                elif ch == '"':
                    self._in_string = False
                    if self._depth == 1:
                        self._last_string = text[self._string_start:i]
            elif ch == '"':
                self._in_string, self._string_start = True, i + 1
            elif ch == ":" and self._depth == 1:
                self._key = self._last_string
            elif ch in "{[":
                if ch == "[" and self._depth == 1 and self._key == "steps":
                    self._steps_depth = 2
                elif ch == "{" and self._depth == self._steps_depth:
                    self._object_start = i
                self._depth += 1
            elif ch in "}]":
                self._depth -= 1
                if ch == "}" and self._depth == self._steps_depth and self._object_start >= 0:
                    try:
                        found.append(json.loads(text[self._object_start:i + 1]))
                    except json.JSONDecodeError:
                        found.append({})  # malformed: the check reports it
                    self._object_start = -1
                elif ch == "]" and self._depth == 1:
                    self._steps_depth = -1
        self._pos = len(text)
        return found


class TaskCheck:
    """Check tasks one at a time, in the order they arrive, before any of them runs.

    A task id that belongs to an earlier task of the run (a small model often starts a
    replan at ``s1`` again) is renamed ``<id>_2`` (``_3``...); later tasks of the same
    plan that depend on it or write ``$<id>`` follow the rename, as with
    :func:`agent_graphs.plans.renumber` (which needs the whole plan, so cannot serve a
    stream).
    """

    def __init__(
        self, *, step_model: type[Step], tools: Collection[str], done: Collection[str],
        avoid: Collection[str] = (), max_tasks: int,
    ) -> None:
        self.step_model = step_model
        self.tools = set(tools)
        self.clash = set(done) | set(avoid)
        self.max_tasks = max_tasks
        self.accepted: list[dict[str, Any]] = []
        self._known = set(done)
        """Ids a task may depend on: the done ones and those accepted so far."""
        self.problems: list[str] = []
        self.truncated = False
        """The plan had more than ``max_tasks`` tasks; the rest were dropped."""
        self._original: set[str] = set()
        self._mapping: dict[str, str] = {}

    def offer(self, raw: Any) -> dict[str, Any] | None:
        """Return the task ready to schedule, or None (and stop) when it fails a check."""
        if self.problems or self.truncated:
            return None
        n = len(self.accepted) + 1
        try:
            step = self.step_model.model_validate(raw)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(map(str, first["loc"])) or "task"
            self.problems.append(f"task {n}: {where}: {first['msg']}")
            return None
        if step.id in self._original:
            self.problems.append(f"task id {step.id!r} is used more than once")
            return None
        if len(self.accepted) >= self.max_tasks:
            # Tasks already run cannot be taken back: a longer plan is cut, not refused,
            # and the joiner judges whether the results are enough.
            self.truncated = True
            return None
        self._original.add(step.id)
        step = self._rename(step)
        problems = validate_plan(Plan(steps=[step]), tools=self.tools, done=self._known,
                                 max_steps=self.max_tasks, ordered=True)
        if problems:
            self.problems.extend(problems)
            return None
        task = step.model_dump()
        self.accepted.append(task)
        self._known.add(task["id"])
        return task

    def _rename(self, step: Step) -> Step:
        if step.id in self.clash:
            taken = self.clash | self._original | set(self._mapping.values())
            k = 2
            while f"{step.id}_{k}" in taken:
                k += 1
            self._mapping[step.id] = f"{step.id}_{k}"
        if not self._mapping:
            return step

        def rename(match: Any) -> str:
            sid = match["braced"] or match["bare"]
            return "${" + self._mapping[sid] + "}" if sid in self._mapping else match[0]

        def rename_all(value: Any) -> Any:
            if isinstance(value, str):
                return REFERENCE.sub(rename, value)
            if isinstance(value, dict):
                return {k: rename_all(v) for k, v in value.items()}
            if isinstance(value, list):
                return [rename_all(v) for v in value]
            return value

        return step.model_copy(update={
            "id": self._mapping.get(step.id, step.id),
            "depends_on": [self._mapping.get(d, d) for d in step.depends_on],
            "args": rename_all(step.args),
        })


_NO_TOOL_STREAM: set[tuple[str, str]] = set()
"""Servers (base URL, model) seen streaming a forced tool call as nothing at all."""


def _server(model: BaseChatModel) -> tuple[str, str] | None:
    base = getattr(model, "openai_api_base", None)
    return (str(base), str(getattr(model, "model_name", ""))) if base else None


@lru_cache(maxsize=64)
def _as_tool(schema: type[Plan]) -> dict[str, Any]:
    """The schema as an OpenAI tool, converted once (a JSON schema takes milliseconds)."""
    return convert_to_openai_tool(schema)


def can_stream(model: BaseChatModel) -> bool:
    """True when ``model`` really streams tool calls (not just replays a whole answer)."""
    if getattr(model, "disable_streaming", False) in (True, "tool_calling"):
        return False
    if _server(model) in _NO_TOOL_STREAM:
        return False
    return type(model)._stream is not BaseChatModel._stream


def _stream_answer(
    model: BaseChatModel, schema: type[Plan], messages: Sequence[BaseMessage],
    on_raw_step: Callable[[Any], None], before_chunk: Callable[[], None] | None = None,
) -> tuple[str, dict[str, int]]:
    """Stream one forced ``Plan`` call; feed each completed step to ``on_raw_step``."""
    runnable = model.bind_tools([_as_tool(schema)], tool_choice=schema.__name__)
    parser = StepStream()
    usage: dict[str, int] = {}
    # NOTE: chunks are not summed into one message: each sum copies the text so far
    # (quadratic in the plan's length); the parser keeps the text, usage is added up.
    for chunk in runnable.stream(list(messages)):
        if before_chunk is not None:
            before_chunk()
        if getattr(chunk, "usage_metadata", None):  # the last chunk or so, not each one
            usage = add_usage(usage, usage_of(chunk))
        for part in getattr(chunk, "tool_call_chunks", None) or []:
            if part.get("args"):
                for raw in parser.feed(part["args"]):
                    on_raw_step(raw)
    return parser.text, usage


def _whole_answer(
    model: BaseChatModel, schema: type[Plan], messages: Sequence[BaseMessage],
    on_raw_step: Callable[[Any], None], before_chunk: Callable[[], None] | None = None,
) -> tuple[str, dict[str, int]]:
    """Ask for the whole plan in one reply, then hand over its steps in order."""
    reply = model.bind_tools([_as_tool(schema)], tool_choice=schema.__name__).invoke(
        list(messages))
    calls = [c for c in getattr(reply, "tool_calls", []) if c["name"] == schema.__name__]
    text = json.dumps(calls[0]["args"]) if calls else ""
    steps = calls[0]["args"].get("steps") if calls else None
    for raw in steps if isinstance(steps, list) else []:
        on_raw_step(raw)
    return text, usage_of(reply)


def plan_tasks(
    model: BaseChatModel,
    schema: type[Plan],
    messages: Sequence[BaseMessage],
    *,
    make_check: Callable[[Collection[str]], TaskCheck],
    on_task: Callable[[dict[str, Any]], None],
    attempts: int,
    stream: bool,
    min_tasks: int = 1,
    on_retry: Callable[[int, str], None] | None = None,
    on_truncate: Callable[[int], None] | None = None,
    on_streamed_task: Callable[[dict[str, Any]], None] | None = None,
    before_chunk: Callable[[], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Ask the planner for tasks, handing each checked task to ``on_task`` as it arrives.

    Tasks handed over by a rejected answer have started: the retry is told so, may refer
    to them, and must not reuse their ids.

    Args:
        make_check: Builds the checker of one answer, given the ids already handed over.
        on_task: Called with each task that passed its checks, in plan order.
        stream: Stream the answer when the model can; otherwise ask for it whole.
        on_truncate: Called with the number kept when an answer had more tasks than
            its check allows (the rest are dropped: the first ones may have run).
        on_streamed_task: Called instead of ``on_task`` for a task cut from a stream
            (one that may start while the rest of the plan is still coming).
        min_tasks: Fewest tasks a plan may have across its answers (0 for a replan).
        before_chunk: Called before each streamed chunk is read (the scheduler lets the
            tasks it is starting go first).

    Returns:
        Every task handed over, and the tokens used.

    Raises:
        ModelOutputError: No answer passed the checks within ``attempts``.
    """
    answer = _stream_answer if stream and can_stream(model) else _whole_answer
    history = list(messages)
    tasks: list[dict[str, Any]] = []
    usage: dict[str, int] = {}
    problem = "no answer"
    for attempt in range(1, attempts + 1):
        check = make_check([t["id"] for t in tasks])

        def offer(raw: Any, check: TaskCheck = check) -> None:
            if (task := check.offer(raw)) is not None:
                tasks.append(task)
                streamed = answer is _stream_answer and on_streamed_task is not None
                (on_streamed_task if streamed else on_task)(task)  # type: ignore[misc]

        text, used = answer(model, schema, history, offer, before_chunk)
        if answer is _stream_answer and not text and (server := _server(model)):
            # Some OpenAI-compatible servers stream a forced tool call as empty deltas:
            # ask again whole, and never stream to that server again in this process.
            _NO_TOOL_STREAM.add(server)
            answer = _whole_answer
            text, again = answer(model, schema, history, offer, before_chunk)
            used = add_usage(used, again)
        usage = add_usage(usage, used)
        problems = list(check.problems)
        if not problems and not check.truncated:
            # The whole answer must parse too: a stream cut short by max_tokens does not.
            problems += _incomplete(text)
        if check.truncated and on_truncate:
            on_truncate(len(check.accepted))
        if not problems and len(tasks) < min_tasks:
            problems.append("the plan has no tasks")
        if not problems:
            return tasks, usage
        problem = "; ".join(problems)
        if attempt < attempts:
            if on_retry:
                on_retry(attempt, problem)
            started = ", ".join(t["id"] for t in tasks)
            history += [
                AIMessage(content=text[:1500]),
                HumanMessage(
                    f"Your plan could not be used: {problem}\n"
                    + (f"Tasks {started} were accepted and have started: do not repeat them; "
                       "refer to their results with $id. Plan only the remaining tasks, with "
                       "new ids.\n" if tasks else "")
                    + "Answer again, fixing exactly that."
                ),
            ]
    raise ModelOutputError(
        f"Plan: no usable answer after {attempts} attempts; last problem: {problem}"
    )


def _incomplete(text: str) -> list[str]:
    """Problems with the answer as a whole (each task was checked on its own)."""
    try:
        answer = json.loads(text) if text else None
    except json.JSONDecodeError as err:
        return [f"the answer is not complete JSON ({str(err).splitlines()[0][:120]}); "
                "it may have been cut off: use fewer or shorter tasks"]
    if not isinstance(answer, dict) or not isinstance(answer.get("steps"), list):
        return ['the answer has no "steps" list: call Plan with {"steps": [...]}']
    return []
