"""``python -m agent_graphs.local_model supervise|serve ...``: the processes ensure_server starts.

See :mod:`agent_graphs.local_model.supervisor`; nobody is meant to run these by hand.
"""

import sys

from agent_graphs.local_model.supervisor import main

if __name__ == "__main__":
    sys.exit(main())
