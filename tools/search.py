"""Full-text search over a folder of .md/.txt documents with SQLite FTS5.

Each folder is indexed once into an in-memory database and cached per resolved path;
the cache entry is rebuilt when a file is added, removed or modified, so building many
Toolboxes over the same corpus costs one ``stat`` per file per search.

A question becomes FTS5 queries (``fts_queries``): the periods it names ("Q1 2025",
"first quarter of 2025", "2025 Q1", "FY2025", "H1 2026") are recognised and matched as
the phrases documents use, the other words as quoted terms. Every term must match
first; if that finds too little, the period must match plus any other word, then the
period alone, then any word at all. bm25 ranks within each try, a title or file-name
match above a body match. A question naming two periods is searched once per period
and the hits interleaved, so "revenue in Q1 2025 and Q2 2026" returns both reports.
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

SNIPPET_TOKENS = 64
"""Width of an excerpt in tokens (FTS5's maximum): wide enough that a figure written a
few words after the matched period ("Q4 2024 ... was $9.45 million") is inside it."""
TITLE_WEIGHT = 10.0
FILENAME_WEIGHT = 5.0
"""bm25 column weights (the body counts 1): a quarter's own report names the quarter in
its title and file name, while other documents only mention it in passing."""

# Common English words, and the verbs of an instruction ("find ... then compute"), which
# say what to do with a fact rather than which document holds it.
_STOPWORDS = frozenset(
    "a about all also an and any are as at be both by can could did do does each for from "
    "get give has have how i in is it its many me much my of on or our please show tell than "
    "that the their then there these this those to us was we were what when where which "
    "who whom why will with would you "
    "calculate compute determine find look lookup retrieve search".split()
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


_YEAR = r"(?P<year>(?:19|20)\d\d)"
_FY = r"(?:fy\s*|fiscal\s+year\s+)?"
_ORDINAL_WORD = ("first", "second", "third", "fourth")
_ORDINAL = {w: n for n, w in enumerate(_ORDINAL_WORD, 1)} | {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4}
_PERIOD_PATTERNS = tuple(
    (re.compile(pattern, re.IGNORECASE), kind)
    for pattern, kind in (
        # Q1 2025, Q1-2025, Q1/2025, Q1 of 2025, Q1 FY2025
        (rf"\bq(?P<n>[1-4])\s*(?:[-/]\s*|of\s+)?{_FY}{_YEAR}\b", "q"),
        # 2025 Q1, 2025-Q1
        (rf"\b{_YEAR}\s*[-/]?\s*q(?P<n>[1-4])\b", "q"),
        # Q1'25
        (r"\bq(?P<n>[1-4])\s*['\u2019](?P<yy>\d\d)\b", "q"),
        # first quarter of 2025, 3rd quarter 2024
        (rf"\b(?P<word>{'|'.join(_ORDINAL)})\s+quarter\s+(?:of\s+)?{_FY}{_YEAR}\b", "q"),
        # H1 2026, first half of 2026
        (rf"\b(?:h(?P<n>[12])|(?P<word>first|second)\s+half\s+(?:of\s+)?)\s*{_YEAR}\b", "h"),
        # FY2025, FY 2025, FY25, fiscal year 2025, fiscal 2025
        (rf"\b(?:fy\s*[-'\u2019]?\s*|fiscal\s+(?:year\s+)?)(?:{_YEAR}|(?P<yy>\d\d))\b", "fy"),
    )
)


def _period_phrase(kind: str, match: re.Match[str]) -> str:
    """Write the FTS5 expression for one recognised period, in the ways documents write it."""
    groups = match.groupdict()
    year = groups.get("year") or f"20{groups['yy']}"
    if kind == "fy":
        return f'("fiscal year {year}" OR "fy {year}" OR "fy{year}")'
    n = int(groups["n"]) if groups.get("n") else _ORDINAL[groups["word"].lower()]
    if kind == "h":
        return f'("h{n} {year}" OR "{_ORDINAL_WORD[n - 1]} half of {year}")'
    return f'("q{n} {year}" OR "{_ORDINAL_WORD[n - 1]} quarter of {year}")'


_SHARED_YEAR = re.compile(
    r"\b(q[1-4](?:\s*(?:,|and|&|or|vs\.?|versus|/)?\s*q[1-4])+)\s+((?:19|20)\d\d)\b", re.IGNORECASE
)


def _periods(text: str) -> tuple[list[str], str]:
    """Find the periods a question names; return their expressions and the rest of the text."""
    # "Q1 and Q2 2025" names two quarters of 2025: give each its year before matching.
    text = _SHARED_YEAR.sub(
        lambda m: " and ".join(f"{q} {m[2]}" for q in re.findall(r"q[1-4]", m[1], re.I)), text
    )
    found: list[tuple[int, str]] = []
    for pattern, kind in _PERIOD_PATTERNS:

        def take(match: re.Match[str], kind: str = kind) -> str:
            found.append((match.start(), _period_phrase(kind, match)))
            # Blank it out (same length keeps later positions true): a period counts once,
            # not again as loose words.
            return " " * len(match[0])

        text = pattern.sub(take, text)
    # k is at most 10, so more periods than that could never all be shown.
    return list(dict.fromkeys(phrase for _, phrase in sorted(found)))[:10], text


def period_keys(text: str) -> list[str]:
    """Name the periods ``text`` mentions, the same way however written: ``q1 2025``,
    ``h1 2026``, ``fy 2025`` (so a check can tell which quarter a figure belongs to)."""
    text = _SHARED_YEAR.sub(
        lambda m: " and ".join(f"{q} {m[2]}" for q in re.findall(r"q[1-4]", m[1], re.I)), text
    )
    found: list[tuple[int, str]] = []
    for pattern, kind in _PERIOD_PATTERNS:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            year = groups.get("year") or f"20{groups['yy']}"
            if kind == "fy":
                found.append((match.start(), f"fy {year}"))
                continue
            n = int(groups["n"]) if groups.get("n") else _ORDINAL[groups["word"].lower()]
            found.append((match.start(), f"{kind}{n} {year}"))
    return list(dict.fromkeys(key for _, key in sorted(found)))


def _useful(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in _STOPWORDS and (len(t) > 1 or t.isdigit())]


def _terms(text: str) -> tuple[list[str], list[str]]:
    """Quote the words that are not periods as FTS5 terms.

    Returns the terms (a hyphenated or dotted chunk such as "Asia-Pacific" or "$9.20" is
    one phrase; a trailing * asks for a prefix) and the single words inside those
    phrases, which the loosest query also accepts on their own ("title:revenue").
    """
    text = re.sub(r"['\u2019]s\b", "", text)  # "Acme's" is about Acme
    terms: list[str] = []
    words: list[str] = []
    for chunk in text.split():
        # Letters and digits only, so no FTS5 syntax can survive inside the quotes.
        tokens = re.findall(r"[^\W_]+", chunk.lower())
        if not _useful(tokens):
            continue
        term = f'"{" ".join(tokens)}"'
        terms.append(f"{term}*" if chunk.endswith("*") and len(tokens[-1]) > 1 else term)
        if len(tokens) > 1:
            words += [f'"{t}"' for t in _useful(tokens)]
    terms = list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]
    return terms, [w for w in dict.fromkeys(words) if w not in terms][:MAX_QUERY_TERMS]


def fts_queries(text: str) -> list[list[str]]:
    """Turn free text into FTS5 queries that cannot be a syntax error.

    Returns one list per period the text names (one list when it names none or one),
    each holding queries from strictest to loosest: every term must match; the period
    must match and any other term; the period alone (a document that never names the
    period cannot hold its figure); any period, term or word at all. The caller runs them
    in order until it has enough hits, and interleaves the lists so that every period
    asked for is found.

    Raises:
        ValueError: If the text contains no words at all.
    """
    periods, rest = _periods(text)
    terms, words = _terms(rest)
    if not periods and not terms:
        # Only common words ("what is it"): search for them rather than for nothing.
        terms = list(dict.fromkeys(f'"{t}"' for t in re.findall(r"[^\W_]+", text.lower())))
        if not terms:
            raise ValueError(f"search query {text!r} contains no words to search for")
        terms = terms[:MAX_QUERY_TERMS]
    any_word = " OR ".join(terms + words)
    if not periods:
        return [list(dict.fromkeys([" AND ".join(terms), any_word]))]
    if not terms:
        return [[period] for period in periods]
    return [
        [
            " AND ".join([period, *terms]),
            f"{period} AND ({' OR '.join(terms)})",
            period,
            f"{period} OR {any_word}",
        ]
        for period in periods
    ]


@dataclass(frozen=True)
class Hit:
    """One matching document, as the search tool shows it."""

    title: str
    source: str
    """The document's path inside the corpus folder, e.g. ``sales-q1-2025.md``."""
    body: str
    excerpt: str
    """FTS5's best window of the body around the matched words."""


def _run(index: _Index, query: str, limit: int) -> list[Hit]:
    rows = index.db.execute(
        # snippet() reads from the body column (2); bm25 weighs a title match most and a
        # file-name match ("sales-q1-2025.md" holds the phrase "q1 2025") next.
        f"SELECT title, filename, body, snippet(docs, 2, '', '', '...', {SNIPPET_TOKENS}) "
        f"FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, {TITLE_WEIGHT}, {FILENAME_WEIGHT}, 1.0) "
        "LIMIT ?",
        (query, limit),
    ).fetchall()
    return [Hit(*row) for row in rows]


def find(corpus_dir: Path | None, query: str, k: int = 3) -> list[Hit]:
    """Return the best ``k`` documents for ``query``, strict matches first.

    Raises:
        FileNotFoundError: If the corpus folder is missing or holds no documents.
        ValueError: If the query contains no words.
    """
    plans = fts_queries(query)
    index = corpus_index(corpus_dir)
    per_period: list[list[Hit]] = []
    with index.lock:
        for tiers in plans:
            found: dict[str, Hit] = {}
            for tier in tiers:
                for hit in _run(index, tier, k + len(found)):
                    found.setdefault(hit.source, hit)
                if len(found) >= k:
                    break
            per_period.append(list(found.values())[:k])
    # One question naming two periods is two look-ups: take the best of each in turn.
    merged: dict[str, Hit] = {}
    for rank in range(k):
        for hits in per_period:
            if rank < len(hits):
                merged.setdefault(hits[rank].source, hits[rank])
    return list(merged.values())[:k]


def search_corpus(corpus_dir: Path | None, query: str, k: int = 3) -> str:
    """Search a corpus and format the best ``k`` hits for a model to read."""
    hits = find(corpus_dir, query, k)
    if not hits:
        return f"No documents matched {query!r}. Try other words."
    parts = [f"Found {len(hits)} document(s) for {query!r}:"]
    for rank, hit in enumerate(hits, start=1):
        text = hit.body if len(hit.body) <= FULL_BODY_MAX else f"Excerpt: {hit.excerpt}"
        parts.append(f"[{rank}] {hit.title} (source: {hit.source})\n{text}")
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
