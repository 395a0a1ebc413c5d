"""How the CLI shows a run: readable lines for a person, or JSON lines for a program."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from checkpoints import ThreadInfo


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Printer:
    """Writes run progress and results to stdout (errors to stderr)."""

    def __init__(self, *, json_mode: bool = False, stream: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.stream = stream or sys.stdout

    def _json(self, kind: str, **data: Any) -> None:
        print(json.dumps({"type": kind, **data}, default=str), file=self.stream, flush=True)

    def _line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def start(self, thread: str, models: dict[str, str]) -> None:
        if self.json_mode:
            return self._json("start", thread_id=thread, models=models)
        self._line(f"thread {thread}")
        for role, model in models.items():
            self._line(f"  {role:<8} {model}")

    def event(self, event: dict[str, Any]) -> None:
        if self.json_mode:
            return self._json("event", **event)
        kind = event.get("event")
        if kind == "plan_created":
            self._line(f"\nPlan ({len(event['steps'])} steps):")
            for s in event["steps"]:
                after = f"  [after {', '.join(s['depends_on'])}]" if s["depends_on"] else ""
                self._line(f"  {s['id']:<4} {s['tool']:<11} {_short(s['description'], 90)}{after}")
        elif kind == "plan_rejected":
            self._line(f"  planner answer {event['attempt']} rejected: {_short(event['problem'])}")
        elif kind == "replanned":
            self._line(f"\nReplan #{event['replan']} ({len(event['steps'])} new steps):")
            for s in event["steps"]:
                self._line(f"  {s['id']:<4} {s['tool']:<11} {_short(s['description'], 90)}")
        elif kind == "step_started":
            self._line(f"\n> {event['step_id']} {event['tool']}: {_short(event['description'])}")
        elif kind == "tool_called":
            self._line(f"    call   {event['tool']}({_short(event['args'], 140)})")
        elif kind == "step_finished":
            mark = "ok" if event["ok"] else "FAILED"
            self._line(f"    {mark:<6} {_short(event['output'])}")
        elif kind == "step_evaluated":
            verdict = "success" if event["success"] else f"failure: {_short(event['issues'])}"
            self._line(f"    critic {verdict}")
        elif kind == "approval_requested":
            self._line(f"    needs approval: {event['tool']} ({event['risk']} risk)")
        elif kind == "approval_decided":
            self._line(f"    decision: {event['action']} {event.get('reason') or ''}".rstrip())
        elif kind == "finished":
            pass  # the final answer is printed once, by final()
        else:
            self._line(f"  {kind}: {_short({k: v for k, v in event.items() if k != 'event'})}")

    def final(self, thread: str, values: dict[str, Any]) -> None:
        if self.json_mode:
            return self._json("final", thread_id=thread, status=values.get("status"),
                              state=values)
        status = values.get("status", "unknown")
        self._line(f"\n=== {status.upper()} (thread {thread}) ===")
        self._line(values.get("final_answer", "(no answer)"))

    def waiting(self, thread: str, interrupts: list[dict[str, Any]]) -> None:
        if self.json_mode:
            return self._json("waiting", thread_id=thread, interrupts=interrupts)
        self._line(f"\n=== WAITING FOR APPROVAL (thread {thread}) ===")
        for item in interrupts:
            value = item["value"]
            if isinstance(value, dict):
                self._line(f"request {item['id']}: {value.get('tool')}({_short(value.get('args'))})")
                self._line(f"  risk {value.get('risk')}; why: {_short(value.get('why'))}")
                if value.get("error"):
                    self._line(f"  {value['error']}")
            else:
                self._line(f"request {item['id']}: {_short(value)}")
        pick = f" --interrupt-id {interrupts[0]['id']}" if len(interrupts) > 1 else ""
        self._line("answer with one of:")
        self._line(f"  agent-graphs resume {thread}{pick} --approve")
        self._line(f"  agent-graphs resume {thread}{pick} --reject \"reason\"")
        self._line(f"  agent-graphs resume {thread}{pick} --edit '{{\"arg\": \"new value\"}}'")

    def stopped(self, thread: str, why: str) -> None:
        if self.json_mode:
            return self._json("stopped", thread_id=thread, reason=why)
        self._line(f"\n=== STOPPED (thread {thread}) ===\n{why}")
        self._line(f"the last checkpoint is kept; continue with: agent-graphs resume {thread}")

    def error(self, message: str) -> None:
        if self.json_mode:
            return self._json("error", message=message)
        print(f"agent-graphs: {message}", file=sys.stderr, flush=True)

    def threads(self, infos: list[ThreadInfo]) -> None:
        if self.json_mode:
            return self._json("threads", threads=[_thread_dict(i) for i in infos])
        if not infos:
            return self._line("no threads yet")
        for i in infos:
            goal = _short(i.values.get("goal", ""), 60)
            self._line(f"{i.thread_id:<14} {i.status:<8} {i.graph_id or '?':<13} "
                       f"{i.updated_at[:19]}  {goal}")

    def thread(self, info: ThreadInfo, past: list[dict[str, Any]] | None) -> None:
        if self.json_mode:
            return self._json("thread", thread=_thread_dict(info), history=past)
        self._line(f"thread {info.thread_id} ({info.graph_id}) {info.status}, step {info.step}")
        for key in ("goal", "status", "final_answer"):
            if key in info.values:
                self._line(f"  {key}: {_short(info.values[key], 300)}")
        for step in info.values.get("plan", []):
            done = "done" if step["id"] in (info.values.get("results") or {}) else "todo"
            self._line(f"  {step['id']:<4} {done:<5} {step['tool']:<11} "
                       f"{_short(step['description'], 80)}")
        for item in info.interrupts:
            self._line(f"  waiting: {item['id']} {_short(item['value'], 200)}")
        for h in past or []:
            self._line(f"  {h['created_at'][:19]} step {h['step']} {h['source']} "
                       f"{h['checkpoint_id']}")


def _thread_dict(info: ThreadInfo) -> dict[str, Any]:
    return {"thread_id": info.thread_id, "graph_id": info.graph_id, "status": info.status,
            "updated_at": info.updated_at, "step": info.step, "next": info.next,
            "interrupts": info.interrupts, "values": info.values}
