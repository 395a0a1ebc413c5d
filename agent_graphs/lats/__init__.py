"""LATS: a durable language-agent tree search (see ``graph.py``)."""
