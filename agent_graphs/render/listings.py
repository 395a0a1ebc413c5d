"""Listings of what the database holds, as lines for a person: threads, one thread,
pending approvals, the audit trail. Any graph's thread shows the same way.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from agent_graphs.render.words import ANSWER_NOTE, answer_flags, schema_lines, short, what
from checkpoints import ThreadInfo
from checkpoints.audit import AuditRecord

# Shown first and in full; everything else in the state is listed briefly after them.
_HEADLINE = ("goal", "status", "final_answer")
_HIDDEN = ("settings", "usage")


class ListingsText:
    """Prints stored threads, approvals and audit records."""

    stream: TextIO

    def _line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def threads(self, infos: list[ThreadInfo]) -> None:
        if not infos:
            return self._line("no threads yet")
        for i in infos:
            goal = short(i.values.get("goal", ""), 60)
            self._line(f"{i.thread_id:<14} {i.status:<8} {i.graph_id or '?':<13} "
                       f"{i.updated_at[:19]}  {goal}")

    def thread(self, info: ThreadInfo, past: list[dict[str, Any]] | None) -> None:
        self._line(f"thread {info.thread_id} ({info.graph_id}) {info.status}, step {info.step}")
        values = info.values
        for key in _HEADLINE:
            if key in values:
                self._line(f"  {key}: {short(values[key], 300)}")
        done = set(values.get("results") or {})
        for key, value in values.items():
            if key in _HEADLINE or key in _HIDDEN or value in (None, {}, [], ""):
                continue
            if isinstance(value, list) and all(isinstance(v, dict) and "id" in v for v in value):
                self._line(f"  {key}:")  # a plan, a task list, ...: one line per record
                for item in value:
                    mark = "done" if item["id"] in done else "todo"
                    desc = item.get("description") or item.get("args") or ""
                    self._line(f"    {item['id']:<4} {mark:<5} {item.get('tool', ''):<11} "
                               f"{short(desc, 80)}")
            elif isinstance(value, dict) and len(value) > 1:
                self._line(f"  {key}: {len(value)} entries ({short(', '.join(map(str, value)), 80)})")
            else:
                self._line(f"  {key}: {short(value, 120)}")
        for item in info.interrupts:
            self._line(f"  waiting: {item['id']} {short(item['value'], 200)}")
        for h in past or []:
            self._line(f"  {h['created_at'][:19]} step {h['step']} {h['source']} "
                       f"{h['checkpoint_id']}")

    def approvals(self, pending: list[Any]) -> None:
        """List pending requests (``hitl.PendingApproval``) across threads."""
        if not pending:
            return self._line("nothing is waiting for approval")
        for p in pending:
            self._line(f"{p.interrupt_id}  thread {p.thread_id}  {p.risk or '?'} risk  "
                       f"{what(p.request, 100)}")
            self._line(f"    {'; '.join(p.reasons) or '(no reason given)'}; "
                       f"allowed: {', '.join(p.allowed_decisions)}")
            if p.error:
                self._line(f"    {short(p.error, 200)}")
        self._line("show one: agent-graphs approvals show INTERRUPT_ID")
        self._line("answer:   agent-graphs resume THREAD --interrupt-id INTERRUPT_ID "
                   "--approve | --reject \"reason\" | --edit JSON | --answer JSON")

    def approval(self, pending: Any) -> None:
        """Show one pending request in full, with how to answer it."""
        request = pending.request
        self._line(f"request {pending.interrupt_id} (thread {pending.thread_id})")
        self._line(f"  {what(request, 300)}")
        for key, value in request.items():
            if key in ("steps", "plan") and isinstance(value, list):
                self._line(f"  {key}:")
                for item in value:
                    line = (f"{item['id']} {item['tool']} {json.dumps(item.get('args', {}))} - "
                            f"{item['description']}" if isinstance(item, dict) else str(item))
                    self._line(f"    {short(line, 200)}")
            elif key not in ("kind", "action_requests", "review_configs"):
                self._line(f"  {key}: {short(value, 300)}")
        if pending.description:
            self._line(f"  description: {short(pending.description, 300)}")
        self._line(f"  allowed decisions: {', '.join(pending.allowed_decisions)}")
        if fields := schema_lines(pending.args_schema):
            self._line("  arguments (an edit must fit):")
            for line in fields:
                self._line(f"    {short(line, 200)}")
        pick = f"agent-graphs resume {pending.thread_id} --interrupt-id {pending.interrupt_id}"
        self._line("answer with one of:")
        for flag in answer_flags(request):
            self._line(f"  {pick} {flag}")
        self._line(f"  {ANSWER_NOTE}")

    def audit(self, records: list[AuditRecord]) -> None:
        """List audit records, oldest first."""
        if not records:
            return self._line("the audit trail is empty")
        for r in records:
            data = r.data
            if r.kind == "approval_decided":
                said = f"{data.get('action')} {data.get('reason') or ''}".rstrip()
                if data.get("args"):
                    said += f" args={short(data['args'], 80)}"
            elif r.kind == "tool_executed":
                mark = "ok" if data.get("ok") else "FAILED"
                said = (f"{data.get('tool')}({short(data.get('args'), 80)}) {mark}: "
                        f"{short(data.get('result'), 80)}")
            else:
                said = what(data, 120)
            self._line(f"{r.at[:23]}  {r.thread_id:<14} {r.kind:<18} {r.actor:<10} {said}")
