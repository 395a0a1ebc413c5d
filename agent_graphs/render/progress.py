"""Live progress of a run, as lines for a person: any graph's events, the end, a pause."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from agent_graphs.render.words import ANSWER_NOTE, allowed, answer_flags, short, what


class ProgressText:
    """Prints a run as it goes: each event's summary, detail lines indented under it."""

    stream: TextIO

    def _line(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def start(self, thread: str, models: dict[str, str]) -> None:
        self._line(f"thread {thread}")
        for role, model in models.items():
            self._line(f"  {role:<8} {model}")

    def event(self, event: dict[str, Any]) -> None:
        if event.get("event") == "finished":
            return  # the final answer is printed once, by final()
        summary = event.get("summary") or (
            f"{event.get('event')}: "
            + short({k: v for k, v in event.items() if k not in ("event", "level")})
        )
        if event.get("level", 0):
            self._line(f"    {short(summary, 200)}")
        else:
            self._line(f"\n{short(summary, 200)}")
        for line in event.get("lines") or []:
            self._line(f"  {short(line, 160)}")

    def final(self, thread: str, values: dict[str, Any]) -> None:
        status = values.get("status", "unknown")
        self._line(f"\n=== {str(status).upper()} (thread {thread}) ===")
        self._line(values.get("final_answer", "(no answer)"))

    def waiting(self, thread: str, interrupts: list[dict[str, Any]]) -> None:
        self._line(f"\n=== WAITING FOR APPROVAL (thread {thread}) ===")
        for item in interrupts:
            value = item["value"]
            if isinstance(value, dict):
                self._line(f"request {item['id']}: {what(value)}")
                self._line(f"  risk {value.get('risk')}; {'; '.join(value.get('reasons') or [])}")
                if value.get("why"):
                    self._line(f"  why: {short(value['why'])}")
                self._line(f"  allowed: {', '.join(allowed(value))}")
                if value.get("error"):
                    self._line(f"  {value['error']}")
            else:
                self._line(f"request {item['id']}: {short(value)}")
        pick = f" --interrupt-id {interrupts[0]['id']}" if len(interrupts) > 1 else ""
        self._line("answer with one of:")
        for flag in answer_flags(interrupts[0]["value"]):
            self._line(f"  agent-graphs resume {thread}{pick} {flag}")
        self._line(f"  {ANSWER_NOTE}")
        if pick:
            self._line("  (without --interrupt-id the answer applies to every request)")

    def stopped(self, thread: str, why: str) -> None:
        self._line(f"\n=== STOPPED (thread {thread}) ===\n{why}")
        self._line(f"the last checkpoint is kept; continue with: agent-graphs resume {thread}")

    def error(self, message: str) -> None:
        print(f"agent-graphs: {message}", file=sys.stderr, flush=True)
