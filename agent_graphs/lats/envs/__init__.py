"""Environments the LATS search runs over (see ``base.Environment``).

``corpus``: question answering with the run's tools; ``code``: programs judged by tests
in a subprocess; ``game24``: a puzzle verified exactly. Imported lazily, so the benchmark
can use the Game of 24 without LangChain's tool stack.
"""

from __future__ import annotations

import importlib
from typing import Any

ENVIRONMENTS = {
    "corpus": ("agent_graphs.lats.envs.corpus", "Corpus"),
    "code": ("agent_graphs.lats.envs.code", "Code"),
    "game24": ("agent_graphs.lats.envs.game24", "Game24"),
}
"""Environment name -> (module, class)."""


def get_env(name: str) -> Any:
    """Return the environment called ``name`` (ValueError naming the known ones)."""
    if name not in ENVIRONMENTS:
        raise ValueError(f"unknown env {name!r}; use one of: {', '.join(ENVIRONMENTS)}")
    module, cls = ENVIRONMENTS[name]
    return getattr(importlib.import_module(module), cls)()
