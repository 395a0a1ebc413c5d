"""Command-line flags generated from ``Context``: one flag per field, its description as
help, its type from the annotation. A field added to Context is a flag with no more code.
"""

from __future__ import annotations

import argparse
import json
import typing
from dataclasses import fields
from typing import Any, Literal

from agent_graphs.context import ROLE_FIELDS, Context

__all__ = ["add_context_flags", "context_overrides"]

_ALIASES = {"corpus_dir": ("--corpus",)}
"""Older or shorter spellings kept working."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_context_flags(parser: argparse.ArgumentParser) -> None:
    """Add a flag for every Context field (default None: not given)."""
    group = parser.add_argument_group(
        "settings", "override the run's Context (each also reads AGENT_GRAPHS_<NAME>)")
    hints = typing.get_type_hints(Context)
    for f in fields(Context):
        kind = hints[f.name]
        names = (_flag(f.name), *_ALIASES.get(f.name, ()))
        options: dict[str, Any] = {"dest": f.name, "default": None,
                                   "help": f.metadata.get("description", "")}
        if kind is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is Literal:
            options["choices"] = typing.get_args(kind)
        elif typing.get_origin(kind) is dict:
            options |= {"type": json.loads, "metavar": "JSON"}
        else:
            options |= {"type": kind, "metavar": f.name.upper()}
        group.add_argument(*names, **options)


def context_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Return the Context values given on the command line.

    ``--model`` also sets every role that has its own field and was not given, so it
    beats role models stored with a thread that is being resumed.
    """
    values = {f.name: getattr(args, f.name) for f in fields(Context)
              if getattr(args, f.name, None) is not None}
    if "model" in values:
        for role in ROLE_FIELDS:
            values.setdefault(f"{role}_model", values["model"])
    return values
