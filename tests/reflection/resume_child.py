"""Run the reflection graph in a real process on a SQLite file; die mid-loop or resume.

Usage:
    python -m tests.reflection.resume_child start DB   # SIGKILLed while draft 2 is judged
    python -m tests.reflection.resume_child resume DB  # continues; prints JSON on stdout

The fakes answer from the prompt (the draft's number), so a resumed process can take
over at any node; they count their calls so the test sees that nothing finished is redone.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from agent_graphs.reflection.graph import build_graph
from checkpoints import open_saver
from tests.fakes import call, install

CONTEXT = {"critic_model": "fake:critic", "models": {"writer": "fake:writer"},
           "reflection_max_iterations": 4}
CONFIG = {"configurable": {"thread_id": "t-reflect"}}
SOURCES = [{"id": "d1", "text": "FY2025 revenue was $41.95 million, up 24%."}]
MODE = sys.argv[1] if __name__ == "__main__" else "resume"


def _draft_number(messages: list[BaseMessage]) -> int:
    found = re.search(r"<draft>\s*Draft (\d+)", messages[-1].text)
    return int(found.group(1)) if found else 0


def writer(messages: list[BaseMessage], bound: dict[str, Any]) -> str:
    """Draft n+1 after draft n."""
    return f"Draft {_draft_number(messages) + 1}: revenue was $41.95 million."


def critic(messages: list[BaseMessage], bound: dict[str, Any]) -> AIMessage:
    """Scores 0.5, 0.7, then approves draft 3; in the first process, dies at draft 2."""
    n = _draft_number(messages)
    if MODE == "start" and n == 2:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return call("Critique", issues=[] if n >= 3 else [f"weak draft {n}"], fixes=[],
                approved=n >= 3, score={1: 0.5, 2: 0.7}.get(n, 0.9))


def main() -> int:
    mode, db = sys.argv[1:3]
    fakes = install(fallbacks={"writer": writer, "critic": critic})
    with open_saver(db) as saver:
        graph = build_graph().compile(checkpointer=saver)
        payload = {"goal": "Summarize FY2025", "sources": SOURCES} if mode == "start" else None
        graph.invoke(payload, CONFIG, context=CONTEXT, durability="sync")
        values = graph.get_state(CONFIG).values
    print(json.dumps({"values": values, "writer_calls": len(fakes["writer"].calls),
                      "critic_calls": len(fakes["critic"].calls)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
