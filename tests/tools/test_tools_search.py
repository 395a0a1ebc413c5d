"""search: FTS5 ranking, periods, AND-then-OR, snippets, query sanitising, user corpora."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from tools import search
from tools.search import find, fts_queries, make_search_tool, search_corpus


def _first_source(query: str) -> str:
    return find(None, query, k=3)[0].source


def test_bundled_corpus_ranks_the_quarter_asked_for_first() -> None:
    out = search_corpus(None, "Q1 2025 revenue", k=2)
    first = out.split("\n\n[2]")[0]
    assert "[1] Q1 2025 Sales Results (source: sales-q1-2025.md)" in first
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
    assert "[1] Long Doc (source: long.md)" in out
    assert "Excerpt: ..." in out and "zebra" in out
    assert len(out) < 1500
    assert "other.txt" not in out


def test_user_corpus_folder_titles_and_k(tmp_path: Path) -> None:
    (tmp_path / "alpha.md").write_text("# Alpha Report\n\nThe penguin count rose.\n")
    (tmp_path / "beta.txt").write_text("Penguins and more penguins, penguin penguin.\n")
    (tmp_path / "gamma.md").write_text("# Gamma\n\nAbout walruses.\n")
    out = search_corpus(tmp_path, "penguin", k=5)
    assert "Found 2 document(s)" in out
    assert "Alpha Report (source: alpha.md)" in out
    assert "beta (source: beta.txt)" in out  # no heading: the file name is the title
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
        fts_queries('?* "" ()')
    with pytest.raises(ValueError, match="no words"):
        search_corpus(None, "_ ** ^")


def test_fts_queries_go_from_every_term_to_any_word() -> None:
    period = '("q1 2025" OR "first quarter of 2025")'
    assert fts_queries("What was Acme's total revenue in Q1 2025?") == [
        [
            f'{period} AND "acme" AND "total" AND "revenue"',
            f'{period} AND ("acme" OR "total" OR "revenue")',
            period,
            f'{period} OR "acme" OR "total" OR "revenue"',
        ]
    ]
    # Hyphenated words are a phrase; the loosest query also takes their words alone.
    assert fts_queries("Asia-Pacific sales*") == [
        ['"asia pacific" AND "sales"*', '"asia pacific" OR "sales"* OR "asia" OR "pacific"']
    ]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Q1 2025", '"q1 2025"'),
        ("q1-2025", '"q1 2025"'),
        ("Q1 of 2025", '"q1 2025"'),
        ("Q1 FY2025", '"q1 2025"'),
        ("2025 Q1", '"q1 2025"'),
        ("2025-Q1", '"q1 2025"'),
        ("Q1'25", '"q1 2025"'),
        ("first quarter of 2025", '"q1 2025"'),
        ("4th quarter 2024", '"q4 2024"'),
        ("FY2025", '"fiscal year 2025"'),
        ("FY 25", '"fiscal year 2025"'),
        ("fiscal year 2024", '"fiscal year 2024"'),
        ("H1 2026", '"first half of 2026"'),
        ("first half of 2026", '"h1 2026"'),
    ],
)
def test_periods_are_recognised_however_they_are_written(text: str, phrase: str) -> None:
    [[query]] = fts_queries(text)
    assert phrase in query
    assert " AND " not in query  # the period's own words are not searched again


def test_a_question_naming_two_periods_is_searched_once_per_period() -> None:
    plans = fts_queries("revenue in Q1 and Q2 2025, and in FY2024")
    assert [tiers[0].split(" AND ")[0] for tiers in plans] == [
        '("q1 2025" OR "first quarter of 2025")',
        '("q2 2025" OR "second quarter of 2025")',
        '("fiscal year 2024" OR "fy 2024" OR "fy2024")',
    ]


@pytest.mark.parametrize(
    "query",
    [
        "Acme total revenue Q1 2025",
        "Q1 2025 revenue",
        "What was Acme's total revenue in Q1 2025?",
        "Find Acme's total revenue in Q1 2025",
        "total revenue for the first quarter of 2025",
        "Acme 2025-Q1 revenue",
        "Q1'25 sales",
    ],
)
def test_q1_2025_questions_rank_the_q1_2025_report_first(query: str) -> None:
    # The Q2 2026 documents say "revenue" and "total" more often; the period decides.
    out = search_corpus(None, query, k=3)
    first = out.split("\n\n[2]")[0]
    assert "[1] Q1 2025 Sales Results (source: sales-q1-2025.md)" in first
    assert "Total revenue: $9.20 million" in first


@pytest.mark.parametrize(
    ("query", "source", "figure"),
    [
        ("revenue in Q2 2026", "sales-q2-2026.md", "$13.00 million"),
        ("What was the total revenue in the second quarter of 2026?", "sales-q2-2026.md",
         "$13.00 million"),
        ("Acme total revenue Q4 2024", "sales-q4-2024.md", "$9.45 million"),
        ("What was Acme Cloud revenue in the third quarter of 2024?", "sales-q3-2024.md",
         "Acme Cloud: $2.70 million"),
        ("FY2025 total revenue", "sales-fy-2025-summary.md", "$41.95 million"),
    ],
)
def test_period_questions_rank_that_periods_document_first(
    query: str, source: str, figure: str
) -> None:
    [hit, *_] = find(None, query, k=3)
    assert hit.source == source
    assert figure in hit.body


def test_the_demo_goal_as_one_query_finds_both_quarters() -> None:
    goal = "Find Acme's total revenue in Q1 2025 and in Q2 2026, then compute the growth in percent."
    out = search_corpus(None, goal, k=3)
    assert [h.source for h in find(None, goal, k=2)] == ["sales-q1-2025.md", "sales-q2-2026.md"]
    assert "$9.20 million" in out and "$13.00 million" in out


def test_every_word_must_match_first_then_any_word(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nPenguins live in the south, far from the sea ice.\n")
    (tmp_path / "b.md").write_text("# B\n\nWalruses live in the north. Walruses, walruses.\n")
    (tmp_path / "c.md").write_text("# C\n\nAbout otters.\n")
    # No document has both words: the AND query finds nothing, the OR query both.
    out = search_corpus(tmp_path, "penguins walruses", k=3)
    assert "Found 2 document(s)" in out and "a.md" in out and "b.md" in out
    # Once one does, it comes first even though b.md says "walruses" more often.
    (tmp_path / "c.md").write_text("# C\n\nPenguins met walruses.\n")
    assert [h.source for h in find(tmp_path, "penguins walruses", k=3)][0] == "c.md"


def test_a_document_naming_the_period_beats_one_that_only_has_the_words(tmp_path: Path) -> None:
    (tmp_path / "later.md").write_text(
        "# Later\n\nTotal revenue was up; total revenue grew; revenue, revenue, revenue.\n"
    )
    (tmp_path / "q1.md").write_text("# Notes\n\nIn Q1 2025 the figure was $9.20 million.\n")
    assert [h.source for h in find(tmp_path, "total revenue Q1 2025", k=2)] == ["q1.md", "later.md"]


def test_each_hit_names_its_source_document() -> None:
    out = search_corpus(None, "Acme Cloud Pro price compared with Globex Professional", k=3)
    headers = re.findall(r"^\[\d+\] .*$", out, re.M)
    assert len(headers) == 3
    for header in headers:
        source = re.fullmatch(r"\[\d+\] .+ \(source: ([\w./-]+)\)", header)
        assert source and (search.BUNDLED_CORPUS / source[1]).is_file()


def test_a_long_documents_excerpt_holds_the_figure_next_to_the_period(tmp_path: Path) -> None:
    filler = " ".join(f"word{i}" for i in range(300))
    (tmp_path / "annual.md").write_text(
        f"# Annual Report\n\n{filler}\n\nRevenue by quarter is audited and covers every "
        f"region and product line the company reports, after returns. Q4 2024: $9.45 million."
        f"\n\n{filler}\n"
    )
    out = search_corpus(tmp_path, "Q4 2024 total revenue", k=1)
    assert "Excerpt: " in out and "Q4 2024: $9.45 million" in out
    assert len(out) < 1000


def test_a_trailing_star_searches_a_prefix() -> None:
    assert fts_queries("warrant*") == [['"warrant"*']]
    assert "warranty-and-returns.md" in search_corpus(None, "warrant*", k=3)


def test_random_fts_syntax_never_raises_anything_but_no_words() -> None:
    parts = ['"', "*", "(", ")", ":", "^", "-", "+", "AND", "OR", "NOT", "NEAR", "Q1", "2025",
             "'", "{", "}", ",", ".", "title", "revenue", "_", "'s", "FY", "Q4'24", "/"]
    rng = random.Random(15)
    for _ in range(300):
        query = "".join(rng.choice(parts) + rng.choice(["", " "]) for _ in range(rng.randint(1, 8)))
        try:
            out = search_corpus(None, query)
        except ValueError as exc:
            assert "no words" in str(exc), query
        else:
            assert out.startswith(("Found", "No documents matched")), query


@pytest.mark.parametrize("name", ["sales-q3-2024.md", "sales-q4-2024.md", "sales-q1-2025.md",
                                  "sales-q2-2025.md", "sales-q3-2025.md", "sales-q4-2025.md",
                                  "sales-q1-2026.md", "sales-q2-2026.md"])
def test_quarterly_reports_add_up(name: str) -> None:
    text = (search.BUNDLED_CORPUS / name).read_text()
    total = float(re.search(r"Total revenue: \$([\d.]+) million", text)[1])  # type: ignore[index]
    lines = re.findall(r"^- ([\w -]+): \$([\d.]+) million$", text, re.M)
    products = {k: float(v) for k, v in lines if k in ("Sensors", "Acme Cloud", "Services")}
    regions = {k: float(v) for k, v in lines if k in ("North America", "Europe", "Asia-Pacific")}
    assert len(products) == 3 and len(regions) == 3
    assert round(sum(products.values()), 2) == total
    assert round(sum(regions.values()), 2) == total


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
