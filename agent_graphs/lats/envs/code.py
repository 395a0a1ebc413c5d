"""Code: each action is a complete program; the input's tests decide success.

The tests (``assert`` statements) run against a candidate in a separate Python process
(isolated mode, a fresh temporary folder, a timeout), so a program that loops or crashes
costs its branch, not the run. Passing every test solves the task; a failing program is
not terminal: the next action revises it, seeing which tests failed and why.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent_graphs.lats.envs.base import ActContext, Outcome

_RUNNER = r'''
import json, sys, traceback
code, tests = json.load(open(sys.argv[1]))
report = {"error": None, "results": []}
scope = {"__name__": "solution"}
try:
    exec(compile(code, "solution.py", "exec"), scope)
except BaseException as err:
    report["error"] = f"{type(err).__name__}: {err}"
else:
    for test in tests:
        try:
            exec(compile(test, "test", "exec"), dict(scope))
            report["results"].append([test, None])
        except BaseException as err:
            report["results"].append([test, f"{type(err).__name__}: {err}"[:200]])
print("@@REPORT@@" + json.dumps(report))
'''


class Program(BaseModel):
    """One candidate: the whole program, revised from the last one if there was one."""

    thought: str = Field(default="", max_length=200,
                         description="What this version does or fixes, in one line")
    code: str = Field(max_length=6000, description="The complete Python code (definitions "
                                                   "only, no tests, no input())")


def run_tests(code: str, tests: list[str], timeout: float) -> tuple[int, list[str], str]:
    """Run ``tests`` against ``code`` in a subprocess; return passed, failures, error."""
    with tempfile.TemporaryDirectory(prefix="lats-code-") as folder:
        job = Path(folder) / "job.json"
        job.write_text(json.dumps([code, tests]))
        try:
            proc = subprocess.run([sys.executable, "-I", "-c", _RUNNER, str(job)], cwd=folder,
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return 0, [], f"the tests did not finish within {timeout:g} seconds"
    marker = proc.stdout.rfind("@@REPORT@@")
    if marker < 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        return 0, [], f"the test process failed (exit {proc.returncode}): {tail[0][:200]}"
    report = json.loads(proc.stdout[marker + len("@@REPORT@@"):])
    if report["error"]:
        return 0, [], f"the code does not load: {report['error']}"
    failures = [f"{test} -> {err}" for test, err in report["results"] if err]
    return len(tests) - len(failures), failures, ""


class Code:
    """Write Python that passes the input's ``tests``."""

    name = "code"

    @staticmethod
    def _tests(inputs: dict[str, Any]) -> list[str]:
        tests = inputs.get("tests")
        if not isinstance(tests, list) or not tests or not all(
                isinstance(t, str) and t.strip() for t in tests):
            raise ValueError("code needs 'tests': a non-empty list of Python assert "
                             "statements, e.g. [\"assert add(2, 3) == 5\"]")
        return [t.strip() for t in tests]

    def start(self, inputs: dict[str, Any]) -> tuple[Any, str]:
        """The root has no program yet."""
        tests = self._tests(inputs)
        return {"code": "", "passed": 0, "total": len(tests)}, f"{len(tests)} tests to pass"

    def describe(self, inputs: dict[str, Any], toolbox: Any = None) -> str:
        """The tests the program must pass."""
        listing = "\n".join(self._tests(inputs))
        return ("Write Python code that achieves the goal and passes these tests. One action "
                "is one complete program (a revision of the last one, if any).\n<tests>\n"
                f"{listing}\n</tests>")

    def action_model(self, toolbox: Any = None) -> type[BaseModel]:
        """One program."""
        return Program

    def state_text(self, state: Any) -> str:
        """The latest program and how it did."""
        if not state or not state.get("code"):
            return ""
        return (f"Latest program ({state['passed']}/{state['total']} tests passed):\n"
                f"```python\n{state['code']}\n```")

    def render(self, action: dict[str, Any]) -> str:
        """The thought and the program's size."""
        code = str(action.get("code", ""))
        return f"program ({len(code.splitlines())} lines): {action.get('thought', '')[:120]}"

    def key(self, state: Any, action: dict[str, Any]) -> str:
        """The same program (ignoring trailing spaces) is one action."""
        code = "\n".join(line.rstrip() for line in str(action.get("code", "")).strip().splitlines())
        return hashlib.sha256(code.encode()).hexdigest()[:16]

    def prepare(self, action: dict[str, Any], **_: Any) -> None:
        """Programs run in a sandboxed subprocess, not through a tool: nothing to approve."""
        return None

    def act(self, state: Any, action: dict[str, Any], *, run: ActContext) -> Outcome:
        """Run the tests against the program."""
        tests = self._tests(run.inputs)
        code = str(action.get("code", ""))
        passed, failures, error = run_tests(code, tests, run.code_timeout)
        new = {"code": code, "passed": passed, "total": len(tests)}
        if passed == len(tests):
            return Outcome(observation=f"all {len(tests)} tests passed", state=new,
                           terminal=True, solved=True)
        said = error or f"{passed}/{len(tests)} tests passed; failed:\n" + "\n".join(failures[:5])
        return Outcome(observation=said, state=new)

    def answer(self, state: Any, action: dict[str, Any] | None, observation: str,
               solved: bool) -> str:
        """The program."""
        return str((state or {}).get("code", ""))
