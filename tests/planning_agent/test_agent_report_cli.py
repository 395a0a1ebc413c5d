"""``--report PATH`` on ``agent-graphs run`` and ``resume`` writes the run report, for
any graph whose values have a plan and results (plan_execute here, until the planning
agent is registered in GRAPHS)."""

from __future__ import annotations

from pathlib import Path

from agent_graphs.cli import main
from tests.fakes import install
from tests.plan_execute.contract import CASES


def test_run_and_resume_write_the_report(tmp_path, dirs):
    case = CASES["approval"]
    install(fallbacks=case["fallbacks"])
    db, report = str(tmp_path / "cp.sqlite"), tmp_path / "reports" / "run.md"
    flags = ["--planner-model", "fake:planner", "--executor-model", "fake:executor",
             "--critic-model", "fake:critic", "--workspace", dirs["workspace"],
             "--outbox", dirs["outbox"]]
    code = main(["--db", db, "run", case["input"]["goal"], "--thread", "t-rep",
                 "--report", str(report), *flags])
    assert code == 3  # paused for the email
    paused = report.read_text()
    assert "```mermaid" in paused and "not run" in paused and "approval_requested" in paused
    code = main(["--db", db, "resume", "t-rep", "--approve", "--report", str(report)])
    assert code == 0
    done = report.read_text()
    assert "**Status:** done" in done and "tool_executed" in done and "send_email" in done
    assert len(Path(dirs["outbox"]).read_text().splitlines()) == 1
