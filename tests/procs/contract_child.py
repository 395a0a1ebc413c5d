"""Run the real CLI in a child process with a graph's contract-case models installed.

Usage: python -m tests.procs.contract_child GRAPH CASE -- CLI ARGS...
"""

from __future__ import annotations

import sys

from agent_graphs import cli
from tests.contracts import case
from tests.fakes import install


def main() -> int:
    graph_id, name, sep, *argv = sys.argv[1:]
    assert sep == "--", "usage: contract_child GRAPH CASE -- ARGS"
    install(fallbacks=case(graph_id, name)["fallbacks"])
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
