"""Plugin for other processes (``AGENT_GRAPHS_MODEL_PLUGINS=tests.procs.case_models``):
every graph's contract-case models, by name (see tests/contracts.py)."""

from tests.contracts import register

register()
