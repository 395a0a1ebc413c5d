"""search: FTS5 ranking, snippets, query sanitising and user corpus folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import search
from tools.search import fts_query, make_search_tool, search_corpus


def test_bundled_corpus_ranks_the_quarter_asked_for_first() -> None:
    out = search_corpus(None, "Q1 2025 revenue", k=2)
    first = out.split("\n\n[2]")[0]
    assert "[1] Q1 2025 Sales Results (sales-q1-2025.md)" in first
    # Short documents come back whole, so the figures are there to compute with.
    assert "Total revenue: $9.20 million" in first


def test_bundled_corpus_answers_the_demo_questions() -> None:
    assert "$13.00 million" in search_corpus(None, "Q2 2026 total revenue", k=1)
    prices = search_corpus(None, "Acme Cloud Pro price compared with Globex Professional")
    assert "$199" in prices and "$249" in prices
    assert "elena.vasquez@acme.example" in search_corpus(None, "VP of Sales email", k=2)


def test_porter_stemming_matches_other_word_forms() -> None:
    assert "warranty-and-returns.md" in search_corpus(None, "returned units", k=3)


def test_long_documents_come_back_as_snippets(tmp_path: Path) -> None:
    filler = " ".join(f"word{i}" for i in range(400))
    (tmp_path / "long.md").write_text(f"# Long Doc\n\n{filler} zebra {filler}\n")
    (tmp_path / "other.txt").write_text("nothing to see here\n")
    out = search_corpus(tmp_path, "zebra", k=3)
    assert "[1] Long Doc (long.md)" in out
    assert "Excerpt: ..." in out and "zebra" in out
    assert len(out) < 1500
    assert "other.txt" not in out


def test_user_corpus_folder_titles_and_k(tmp_path: Path) -> None:
    (tmp_path / "alpha.md").write_text("# Alpha Report\n\nThe penguin count rose.\n")
    (tmp_path / "beta.txt").write_text("Penguins and more penguins, penguin penguin.\n")
    (tmp_path / "gamma.md").write_text("# Gamma\n\nAbout walruses.\n")
    out = search_corpus(tmp_path, "penguin", k=5)
    assert "Found 2 document(s)" in out
    assert "Alpha Report (alpha.md)" in out
    assert "beta (beta.txt)" in out  # no heading: the file name is the title
    assert "gamma" not in out.lower()
    assert search_corpus(tmp_path, "penguin", k=1).count("\n[") == 1


def test_no_hits_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nApples.\n")
    assert search_corpus(tmp_path, "xylophone").startswith("No documents matched")


@pytest.mark.parametrize(
    "query",
    ['Q3 "revenue"?* AND (', "NOT", "OR OR", "title:revenue", "rev* ^q3", 'a"b', "NEAR(x y)"],
)
def test_fts_syntax_in_queries_cannot_break_the_search(query: str) -> None:
    out = search_corpus(None, query)
    assert out.startswith(("Found", "No documents matched"))


def test_odd_query_still_finds_the_words() -> None:
    assert "sales-q3-2025.md" in search_corpus(None, 'Q3 "revenue"?* AND (', k=3)


def test_query_without_words_is_an_error() -> None:
    with pytest.raises(ValueError, match="no words"):
        fts_query('?* "" ()')


def test_fts_query_quotes_terms_and_neighbour_pairs() -> None:
    assert fts_query("the Q1 2025 revenue") == (
        '"q1" OR "2025" OR "revenue" OR "q1 2025" OR "2025 revenue"'
    )


def test_missing_or_empty_corpus_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found"):
        search_corpus(tmp_path / "nope", "x")
    with pytest.raises(FileNotFoundError, match="no .md or .txt"):
        search_corpus(tmp_path, "x")


def test_index_is_cached_until_a_file_changes(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("# A\n\nOtters.\n")
    first = search.corpus_index(tmp_path)
    assert search.corpus_index(tmp_path) is first
    doc.write_text("# A\n\nBeavers build dams.\n")
    assert search.corpus_index(tmp_path) is not first
    assert "Beavers" in search_corpus(tmp_path, "beavers")


def test_tool_schema_bounds_k() -> None:
    tool = make_search_tool(corpus_dir=None)
    assert tool.name == "search"
    props = tool.tool_call_schema.model_json_schema()["properties"]
    assert props["k"]["maximum"] == 10 and props["k"]["default"] == 3
