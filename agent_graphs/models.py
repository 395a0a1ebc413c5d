"""Resolve a model name to a chat model: the one place that knows about providers.

Names:
- ``openai:<model>``: langchain-openai's ``ChatOpenAI``; honours ``OPENAI_API_KEY`` and
  ``OPENAI_BASE_URL``, so any OpenAI-compatible server (vLLM, Ollama, llama.cpp) works.
- ``local`` / ``local:0.5b`` / ``local:1.5b`` / ``local:/path/to/model.gguf``: the embedded
  offline model, a llama.cpp server on loopback started on demand (see ``local_model``).
- ``<prefix>:<anything>`` for a prefix registered with :func:`register_provider`. Modules
  named in ``AGENT_GRAPHS_MODEL_PLUGINS`` (comma-separated) are imported first so they can
  register providers in any process, the dev server included (tests use it for fakes).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel

__all__ = ["chat_model", "describe_model", "load_chat_model", "register_provider"]

Provider = Callable[[str, int], BaseChatModel]
_providers: dict[str, Provider] = {}


def register_provider(prefix: str, provider: Provider) -> None:
    """Make ``<prefix>:<name>`` resolve through ``provider(name, max_tokens)``."""
    _providers[prefix] = provider


def _split(name: str) -> tuple[str, str]:
    prefix, _, rest = name.partition(":")
    return prefix.strip().lower(), rest.strip()


def _load_plugins() -> None:
    for module in filter(None, os.environ.get("AGENT_GRAPHS_MODEL_PLUGINS", "").split(",")):
        importlib.import_module(module.strip())


def load_chat_model(name: str, *, max_tokens: int = 1024) -> BaseChatModel:
    """Return a chat model for ``name`` that generates at most ``max_tokens`` per call."""
    prefix, rest = _split(name)
    if prefix not in _providers:
        _load_plugins()
    if prefix in _providers:
        return _providers[prefix](rest, max_tokens)
    if prefix == "openai":
        return _openai(rest or "gpt-4o-mini", max_tokens=max_tokens)
    if prefix == "local":
        from agent_graphs import local_model

        base_url = local_model.ensure_server(rest or None)
        return _openai(
            "local",
            max_tokens=max_tokens,
            base_url=base_url,
            api_key="not-needed",
            # NOTE: langchain-openai sends only max_completion_tokens, which llama.cpp's
            # server ignores; without max_tokens generation runs to the context limit.
            extra_body={"max_tokens": max_tokens},
            # A 0.5B model wanders when sampled; greedy decoding keeps plans on track and
            # makes runs repeatable.
            temperature=0,
        )
    raise ValueError(
        f"Unknown model {name!r}: use 'openai:<model>', 'local', 'local:1.5b' or "
        "'local:/path/to/model.gguf'"
    )


def _openai(model: str, *, max_tokens: int, **kwargs: Any) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    if "api_key" not in kwargs and not os.environ.get("OPENAI_API_KEY"):
        # An OpenAI-compatible server on OPENAI_BASE_URL usually needs no key, but the
        # client refuses to start without one.
        kwargs["api_key"] = "not-needed"
    return ChatOpenAI(model=model, max_tokens=max_tokens, max_retries=1, **kwargs)


def describe_model(name: str) -> str:
    """Say in a few words what ``name`` resolves to, for the CLI and Studio."""
    prefix, rest = _split(name)
    if prefix == "openai":
        base = os.environ.get("OPENAI_BASE_URL", "api.openai.com")
        return f"{rest or 'gpt-4o-mini'} via OpenAI-compatible API at {base}"
    if prefix == "local":
        return f"embedded llama.cpp model {rest or '0.5b'} on loopback"
    return name


def chat_model(ctx: Any, role: str) -> BaseChatModel:
    """Return the chat model ``ctx`` (a ``Context``) configures for ``role``."""
    return load_chat_model(ctx.role_model(role), max_tokens=ctx.role_max_tokens(role))
