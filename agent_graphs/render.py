"""How the CLI shows a run: readable lines for a person, or JSON lines for a program."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from checkpoints import ThreadInfo
from checkpoints.audit import AuditRecord


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Printer:
    """Writes run progress and results to stdout (errors to stderr)."""

    def __init__(self, *, json_mode: bool = False, stream: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.stream = stream or sys.stdout

    def _json(self, kind: str, /, **data: Any) -> None:
        # positional-only: events carry their own "kind" field (a request's kind)
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
                self._line(f"request {item['id']}: {_what(value)}")
                self._line(f"  risk {value.get('risk')}; {'; '.join(value.get('reasons') or [])}")
                if value.get("why"):
                    self._line(f"  why: {_short(value['why'])}")
                if value.get("error"):
                    self._line(f"  {value['error']}")
            else:
                self._line(f"request {item['id']}: {_short(value)}")
        pick = f" --interrupt-id {interrupts[0]['id']}" if len(interrupts) > 1 else ""
        edit = ("'{\"steps\": [...]}'" if _kind(interrupts[0]["value"]) == "plan"
                else "'{\"arg\": \"new value\"}'")
        self._line("answer with one of:")
        self._line(f"  agent-graphs resume {thread}{pick} --approve")
        self._line(f"  agent-graphs resume {thread}{pick} --reject \"reason\"")
        self._line(f"  agent-graphs resume {thread}{pick} --edit {edit}")
        if pick:
            self._line("  (without --interrupt-id the answer applies to every request)")

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


    def approvals(self, pending: list[Any]) -> None:
        """List pending requests (``hitl.PendingApproval``) across threads."""
        if self.json_mode:
            return self._json("approvals", approvals=[p.to_dict() for p in pending])
        if not pending:
            return self._line("nothing is waiting for approval")
        for p in pending:
            self._line(f"{p.interrupt_id}  thread {p.thread_id}  {p.risk or '?'} risk  "
                       f"{_what(p.request, 100)}")
            self._line(f"    {'; '.join(p.reasons) or '(no reason given)'}")
        self._line("show one: agent-graphs approvals show INTERRUPT_ID")
        self._line("answer:   agent-graphs resume THREAD --interrupt-id INTERRUPT_ID "
                   "--approve | --reject \"reason\" | --edit JSON")

    def approval(self, pending: Any) -> None:
        """Show one pending request in full, with how to answer it."""
        if self.json_mode:
            return self._json("approval", approval=pending.to_dict())
        request = pending.request
        self._line(f"request {pending.interrupt_id} (thread {pending.thread_id})")
        self._line(f"  {_what(request, 300)}")
        for key, value in request.items():
            if key in ("steps", "plan") and isinstance(value, list):
                self._line(f"  {key}:")
                for item in value:
                    line = (f"{item['id']} {item['tool']} {json.dumps(item.get('args', {}))} - "
                            f"{item['description']}" if isinstance(item, dict) else str(item))
                    self._line(f"    {_short(line, 200)}")
            elif key not in ("kind",):
                self._line(f"  {key}: {_short(value, 300)}")
        pick = f"agent-graphs resume {pending.thread_id} --interrupt-id {pending.interrupt_id}"
        self._line("answer with one of:")
        self._line(f"  {pick} --approve")
        self._line(f"  {pick} --reject \"reason\"")
        self._line(f"  {pick} --edit JSON")

    def audit(self, records: list[AuditRecord]) -> None:
        """List audit records, oldest first."""
        if self.json_mode:
            return self._json("audit", records=[vars(r) for r in records])
        if not records:
            return self._line("the audit trail is empty")
        for r in records:
            data = r.data
            if r.kind == "approval_decided":
                what = f"{data.get('action')} {data.get('reason') or ''}".rstrip()
                if data.get("args"):
                    what += f" args={_short(data['args'], 80)}"
            elif r.kind == "tool_executed":
                mark = "ok" if data.get("ok") else "FAILED"
                what = (f"{data.get('tool')}({_short(data.get('args'), 80)}) {mark}: "
                        f"{_short(data.get('result'), 80)}")
            else:
                what = _what(data, 120)
            self._line(f"{r.at[:23]}  {r.thread_id:<14} {r.kind:<18} {r.actor:<10} {what}")


def _kind(value: Any) -> str:
    return str(value.get("kind", "tool_call")) if isinstance(value, dict) else "question"


def _what(request: dict[str, Any], limit: int = 160) -> str:
    """Say in one line what a request asks for: a tool call or a plan."""
    if _kind(request) == "plan":
        steps = request.get("steps") or []
        return _short(f"plan of {len(steps)} steps: "
                      + ", ".join(f"{s['id']} {s['tool']}" for s in steps), limit)
    return f"{request.get('tool')}({_short(request.get('args'), limit)})"


def _thread_dict(info: ThreadInfo) -> dict[str, Any]:
    return {"thread_id": info.thread_id, "graph_id": info.graph_id, "status": info.status,
            "updated_at": info.updated_at, "step": info.step, "next": info.next,
            "interrupts": info.interrupts, "values": info.values}
