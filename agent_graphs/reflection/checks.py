"""External checks: facts about a draft that no critic can argue with.

A check is any object with a ``name`` and ``run(draft, sources) -> CheckResult``; a
failing check blocks approval whatever the critic says, and its ``detail`` is shown to
the critic and to the writer before the next round, so say what is wrong and by how much.

Add one by writing a small class and passing it to the graph::

    @dataclass(frozen=True)
    class NoExclamations:
        name: str = "no_exclamations"

        def run(self, draft: str, sources: Sequence[Source]) -> CheckResult:
            count = draft.count("!")
            return CheckResult(count == 0, f"{count} exclamation marks; use none")

    graph = build_graph(checks=[NoExclamations()]).compile()

The built-in ones the settings switch on by name are ``word_limit``, ``required_facts``
and ``unsupported_numbers`` (see :func:`settings_checks`); ``JsonMatches`` and
``PythonTests`` take a schema or tests, so they are passed to ``build_graph``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, runtime_checkable

from pydantic import BaseModel, ValidationError

from agent_graphs.figures import unsupported_figures
from agent_graphs.reflection.schema import schema_errors
from agent_graphs.reflection.settings import ReflectionSettings
from agent_graphs.reflection.state import CheckRecord

__all__ = ["Check", "CheckResult", "JsonMatches", "PythonTests", "RequiredFacts",
           "UnsupportedNumbers", "WordLimit", "goal_word_limit", "run_checks",
           "settings_checks", "word_count"]

Source = Mapping[str, Any]
"""One fact a draft may use: ``{"id": ..., "text": ..., "source": ...}``."""


class CheckResult(NamedTuple):
    """What one check found: passed or not, and why, in words the writer can act on."""

    passed: bool
    detail: str


@runtime_checkable
class Check(Protocol):
    """Anything with a ``name`` and a ``run`` that judges a draft against its sources."""

    @property
    def name(self) -> str:
        """Short name shown in results, e.g. ``word_limit``."""
        ...

    def run(self, draft: str, sources: Sequence[Source]) -> CheckResult:
        """Judge ``draft``; ``sources`` are the facts it was written from."""
        ...


def word_count(text: str) -> int:
    """Count words as the word-limit check does."""
    # Whitespace-separated tokens that contain a letter or digit: "$9.20" is a word, "-"
    # is not. This is what word counters in editors do, near enough.
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


@dataclass(frozen=True)
class WordLimit:
    """The draft has at most ``max_words`` words (and at least ``min_words``)."""

    max_words: int
    min_words: int = 0
    name: str = "word_limit"

    def run(self, draft: str, sources: Sequence[Source]) -> CheckResult:
        """Count words."""
        n = word_count(draft)
        if n > self.max_words:
            return CheckResult(False, f"{n} words, over the limit of {self.max_words}: "
                                      f"cut {n - self.max_words}")
        if n < self.min_words:
            return CheckResult(False, f"{n} words, under the minimum of {self.min_words}")
        return CheckResult(True, f"{n} words (limit {self.max_words})")


_GOAL_WORDS = re.compile(r"\b(\d{1,5})[\s-]*words?\b", re.IGNORECASE)


def goal_word_limit(goal: str) -> int | None:
    """Read a word limit from the goal: "a 100-word summary" allows 110 words (10% slack).

    A person asking for "100 words" means about that many; the slack keeps a 104-word
    draft from failing while a 150-word one still does.
    """
    match = _GOAL_WORDS.search(goal)
    return (int(match.group(1)) * 11 + 9) // 10 if match else None  # +10%, rounded up


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class RequiredFacts:
    """Every phrase in ``facts`` appears in the draft (case and spacing ignored)."""

    facts: tuple[str, ...]
    name: str = "required_facts"

    def run(self, draft: str, sources: Sequence[Source]) -> CheckResult:
        """Look for each phrase."""
        text = _norm(draft)
        missing = [f for f in self.facts if _norm(f) not in text]
        if missing:
            return CheckResult(False, "missing: " + "; ".join(repr(f) for f in missing))
        return CheckResult(True, f"all {len(self.facts)} required facts present")


_FENCE = re.compile(r"```[\w+-]*[ \t]*\n(.*?)```", re.DOTALL)


def _unfenced(draft: str) -> str:
    """The text inside a draft's fenced code blocks (joined), or the whole draft."""
    blocks = _FENCE.findall(draft)
    return "\n\n".join(blocks) if blocks else draft


@dataclass(frozen=True)
class JsonMatches:
    """The draft is JSON (fenced or bare) that fits ``schema``.

    ``schema`` is a pydantic model class, or a JSON schema dict using the keywords
    type, properties, required, additionalProperties (true/false), items, enum, const,
    minimum, maximum, minLength, maxLength, minItems, maxItems; anything else raises at
    construction: use a pydantic model for richer rules.
    """

    schema: Any
    name: str = "json_schema"

    def __post_init__(self) -> None:
        if not (isinstance(self.schema, type) and issubclass(self.schema, BaseModel)):
            schema_errors(self.schema, None, "$", only_keywords=True)

    def run(self, draft: str, sources: Sequence[Source]) -> CheckResult:
        """Parse and validate."""
        try:
            value = json.loads(_unfenced(draft))
        except json.JSONDecodeError as err:
            return CheckResult(False, f"not valid JSON: {err}")
        if isinstance(self.schema, type) and issubclass(self.schema, BaseModel):
            try:
                self.schema.model_validate(value)
            except ValidationError as err:
                problems = [f"{'.'.join(map(str, e['loc'])) or '$'}: {e['msg']}"
                            for e in err.errors()[:5]]
                return CheckResult(False, "; ".join(problems))
            return CheckResult(True, f"valid {self.schema.__name__}")
        problems = schema_errors(self.schema, value, "$")
        return CheckResult(not problems, "; ".join(problems[:5]) or "valid against the schema")


_RUNNER = '''

# --- appended by the python_tests check: run every test_* function ---
def _run_tests():
    import traceback
    failed = []
    for name, fn in list(globals().items()):
        if name.startswith("test_") and callable(fn):
            try:
                fn()
            except Exception:
                failed.append(name)
                traceback.print_exc(limit=2)
    if failed:
        raise SystemExit("FAILED: " + ", ".join(failed))
    print("all tests passed")


_run_tests()
'''


@dataclass(frozen=True)
class PythonTests:
    """The draft's Python code (fenced blocks, or the whole draft) passes ``tests``.

    ``tests`` is Python source appended to the code: bare ``assert`` lines and/or
    ``test_*`` functions, which are all called. It runs in a fresh interpreter
    (``python -I``) in an empty temporary folder, in its own process group, killed with
    the group after ``timeout`` seconds: never in this process. This isolates a crash or
    an endless loop, not malicious code: it is not a sandbox.
    """

    tests: str
    timeout: float = 10.0
    name: str = "python_tests"
    python: str = field(default=sys.executable, repr=False)

    def run(self, draft: str, sources: Sequence[Source]) -> CheckResult:
        """Run code + tests in a subprocess."""
        with tempfile.TemporaryDirectory(prefix="reflection-check-") as tmp:
            script = Path(tmp) / "check_draft.py"
            script.write_text(_unfenced(draft) + "\n\n" + self.tests + _RUNNER)
            proc = subprocess.Popen(
                [self.python, "-I", str(script)], cwd=tmp, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, start_new_session=True,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
            )
            try:
                out, _ = proc.communicate(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole group: children too
                proc.communicate()
                return CheckResult(False, f"the tests did not finish within {self.timeout:g} s "
                                          "(an endless loop?)")
        tail = "\n".join(out.strip().splitlines()[-6:])
        if proc.returncode == 0:
            return CheckResult(True, tail or "all tests passed")
        return CheckResult(False, f"exit code {proc.returncode}: {tail}"[:800])


@dataclass(frozen=True)
class UnsupportedNumbers:
    """Flags numbers in the draft that appear in none of the sources.

    The rule (formats, rounding, labels, counts, years) is in ``agent_graphs.figures``.
    """

    allowed_text: str = ""
    """Text whose numbers count as sources too: the goal."""
    name: str = "unsupported_numbers"

    def texts(self, sources: Sequence[Source]) -> tuple[str, ...]:
        """What a draft's figures are compared with: every source's text, then the
        allowed text (``figures.sorted_known`` keeps their values by this tuple)."""
        return (*(str(s.get("text", "")) for s in sources), self.allowed_text)

    def run(self, draft: str, sources: Sequence[Source]) -> CheckResult:
        """Find the draft's figures that no source (nor the goal) supports."""
        texts = self.texts(sources)
        if not any(t.strip() for t in texts[:-1]):
            return CheckResult(True, "skipped: no sources to check numbers against")
        count, unsupported = unsupported_figures(draft, texts)
        if unsupported:
            return CheckResult(False, f"numbers found in no source: {', '.join(unsupported)}; "
                                      "use only figures the sources give")
        return CheckResult(True, f"all {count} numbers found in the sources")


def settings_checks(settings: ReflectionSettings, goal: str) -> list[Check]:
    """The built-in checks the settings switch on, configured for this goal."""
    names = settings.check_names()
    checks: list[Check] = []
    if "word_limit" in names and settings.reflection_word_limit >= 0:
        limit = settings.reflection_word_limit or goal_word_limit(goal)
        if limit:
            checks.append(WordLimit(max_words=limit))
    if "required_facts" in names and settings.reflection_required_facts:
        checks.append(RequiredFacts(tuple(settings.reflection_required_facts)))
    if "unsupported_numbers" in names:
        checks.append(UnsupportedNumbers(allowed_text=goal))
    return checks


def run_checks(checks: Sequence[Check], draft: str, sources: Sequence[Source]
               ) -> list[CheckRecord]:
    """Run every check; a check that raises counts as failed, with the error as detail."""
    results: list[CheckRecord] = []
    for check in checks:
        try:
            passed, detail = check.run(draft, sources)
        except Exception as err:  # noqa: BLE001 - a broken check must not end the run
            passed, detail = False, f"the check itself failed: {type(err).__name__}: {err}"
        results.append({"name": check.name, "passed": bool(passed), "detail": str(detail)})
    return results
