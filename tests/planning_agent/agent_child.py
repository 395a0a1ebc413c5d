"""Run the planning agent in a real process on a SQLite file: start it, or resume it.

Usage:
    python -m tests.planning_agent.agent_child start DB GOAL OUTBOX
    python -m tests.planning_agent.agent_child resume DB DECISION OUTBOX

Prints one JSON object: the pending requests' kinds and tools, or the final values.
"""

from __future__ import annotations

import json
import sys

from langgraph.types import Command

from agent_graphs.planning_agent.graph import builder
from checkpoints import open_saver
from tests.fakes import install
from tests.planning_agent.contract import CONTEXT, FALLBACKS

CONFIG = {"configurable": {"thread_id": "t-agent"}, "recursion_limit": 500}


def main() -> int:
    mode, db, arg, outbox = sys.argv[1:5]
    install(fallbacks=FALLBACKS)
    context = {**CONTEXT, "approve_plan": True, "outbox": outbox, "workspace": "ws"}
    with open_saver(db) as saver:
        graph = builder.compile(checkpointer=saver)
        if mode == "start":
            graph.invoke({"goal": arg}, CONFIG, context=context, durability="sync")
        else:
            pending = graph.get_state(CONFIG).interrupts
            graph.invoke(Command(resume={i.id: arg for i in pending}), CONFIG,
                         context=context, durability="sync")
        state = graph.get_state(CONFIG)
        print(json.dumps({
            "waiting": [{"kind": i.value.get("kind"), "tool": i.value.get("tool")}
                         for i in state.interrupts],
            "values": state.values,
        }, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
