"""Sources a draft is written from: given by the caller, or found with the search tool."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import HumanMessage

from agent_graphs.context import Context
from agent_graphs.events import emit
from agent_graphs.figures import sorted_known
from agent_graphs.llm import ModelOutputError, forced_tool_call
from agent_graphs.models import chat_model
from agent_graphs.reflection import prompts
from agent_graphs.reflection.checks import UnsupportedNumbers
from agent_graphs.tooling import toolbox_for
from tools import ToolError
from tools.runner import spawn

__all__ = ["clean_sources", "parse_ahead", "parse_search", "search_sources", "sources_block"]

_DOC_HEAD = re.compile(r"\[(\d+)\] (.*?)(?: \((?:source: )?([^()]*)\))?$")


def sources_block(sources: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(
        f"<source id='{s['id']}'{(' from=' + repr(s['source'])) if s.get('source') else ''}>"
        f"{s['text']}</source>" for s in sources
    ) or "(none)"


def parse_ahead(sources: Sequence[Mapping[str, Any]], goal: str) -> None:
    """Parse the sources' figures on a worker thread while the writer drafts.

    The number check after the draft (``UnsupportedNumbers(allowed_text=goal)``: the goal
    counts as a source) reads their values, sorted, from ``figures.sorted_known``, and the
    planning agent's trace of each figure reads them from ``figures.figure_spans``;
    parsing a run's ~100 source figures takes 1-2 ms that would otherwise come after the
    model call instead of during it.
    """
    texts = UnsupportedNumbers(allowed_text=goal).texts(sources)

    def parse() -> None:
        try:
            sorted_known(texts)  # parses each text on the way (figure_spans keeps them)
        except Exception:  # noqa: BLE001 - only a head start: the check parses them itself
            pass

    if any(texts[:-1]):
        spawn(parse, name="figures")


def clean_sources(raw: Any) -> list[dict[str, Any]]:
    """Validate the input's sources; raise ValueError saying which one is wrong."""
    if not isinstance(raw, list):
        raise ValueError(f"sources must be a list of {{'id', 'text', 'source'}} objects, "
                         f"not {type(raw).__name__}")
    clean = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise ValueError(f"sources[{i}] needs a 'text' string, got {item!r:.120}")
        clean.append({"id": str(item.get("id") or f"s{i + 1}"), "text": item["text"],
                      "source": str(item.get("source") or "")})
    return clean


def parse_search(output: str) -> list[dict[str, Any]]:
    """Turn the search tool's listing ("[1] Title (source: file.md)\\nbody") into sources."""
    sources: list[dict[str, Any]] = []
    for part in re.split(r"\n\n(?=\[\d+\] )", output)[1:]:
        head, _, body = part.partition("\n")
        match = _DOC_HEAD.match(head.strip())
        origin = (match.group(3) or match.group(2)) if match else head.strip()
        sources.append({"id": f"d{len(sources) + 1}", "text": body.strip(),
                        "source": f"search: {origin}"})
    return sources


def search_sources(ctx: Context, goal: str, k: int) -> dict[str, Any]:
    """Let the writer pick a query, run the search tool, return the state update."""
    box = toolbox_for(ctx)
    usage: dict[str, int] = {}
    try:
        args, usage = forced_tool_call(
            chat_model(ctx, "writer"), box.get("search"),
            [HumanMessage(prompts.SEARCH_PROMPT.format(goal=goal))],
            check=lambda a: None if str(a.get("query", "")).strip() else "empty query",
        )
    except ModelOutputError:
        args = {"query": goal}  # the goal's own words still find the right documents
    args = {"query": str(args["query"]), "k": k}
    try:
        sources = parse_search(box.run("search", args, timeout=ctx.tool_timeout))
        error = ""
    except ToolError as err:
        sources, error = [], str(err)
    summary = (f"search {args['query']!r} failed: {error}" if error else
               f"found {len(sources)} source(s) for {args['query']!r}")
    emit("sources_gathered", query=args["query"], count=len(sources), error=error,
         sources=[s["source"] for s in sources], summary=summary)
    return {"sources": sources, "usage": usage, "model_calls": 1}
