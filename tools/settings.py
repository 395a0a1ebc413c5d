"""Where the tools read and write: workspace, corpus, outbox and SMTP settings.

Precedence for every field of :meth:`ToolSettings.from_env`: a value passed in > an
``AGENT_GRAPHS_*`` environment variable > the default. The variable names match
``agent_graphs.context.Context`` so one environment configures both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "AGENT_GRAPHS_"


@dataclass(kw_only=True)
class ToolSettings:
    """Settings the built-in tools close over."""

    workspace: Path
    """Folder that read_file and write_file are confined to; created on demand."""
    corpus_dir: Path | None
    """Folder of .md/.txt documents for search; None means the bundled corpus."""
    outbox: Path
    """JSON-lines file send_email appends to (and deduplicates against)."""
    smtp_host: str | None = None
    """SMTP server for real delivery; None keeps every email in the outbox."""
    smtp_port: int = 25
    """Port of the SMTP server."""
    smtp_from: str = "agent@localhost"
    """Sender address for emails delivered over SMTP."""

    def __post_init__(self) -> None:
        """Accept strings (say, from a config form) so the tools can rely on Paths."""
        self.workspace = Path(self.workspace)
        self.outbox = Path(self.outbox)
        if self.corpus_dir is not None and str(self.corpus_dir) != "":
            self.corpus_dir = Path(self.corpus_dir)
        else:
            self.corpus_dir = None
        self.smtp_port = int(self.smtp_port)

    @classmethod
    def from_env(cls, **overrides: Any) -> ToolSettings:
        """Build settings from keyword overrides, then the environment, then defaults.

        Reads ``AGENT_GRAPHS_SMTP_HOST``, ``AGENT_GRAPHS_SMTP_PORT`` and
        ``AGENT_GRAPHS_SMTP_FROM``, and also ``AGENT_GRAPHS_WORKSPACE``,
        ``AGENT_GRAPHS_CORPUS_DIR`` and ``AGENT_GRAPHS_OUTBOX`` (the names
        ``agent_graphs.context.Context`` uses). An override of ``None`` counts as
        "not given", like ``agent_graphs.context.context_from``.

        Args:
            **overrides: Field values that win over the environment.

        Returns:
            The resolved settings.

        Raises:
            TypeError: If an override names no field of ``ToolSettings``.
        """
        defaults: dict[str, Any] = {
            "workspace": "./workspace",
            "corpus_dir": None,
            "outbox": "./.agent_graphs/outbox.jsonl",
            "smtp_host": None,
            "smtp_port": 25,
            "smtp_from": "agent@localhost",
        }
        unknown = set(overrides) - set(defaults)
        if unknown:
            raise TypeError(f"unknown ToolSettings field(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for name, default in defaults.items():
            if overrides.get(name) is not None:
                values[name] = overrides[name]
                continue
            raw = os.environ.get(ENV_PREFIX + name.upper(), "")
            values[name] = raw if raw != "" else default
        return cls(**values)
