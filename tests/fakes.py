"""One scripted chat model for every test: replays AIMessages, records what it was sent.

Supports ``bind_tools`` (tools are recorded, ``tool_choice`` too) and
``with_structured_output`` (LangChain's own tool-calling parser turns a scripted tool
call into the pydantic object, so malformed scripted output fails the way a real
model's would).

A ``fallback`` answers once the script runs out, from the messages and what is bound
(``tools``, ``tool_choice``): a process that may be killed and resumed at any instant
replays nodes, so it cannot know in advance how many calls it will get.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from agent_graphs import models

Reply = AIMessage | str | Exception | Callable[[list[BaseMessage]], AIMessage]
Fallback = Callable[[list[BaseMessage], dict[str, Any]], AIMessage | str]
_ids = itertools.count()


def call(name: str, **args: Any) -> AIMessage:
    """A scripted reply that calls tool (or structured-output schema) ``name``."""
    return AIMessage(
        content="", tool_calls=[{"name": name, "args": args, "id": f"call_{next(_ids)}"}]
    )


class ScriptedChatModel(BaseChatModel):
    """Replays ``replies`` in order; each call records its messages and bound kwargs."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    replies: list[Any] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    bound: list[dict[str, Any]] = Field(default_factory=list)
    name: str | None = "scripted"
    fallback: Fallback | None = None
    """Answers (messages, bound kwargs) when ``replies`` is empty; None: fail loudly."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages, kwargs))])

    def _reply(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        """Record the call and return the next scripted (or fallback) reply."""
        self.calls.append(list(messages))
        self.bound.append(kwargs)
        if self.replies:
            reply = self.replies.pop(0)
        elif self.fallback is not None:
            reply = self.fallback(list(messages), kwargs)
        else:
            raise AssertionError(f"{self.name}: script exhausted after {len(self.calls)} calls")
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            reply = reply(list(messages))
        if isinstance(reply, str):
            reply = AIMessage(content=reply)
        return reply.model_copy(
            update={"usage_metadata": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}}
        )

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any):
        """Record the tools as OpenAI would receive them."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any):
        """Accept (and ignore) ``method=``: tool calling is the only method here."""
        kwargs.pop("method", None)
        kwargs.pop("strict", None)
        return super().with_structured_output(schema, include_raw=include_raw, **kwargs)

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been used."""
        return len(self.replies)


class StreamingScriptedChatModel(ScriptedChatModel):
    """The scripted model, streaming: each reply comes in pieces of ``chunk_chars``.

    A tool call streams as ``tool_call_chunks`` of its JSON arguments (name and id in the
    first piece), as OpenAI-compatible servers send them; text streams as content.
    ``on_chunk(n, text_so_far)`` runs before piece ``n`` is sent, so a test can hold the
    stream at a chosen point (e.g. until a task has started).
    """

    chunk_chars: int = 8
    on_chunk: Callable[[int, str], None] | None = None

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._reply(messages, kwargs)
        so_far = ""
        for n, piece in enumerate(self._pieces(reply)):
            if self.on_chunk is not None:
                self.on_chunk(n, so_far)
            so_far += "".join(c.get("args") or "" for c in piece.tool_call_chunks) or piece.text
            if run_manager:
                run_manager.on_llm_new_token(piece.text, chunk=ChatGenerationChunk(message=piece))
            yield ChatGenerationChunk(message=piece)

    def _pieces(self, reply: AIMessage) -> Iterator[AIMessageChunk]:
        """Cut ``reply`` into chunks, lazily (the last one carries the usage)."""
        usage = {"usage_metadata": reply.usage_metadata}
        texts = [(i, tc, json.dumps(tc["args"])) for i, tc in enumerate(reply.tool_calls)]
        parts = [(i, tc, text[k:k + self.chunk_chars], k == 0)
                 for i, tc, text in texts for k in range(0, max(len(text), 1), self.chunk_chars)]
        content = "" if reply.tool_calls else reply.text
        cuts = [content[k:k + self.chunk_chars] for k in range(0, len(content), self.chunk_chars)]
        total = len(parts) + len(cuts) or 1
        n = 0
        for index, tc, args, first in parts:
            n += 1
            piece = AIMessageChunk(content="", tool_call_chunks=[{
                "name": tc["name"] if first else None, "args": args,
                "id": tc["id"] if first else None, "index": index}])
            yield piece.model_copy(update=usage) if n == total else piece
        for text in cuts:
            n += 1
            piece = AIMessageChunk(content=text)
            yield piece.model_copy(update=usage) if n == total else piece
        if n == 0:
            yield AIMessageChunk(content="", **usage)


def bound_tool_names(kwargs: dict[str, Any]) -> list[str]:
    """Names of the tools (or structured-output schemas) bound to a call."""
    return [t["function"]["name"] for t in kwargs.get("tools") or []]


def install(
    fallbacks: dict[str, Fallback] | None = None, *, streaming: Collection[str] = (),
    **scripts: list[Reply],
) -> dict[str, ScriptedChatModel]:
    """Register ``fake:<role>`` models replaying the given scripts; return them by role.

    ``fallbacks`` maps a role to what answers once its script runs out; roles named in
    ``streaming`` stream their replies (``StreamingScriptedChatModel``).
    """
    fallbacks = fallbacks or {}
    fakes = {role: (StreamingScriptedChatModel if role in streaming else ScriptedChatModel)(
                 replies=list(replies), name=role, fallback=fallbacks.get(role))
             for role, replies in {**dict.fromkeys(fallbacks, []), **scripts}.items()}

    def provider(name: str, max_tokens: int) -> BaseChatModel:
        if name not in fakes:
            raise ValueError(f"no scripted model {name!r}; have {sorted(fakes)}")
        return fakes[name]

    models.register_provider("fake", provider)
    return fakes


def fake_context(**overrides: Any) -> dict[str, Any]:
    """Context values that point every role at its scripted model."""
    return {
        "planner_model": "fake:planner",
        "executor_model": "fake:executor",
        "critic_model": "fake:critic",
        **overrides,
    }
