"""Model calls that must answer in a shape: retried with feedback, then a clear error.

Structured output uses named function calling (the schema as the one tool, forced by
name), which both OpenAI and llama.cpp's stock server enforce; tool calls likewise.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_openai.chat_models.base import BaseChatOpenAI
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


class ModelOutputError(RuntimeError):
    """The model kept answering in a way that could not be used."""


def add_usage(left: dict[str, int] | None, right: dict[str, int] | None) -> dict[str, int]:
    """Reducer that sums token counts."""
    left, right = left or {}, right or {}
    return {k: left.get(k, 0) + right.get(k, 0) for k in left.keys() | right.keys()}


def usage_of(message: Any) -> dict[str, int]:
    """Token counts the provider reported for one reply (empty if it reported none)."""
    meta = getattr(message, "usage_metadata", None) or {}
    return {k: int(meta.get(k, 0)) for k in ("input_tokens", "output_tokens") if k in meta}


def _explain(error: Any) -> str:
    """Say briefly what was wrong with a parsed answer (pydantic errors, one per field)."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {str(e.get('input'))[:60]!r})"
            for e in error.errors()[:5]
        )
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else repr(error)


def _retry_note(problem: str, raw: Any) -> HumanMessage:
    said = ""
    if isinstance(raw, AIMessage):
        said = json.dumps(raw.tool_calls, default=str)[:1500] if raw.tool_calls else raw.text[:1500]
    return HumanMessage(
        f"Your previous answer could not be used: {problem}\n"
        f"<previous_answer>{said}</previous_answer>\nAnswer again, fixing exactly that."
    )


@functools.lru_cache(maxsize=512)
def _as_tool(schema: type[BaseModel]) -> tuple[str, str]:
    """``schema`` as an OpenAI tool (JSON) and its name, converted once per class:
    pydantic builds the JSON schema anew on every conversion (several ms for a plan)."""
    tool = convert_to_openai_tool(schema)
    return json.dumps(tool), tool["function"]["name"]


def _bind(model: BaseChatModel, schema: type[BaseModel]) -> Runnable[Any, Any]:
    """The model with ``schema`` as its one, forced tool: the request that
    ``with_structured_output(method="function_calling")`` makes, without its parsing
    pipeline (a RunnableParallel with fallbacks: 5-15 ms a call on top of the model)."""
    tool, name = _as_tool(schema)
    kwargs: dict[str, Any] = {"tool_choice": name}
    if isinstance(model, BaseChatOpenAI) and "parallel_tool_calls" not in (
            model.disabled_params or {}):
        kwargs["parallel_tool_calls"] = False  # as with_structured_output asks
    return model.bind_tools([json.loads(tool)], **kwargs)  # a copy: bind_tools may edit it


def _parse(raw: Any, schema: type[T]) -> tuple[T | None, Any]:
    """The first call of ``schema``'s tool in ``raw``, validated; else None and why."""
    name = _as_tool(schema)[1]
    calls = [c for c in getattr(raw, "tool_calls", None) or [] if c["name"] == name]
    if not calls:
        bad = getattr(raw, "invalid_tool_calls", None)
        return None, (f"no valid tool call ({bad[0].get('error')})" if bad else "no tool call")
    try:
        return schema.model_validate(calls[0]["args"]), None
    except ValidationError as err:
        return None, err


def structured(
    model: BaseChatModel,
    schema: type[T],
    messages: Sequence[BaseMessage],
    *,
    attempts: int = 3,
    check: Callable[[T], list[str]] | None = None,
    on_retry: Callable[[int, str], None] | None = None,
) -> tuple[T, dict[str, int]]:
    """Ask ``model`` for a ``schema`` object, feeding problems back until it fits.

    Args:
        model: Any chat model that supports tool calling.
        schema: The pydantic model the answer must fit.
        messages: The prompt.
        attempts: How many answers to try before giving up.
        check: Extra validation; returns problems, empty when the object is usable.
        on_retry: Called with (attempt, problem) before each retry, for progress events.

    Returns:
        The parsed object and the tokens used across all attempts.

    Raises:
        ModelOutputError: Every attempt was malformed or failed ``check``.
    """
    runnable = _bind(model, schema)
    history = list(messages)
    usage: dict[str, int] = {}
    problem = "no answer"
    for attempt in range(1, attempts + 1):
        raw = runnable.invoke(history)
        usage = add_usage(usage, usage_of(raw))
        parsed, error = _parse(raw, schema)
        if parsed is None:
            problem = f"it did not fit the {schema.__name__} schema: {_explain(error)}"
        else:
            problems = check(parsed) if check else []
            if not problems:
                return parsed, usage
            problem = "; ".join(problems)
        if attempt < attempts:
            if on_retry:
                on_retry(attempt, problem)
            history.append(_retry_note(problem, raw))
    raise ModelOutputError(
        f"{schema.__name__}: no usable answer after {attempts} attempts; last problem: {problem}"
    )


def forced_tool_call(
    model: BaseChatModel,
    tool: BaseTool,
    messages: Sequence[BaseMessage],
    *,
    attempts: int = 2,
    check: Callable[[dict[str, Any]], str | None] | None = None,
) -> tuple[dict[str, Any], dict[str, int]]:
    """Make ``model`` call ``tool`` (forced by name) and return the arguments it chose.

    Raises:
        ModelOutputError: No attempt produced a call whose arguments pass ``check``.
    """
    runnable = model.bind_tools([tool], tool_choice=tool.name)
    history = list(messages)
    usage: dict[str, int] = {}
    problem = "no answer"
    for attempt in range(1, attempts + 1):
        reply = runnable.invoke(history)
        usage = add_usage(usage, usage_of(reply))
        calls = [c for c in getattr(reply, "tool_calls", []) if c["name"] == tool.name]
        if not calls:
            bad = getattr(reply, "invalid_tool_calls", None)
            problem = f"no call to {tool.name}" + (f" ({bad[0].get('error')})" if bad else "")
        else:
            args = calls[0]["args"]
            complaint = check(args) if check else None
            if complaint is None:
                return args, usage
            problem = complaint
        if attempt < attempts:
            history.append(_retry_note(problem, reply))
    raise ModelOutputError(f"{tool.name}: no usable call after {attempts} attempts; {problem}")
