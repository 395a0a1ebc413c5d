"""Full-text search over a folder of .md/.txt documents with SQLite FTS5.

Each folder is indexed once into an in-memory database and cached per resolved path;
the cache entry is rebuilt when a file is added, removed or modified, so building many
Toolboxes over the same corpus costs one ``stat`` per file per search.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import Field

BUNDLED_CORPUS = Path(__file__).parent / "corpus"
SUFFIXES = {".md", ".txt"}
FULL_BODY_MAX = 1200
"""Hits whose body is at most this many characters are shown whole: agents need the
figures, and a snippet may cut a table in half."""
MAX_QUERY_TERMS = 32

_STOPWORDS = frozenset(
    "a an and are as at be by did do does for from has have how in is it its of on or "
    "the their to was what when where which who why with".split()
)


@dataclass
class _Index:
    """One corpus loaded into an in-memory FTS5 table."""

    fingerprint: tuple[tuple[str, int, int], ...]
    db: sqlite3.Connection
    lock: threading.Lock = field(default_factory=threading.Lock)


_INDEXES: dict[Path, _Index] = {}
_INDEXES_LOCK = threading.Lock()


def _documents(folder: Path) -> list[Path]:
    """List the searchable files under ``folder``, in a stable order."""
    if not folder.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"corpus folder {folder} has no .md or .txt documents")
    return files


def _title_and_body(path: Path, text: str) -> tuple[str, str]:
    """Split a document into its title (first markdown heading, else file name) and body."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if match := re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line):
            return match.group(1), "\n".join(lines[:i] + lines[i + 1 :]).strip()
    return path.stem.replace("-", " ").replace("_", " "), text.strip()


def _build(folder: Path, files: list[Path], fingerprint: tuple) -> _Index:
    # check_same_thread=False: the Toolbox runs tools in worker threads; the index's
    # own lock serialises access to the connection.
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, filename, body, tokenize='porter unicode61')"
    )
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        title, body = _title_and_body(path, text)
        db.execute(
            "INSERT INTO docs (title, filename, body) VALUES (?, ?, ?)",
            (title, path.relative_to(folder).as_posix(), body),
        )
    db.commit()
    return _Index(fingerprint=fingerprint, db=db)


def corpus_index(corpus_dir: Path | None) -> _Index:
    """Return the cached index for ``corpus_dir`` (None = bundled), rebuilding if stale.

    Raises:
        FileNotFoundError: If the folder is missing or holds no documents.
    """
    folder = Path(corpus_dir or BUNDLED_CORPUS).resolve()
    files = _documents(folder)
    fingerprint = tuple(
        (p.relative_to(folder).as_posix(), p.stat().st_mtime_ns, p.stat().st_size) for p in files
    )
    with _INDEXES_LOCK:
        index = _INDEXES.get(folder)
        if index is None or index.fingerprint != fingerprint:
            index = _INDEXES[folder] = _build(folder, files, fingerprint)
        return index


def fts_query(text: str) -> str:
    """Turn free text into an FTS5 query that cannot be a syntax error.

    Every word becomes a quoted term and the terms are OR-ed, so bm25 ranks documents
    by how many (and how rare) terms they match. Each pair of neighbouring words is
    added as a quoted phrase too, so "Q1 2025" ranks the document about Q1 2025 above
    one that merely mentions Q1 and 2025. Common English words are dropped unless
    nothing else is left.

    Raises:
        ValueError: If the text contains no words at all.
    """
    words = re.findall(r"\w+", text.lower())
    if not words:
        raise ValueError(f"search query {text!r} contains no words to search for")
    useful = [w for w in words if w not in _STOPWORDS] or words
    terms = list(dict.fromkeys(useful))[:MAX_QUERY_TERMS]
    pairs = list(dict.fromkeys(f"{a} {b}" for a, b in zip(useful, useful[1:], strict=False)))
    # \w+ never yields a double quote, so quoting cannot be broken out of.
    return " OR ".join(f'"{t}"' for t in terms + pairs[:MAX_QUERY_TERMS])


def search_corpus(corpus_dir: Path | None, query: str, k: int = 3) -> str:
    """Search a corpus and format the best ``k`` hits for a model to read."""
    index = corpus_index(corpus_dir)
    with index.lock:
        rows = index.db.execute(
            # Title matches count most; snippet() reads from the body column (2).
            "SELECT title, filename, body, snippet(docs, 2, '', '', ' ... ', 40) "
            "FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 5.0, 1.0, 1.0) LIMIT ?",
            (fts_query(query), k),
        ).fetchall()
    if not rows:
        return f"No documents matched {query!r}. Try other words."
    parts = [f"Found {len(rows)} document(s) for {query!r}:"]
    for rank, (title, filename, body, snippet) in enumerate(rows, start=1):
        text = body if len(body) <= FULL_BODY_MAX else f"Excerpt: ...{snippet}..."
        parts.append(f"[{rank}] {title} ({filename})\n{text}")
    return "\n\n".join(parts)


def make_search_tool(*, corpus_dir: Path | None) -> BaseTool:
    """Build the ``search`` tool over ``corpus_dir`` (None = the bundled corpus)."""

    def search(query: str, k: Annotated[int, Field(ge=1, le=10)] = 3) -> str:
        """Search the company documents and return the best matching ones.

        Short documents are returned whole so their figures can be used directly;
        long ones as an excerpt around the matching words.

        Args:
            query: Free-text words to look for, e.g. "Q2 2026 total revenue".
            k: How many documents to return (1 to 10).
        """
        return search_corpus(corpus_dir, query, k)

    return StructuredTool.from_function(search, parse_docstring=True)
