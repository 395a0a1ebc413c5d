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
import threading
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langgraph.types import RetryPolicy

__all__ = ["MODEL_RETRY", "chat_model", "describe_model", "is_transient", "load_chat_model",
           "register_provider", "unregister_provider"]

Provider = Callable[[str, int], BaseChatModel]
_providers: dict[str, Provider] = {}


def register_provider(prefix: str, provider: Provider) -> None:
    """Make ``<prefix>:<name>`` resolve through ``provider(name, max_tokens)``."""
    _providers[prefix] = provider


def unregister_provider(prefix: str) -> None:
    """Forget the provider of ``prefix`` (tests register fakes per test)."""
    _providers.pop(prefix, None)


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


_CLIENT_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_ORGANIZATION",
               "OPENAI_PROXY")
_clients: dict[str, BaseChatModel] = {}
_clients_lock = threading.Lock()


def _openai(model: str, *, max_tokens: int, **kwargs: Any) -> BaseChatModel:
    """A ``ChatOpenAI``, one per settings (and the environment it reads) per process.

    Building one costs about 5 ms (its clients and their checks), and a run asks for a
    model before every call: the same settings get the same object, which also keeps its
    connections to the server open from call to call.
    """
    key = repr((model, max_tokens, sorted(kwargs.items()),
                [os.environ.get(name) for name in _CLIENT_ENV]))
    with _clients_lock:
        if (cached := _clients.get(key)) is not None:
            return cached
    chat = _new_openai(model, max_tokens=max_tokens, **kwargs)
    with _clients_lock:
        if len(_clients) >= 32:  # settings seen long ago
            _clients.pop(next(iter(_clients)))
        return _clients.setdefault(key, chat)


def _new_openai(model: str, *, max_tokens: int, **kwargs: Any) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    if "api_key" not in kwargs and not os.environ.get("OPENAI_API_KEY"):
        # An OpenAI-compatible server on OPENAI_BASE_URL usually needs no key, but the
        # client refuses to start without one.
        kwargs["api_key"] = "not-needed"
    # The client retries a dropped connection, a 429 or a 5xx twice with its own backoff;
    # a node whose call still fails is retried by MODEL_RETRY. The timeout is generous: a
    # long plan on the embedded model takes tens of seconds on 2 cores.
    kwargs.setdefault("timeout", 300.0)
    return ChatOpenAI(model=model, max_tokens=max_tokens, max_retries=2, **kwargs)  # type: ignore[call-arg]


def is_transient(error: BaseException) -> bool:
    """True for provider errors worth retrying: rate limits, overload, timeouts, lost
    connections. A malformed answer is not one of them (``llm.structured`` handles it).
    """
    try:
        import openai
    except ImportError:  # pragma: no cover - langchain-openai depends on it
        return False
    if isinstance(error, openai.APIConnectionError):  # timeouts included
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    return False


MODEL_RETRY = RetryPolicy(
    initial_interval=2.0, backoff_factor=2.0, max_interval=30.0, max_attempts=3,
    retry_on=is_transient,
)
"""Retry policy for nodes that call a model (never for nodes that run tools)."""


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
