"""Run the real CLI in a child process with scripted models.

Usage: python -m tests.procs.cli_child SCENARIO -- CLI ARGS...
Each scenario scripts only what that process should need: if a resumed process redid
finished work, its script would run out and the run would fail.
"""

from __future__ import annotations

import os
import signal
import sys

from agent_graphs import cli
from tests.fakes import call, install

OK = call("StepEvaluation", success=True, issues="", suggestion="")
EMAIL = {"to": "vp@acme.example", "subject": "Q2", "body": "Numbers attached"}


def _plan(*steps):
    return call("Plan", steps=[
        {"id": sid, "description": f"do {sid}", "tool": tool, "args": args,
         "depends_on": deps, "expected_output": "a result"}
        for sid, tool, args, deps in steps
    ])


def _die(_messages):
    os.kill(os.getpid(), signal.SIGKILL)


SCENARIOS = {
    # run until the HIGH-risk email waits for approval
    "email_start": dict(planner=[_plan(("s1", "send_email", EMAIL, []))],
                        executor=[call("send_email", **EMAIL)], critic=[]),
    # resumed in a new process: the email runs once, the critic and finisher answer
    "email_resume": dict(planner=["Email sent to the VP."], executor=[], critic=[OK]),
    # killed by SIGKILL while the executor fills in step s2's placeholder (s1 is done)
    "crash_start": dict(
        planner=[_plan(("s1", "calculator", {"expression": "6*7"}, []),
                       ("s2", "calculator", {"expression": "x+1"}, ["s1"]))],
        executor=[_die],
        critic=[],
    ),
    # a new process continues from the last checkpoint: only s2 is left
    "crash_resume": dict(planner=["43"], executor=[call("calculator", expression="42+1")],
                         critic=[]),
}


def main() -> int:
    scenario, sep, *argv = sys.argv[1:]
    assert sep == "--", "usage: cli_child SCENARIO -- ARGS"
    install(**SCENARIOS[scenario])
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
