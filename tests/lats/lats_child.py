"""Run or resume a LATS search over the Game of 24 on a SQLite file, in its own process.

Usage: ``python -m tests.lats.lats_child DB THREAD LOG [ROLE:N]``. Every model call is
appended to LOG (role and prompt, one JSON line) before it is answered; with ``ROLE:N``
the process SIGKILLs itself at that role's Nth call, before answering it. A thread that
has a checkpoint is resumed (``invoke(None)``), otherwise started. Prints the final
state's tree as JSON.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from agent_graphs.lats.graph import builder
from checkpoints import open_saver
from tests.fakes import install
from tests.lats.kit import context, g24_policy, g24_value

PUZZLE = {"goal": "Make 24", "env": "game24", "numbers": [1, 5, 5, 5]}
SETTINGS = {"lats_n_candidates": 3}


def logged(role: str, answer: Any, log: Path, kill: tuple[str, int] | None) -> Any:
    seen: Counter[str] = Counter()
    lock = threading.Lock()  # value calls come from parallel threads

    def fallback(messages: list[BaseMessage], bound: dict[str, Any]) -> Any:
        with lock:
            seen[role] += 1
            with log.open("a") as out:
                out.write(json.dumps({"role": role, "pid": os.getpid(),
                                      "prompt": messages[-1].text}) + "\n")
            if kill == (role, seen[role]):
                os.kill(os.getpid(), signal.SIGKILL)
        return answer(messages, bound)

    return fallback


def main() -> int:
    db, thread, log, *rest = sys.argv[1:]
    kill = None
    if rest:
        role, n = rest[0].split(":")
        kill = (role, int(n))
    folder = Path(db).parent
    install(fallbacks={"policy": logged("policy", g24_policy, Path(log), kill),
                       "value": logged("value", g24_value, Path(log), kill)})
    with open_saver(db) as saver:
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": thread}, "recursion_limit": 500}
        started = graph.get_state(config).values.get("tree")
        graph.invoke(None if started else PUZZLE, config,
                     context=context(folder, **SETTINGS), durability="sync")
        values = graph.get_state(config).values
    print(json.dumps({"status": values["status"], "final_answer": values["final_answer"],
                      "tree": values["tree"], "model_calls": values["model_calls"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
