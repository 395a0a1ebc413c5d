"""The Toolbox: the built-in tools, their declared risk, validation and guarded runs.

Risk is declared here by the tools' owner, never by a model; a name without a
declaration is HIGH. ``Toolbox.run`` is the one way graphs execute a tool: it validates
the arguments, runs the tool in a daemon worker thread with a timeout, and turns every
failure into a ``ToolError`` subclass whose message says which tool failed and why.
"""

from __future__ import annotations

import contextvars
import copy
import enum
import functools
import json
import re
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError

from tools.calculator import make_calculator_tool
from tools.email import make_send_email_tool
from tools.files import make_file_tools
from tools.search import make_search_tool
from tools.runner import spawn
from tools.settings import ToolSettings

IDEMPOTENCY_KEY = "idempotency_key"


class Risk(str, enum.Enum):  # noqa: UP042 - the agreed interface; str() stays "Risk.HIGH"
    """How much harm a tool call can do; decides whether a person must approve it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


RISKS: dict[str, Risk] = {
    "search": Risk.LOW,
    "calculator": Risk.LOW,
    "read_file": Risk.LOW,
    "write_file": Risk.MEDIUM,
    "send_email": Risk.HIGH,
}
"""Risk of each built-in tool, declared by its owner. A name not in it is HIGH."""


class ToolError(Exception):
    """Base class for every error ``Toolbox`` raises."""


class UnknownToolError(ToolError, KeyError):
    """No tool has this name."""

    def __str__(self) -> str:
        """Return the message as is; KeyError would wrap it in quotes."""
        return str(self.args[0]) if self.args else ""


class ToolArgsError(ToolError, ValueError):
    """The arguments do not match the tool's schema."""


class ToolFailed(ToolError):
    """The tool raised; the message names the tool and the cause."""


class ToolTimeout(ToolError, TimeoutError):
    """The tool did not finish within its timeout."""


def _schema_fields(schema: Any) -> dict[str, Any]:
    """Return the JSON-schema properties of a pydantic model or dict schema."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return _model_properties(schema)
    if isinstance(schema, Mapping):
        return dict(schema.get("properties", {}))
    return {}


@functools.lru_cache(maxsize=256)
def _model_properties(model: type[BaseModel]) -> dict[str, Any]:
    # Cached: pydantic builds the JSON schema anew on every call (about 1 ms), and every
    # tool call asks. A model class does not change once built. Callers only read it.
    return model.model_json_schema().get("properties", {})


def _summary(description: str) -> str:
    """Return the first sentence of a tool description, without its final period."""
    # parse_docstring joins the docstring's paragraphs into one line, so "first line"
    # means first sentence; requiring a capital after the break keeps "e.g. x" intact.
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", description.strip(), maxsplit=1)[0]
    return " ".join(first.split()).rstrip(".")


def _brief_args(tool: BaseTool) -> str:
    """Summarise the model-visible arguments as ``{name: type = default}``."""
    parts = []
    for name, prop in _schema_fields(tool.tool_call_schema).items():
        kind = prop.get("type") or "|".join(
            p.get("type", "any") for p in prop.get("anyOf", []) if isinstance(p, Mapping)
        )
        text = f"{name}: {kind or 'any'}"
        if "default" in prop:
            text += f" = {json.dumps(prop['default'])}"
        parts.append(text)
    return "{" + ", ".join(parts) + "}"


class Toolbox:
    """The tools one run may use, built from ``ToolSettings``."""

    def __init__(
        self,
        settings: ToolSettings,
        extra_tools: dict[str, tuple[BaseTool, Risk]] | None = None,
    ) -> None:
        """Build the built-in tools and add ``extra_tools`` with their declared risk.

        Args:
            settings: Where the built-in tools read and write.
            extra_tools: More tools by name, each with the risk its owner declares.
                A name may replace a built-in tool; its declared risk then applies.

        Raises:
            ValueError: If an extra tool's key differs from the tool's own name.
        """
        self.settings = settings
        built_in: list[BaseTool] = [
            make_search_tool(corpus_dir=settings.corpus_dir),
            make_calculator_tool(),
            *make_file_tools(workspace=settings.workspace),
            make_send_email_tool(settings=settings),
        ]
        self._tools: dict[str, BaseTool] = {t.name: t for t in built_in}
        self._risks: dict[str, Risk] = {name: RISKS.get(name, Risk.HIGH) for name in self._tools}
        self._add(extra_tools or {})

    def _add(self, extra_tools: Mapping[str, tuple[BaseTool, Risk]]) -> None:
        for name, (tool, risk) in extra_tools.items():
            if tool.name != name:
                raise ValueError(f"extra tool registered as {name!r} is named {tool.name!r}")
            self._tools[name] = tool
            self._risks[name] = Risk(risk)
        # Worked out once per toolbox (its tools do not change): every tool call asks for
        # the argument names, and LangChain builds a tool's call schema anew each time.
        self._described: str | None = None
        self._fields: dict[str, tuple[frozenset[str], bool]] = {}

    def _call_fields(self, name: str, tool: BaseTool) -> tuple[frozenset[str], bool]:
        """The model-visible argument names of ``name``, and whether it takes a key."""
        found = self._fields.get(name)
        if found is None:
            found = self._fields[name] = (
                frozenset(_schema_fields(tool.tool_call_schema)),
                IDEMPOTENCY_KEY in _schema_fields(tool.args_schema))
        return found

    def extended(self, extra_tools: Mapping[str, tuple[BaseTool, Risk]]) -> Toolbox:
        """Return a copy of this toolbox with ``extra_tools`` added (built-ins are shared).

        Raises:
            ValueError: If an extra tool's key differs from the tool's own name.
        """
        box = copy.copy(self)
        box._tools, box._risks = dict(self._tools), dict(self._risks)
        box._add(extra_tools)
        return box

    def names(self) -> list[str]:
        """Return the tool names in registration order."""
        return list(self._tools)

    def get(self, name: str) -> BaseTool:
        """Return the tool called ``name``.

        Raises:
            UnknownToolError: If there is no such tool.
        """
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(self._tools)
            raise UnknownToolError(f"unknown tool {name!r}; known tools: {known}") from None

    def risk(self, name: str) -> Risk:
        """Return the declared risk of ``name``; unknown names are HIGH."""
        return self._risks.get(name, Risk.HIGH)

    def delivery(self, name: str) -> str:
        """Say what a repeated call of ``name`` with the same idempotency key does.

        Shown in approval requests so a person knows what a retry after a crash means.
        """
        if name == "send_email":
            if self.settings.smtp_host:
                return ("at-least-once: SMTP cannot deduplicate; a crash between the server "
                        "accepting the mail and the outbox record can send it twice")
            return "exactly-once: the outbox ignores a repeat of the same idempotency key"
        if self.risk(name) is Risk.LOW:
            return "read-only: repeating it changes nothing"
        return "idempotent: repeating it with the same arguments gives the same result"

    def describe(self) -> str:
        """Describe every tool on one line, for a planner prompt."""
        if self._described is None:
            lines = []
            for name, tool in self._tools.items():
                summary = _summary(tool.description or "")
                lines.append(
                    f"- {name} ({self.risk(name).value}): {summary}; args: {_brief_args(tool)}"
                )
            self._described = "\n".join(lines)
        return self._described

    def validate_args(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """Check ``args`` against the tool's schema and return the cleaned arguments.

        Keys the model cannot see (injected arguments such as ``idempotency_key``) are
        dropped, so a model cannot forge them; other unknown keys are dropped too.
        Defaults are filled in.

        Raises:
            UnknownToolError: If there is no such tool.
            ToolArgsError: If the arguments are missing, mistyped or out of range.
        """
        tool = self.get(name)
        if not isinstance(args, Mapping):
            raise ToolArgsError(
                f"arguments for {name} must be an object, not {type(args).__name__}; "
                f"expected {_brief_args(tool)}"
            )
        visible = self._call_fields(name, tool)[0]
        given = {k: v for k, v in args.items() if k in visible}
        schema = tool.args_schema
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            return given  # a dict schema: nothing to validate with
        try:
            model = schema.model_validate(given)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ToolArgsError(
                f"invalid arguments for {name}: {problems}; expected {_brief_args(tool)}"
            ) from None
        return {k: v for k, v in model.model_dump().items() if k in visible}

    def run(
        self,
        name: str,
        args: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        timeout: float | None = 30.0,
    ) -> str:
        """Validate ``args`` and run the tool, giving up after ``timeout`` seconds.

        Args:
            name: The tool to run.
            args: Arguments as the model wrote them.
            idempotency_key: Passed to tools that accept it (``send_email``) so a
                retried call has its effect at most once; ignored by the others.
            timeout: Seconds to wait for the tool. ``None`` runs it in the calling
                thread, with no timeout here: for a caller that enforces its own
                deadline and already runs each call in a worker (the LLM Compiler's
                scheduler), where a second thread per call only adds a hand-off.

        Returns:
            The tool's output as a string.

        Raises:
            UnknownToolError: If there is no such tool.
            ToolArgsError: If the arguments are invalid.
            ToolTimeout: If the tool is still running after ``timeout`` seconds.
            ToolFailed: If the tool raised.
        """
        tool = self.get(name)
        call = self.validate_args(name, args)
        if idempotency_key is not None and self._call_fields(name, tool)[1]:
            call[IDEMPOTENCY_KEY] = idempotency_key

        try:
            result = tool.invoke(call) if timeout is None else _in_worker(
                name, tool, call, timeout)
        except ToolError:
            raise
        except (Exception, SystemExit) as exc:
            raise ToolFailed(f"{name} failed: {type(exc).__name__}: {exc}") from exc
        return result if isinstance(result, str) else str(result)


def _in_worker(name: str, tool: BaseTool, call: dict[str, Any], timeout: float) -> Any:
    """Run ``tool`` in a worker thread and wait at most ``timeout`` seconds for it.

    Raises:
        ToolTimeout: The tool is still running after ``timeout`` seconds.
    """
    future: Future[Any] = Future()
    # copy_context: callbacks and tracing set by the caller follow into the worker.
    context = contextvars.copy_context()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(context.run(tool.invoke, call))
        except BaseException as exc:  # even SystemExit: it belongs to the caller
            future.set_exception(exc)

    # A daemon worker rather than a ThreadPoolExecutor: a tool that hangs past its
    # timeout cannot be killed, and must not keep the process alive at exit.
    spawn(work, name)
    try:
        return future.result(timeout=timeout)
    except TimeoutError:
        # Still running: our deadline. Done: the tool itself raised a TimeoutError
        # (say, an SMTP socket), which is a failure of the tool.
        if not future.done():
            raise ToolTimeout(f"{name} timed out after {timeout:g} seconds") from None
        exc = future.exception()
        if exc is None:  # it finished between the deadline and this look
            return future.result()
        if isinstance(exc, ToolError):
            raise exc from None
        raise ToolFailed(f"{name} failed: {type(exc).__name__}: {exc}") from exc
