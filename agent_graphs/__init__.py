"""Durable planning patterns for LangGraph."""

from agent_graphs.threads import install as _install_threads

# Sync runs reuse worker threads instead of starting new ones every invoke (see threads).
_install_threads()
