"""The external checks on their own: word limit, required facts, JSON, Python tests,
unsupported numbers, and the settings that switch the built-in ones on."""

from __future__ import annotations

import os
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from agent_graphs.context import Context
from agent_graphs.reflection.checks import (
    Check,
    JsonMatches,
    PythonTests,
    RequiredFacts,
    UnsupportedNumbers,
    WordLimit,
    goal_word_limit,
    run_checks,
    settings_checks,
)
from agent_graphs.figures import figures
from agent_graphs.reflection.settings import (
    ReflectionSettings,
    reflection_settings,
)

FY = ("Total revenue for fiscal year 2025: $41.95 million, up 24% from $33.8 million. "
      "Q1 2025 $9.20 million. Sensor units sold: 66,700. Paying customers: 1,240. "
      "Net revenue retention 118%.")
SOURCES = [{"id": "d1", "text": FY, "source": "sales.md"}]


def test_word_limit_and_the_goal_limit():
    assert WordLimit(max_words=3).run("one two three", []).passed
    result = WordLimit(max_words=3).run("one two three four - !", [])
    assert not result.passed and "4 words, over the limit of 3: cut 1" in result.detail
    assert not WordLimit(max_words=9, min_words=5).run("one two", []).passed
    assert goal_word_limit("Write a 100-word summary") == 110
    assert goal_word_limit("Summarize it in 50 words") == 55
    assert goal_word_limit("Summarize it") is None


def test_required_facts_ignore_case_and_spacing():
    check = RequiredFacts(("$41.95 million", "VibeSense  V2"))
    assert check.run("Revenue $41.95 Million after the vibesense v2 launch.", []).passed
    result = check.run("Revenue $41.95 million.", [])
    assert not result.passed and "'VibeSense  V2'" in result.detail


class Summary(BaseModel):
    title: str
    revenue_musd: float


def test_json_against_a_pydantic_model_and_a_schema():
    check = JsonMatches(Summary)
    assert check.run('```json\n{"title": "FY2025", "revenue_musd": 41.95}\n```', []).passed
    bad = check.run('{"title": "FY2025"}', [])
    assert not bad.passed and "revenue_musd: Field required" in bad.detail
    assert "not valid JSON" in check.run("Revenue was high.", []).detail

    schema = {"type": "object", "required": ["title", "tags"], "additionalProperties": False,
              "properties": {"title": {"type": "string", "maxLength": 10},
                             "tags": {"type": "array", "items": {"enum": ["a", "b"]}}}}
    assert JsonMatches(schema).run('{"title": "ok", "tags": ["a"]}', []).passed
    result = JsonMatches(schema).run('{"title": "far too long!", "tags": ["c"], "x": 1}', [])
    assert not result.passed
    assert "$.title: maxLength is 10" in result.detail and "unexpected 'x'" in result.detail
    assert "$.tags[0]: must be one of" in result.detail
    with pytest.raises(ValueError, match="unsupported JSON schema keywords"):
        JsonMatches({"type": "object", "patternProperties": {}})


CODE = "```python\ndef add(a, b):\n    return a + b\n```"


def test_python_tests_run_in_a_subprocess_and_report_failures(tmp_path: Path):
    tests = "assert add(2, 3) == 5\n\ndef test_negative():\n    assert add(-1, -1) == -2\n"
    assert PythonTests(tests).run(CODE, []).passed
    wrong = PythonTests(tests).run(CODE.replace("a + b", "a - b"), [])
    assert not wrong.passed and "AssertionError" in wrong.detail
    # never in-process: the code sees another process id and cannot touch this one
    marker = tmp_path / "pid.txt"
    spy = PythonTests(f"open({str(marker)!r}, 'w').write(str(__import__('os').getpid()))")
    assert spy.run("x = 1", []).passed
    assert int(marker.read_text()) != os.getpid()


def test_python_tests_are_killed_at_the_timeout(tmp_path: Path):
    # The code starts a grandchild (sharing its output pipe) that would write a file
    # later, waits until it runs, then loops forever. If only the child were killed, the
    # check would wait for the pipe to close, i.e. for the grandchild to write the file.
    started, late = tmp_path / "started.txt", tmp_path / "late.txt"
    grandchild = (f"import time; open({str(started)!r}, 'w').write('x'); time.sleep(6); "
                  f"open({str(late)!r}, 'w').write('x')")
    code = textwrap.dedent(f"""
        import os, subprocess, sys
        subprocess.Popen([sys.executable, "-c", {grandchild!r}])
        while not os.path.exists({str(started)!r}):
            pass
        while True:
            pass
    """)
    result = PythonTests("", timeout=3).run(code, [])
    assert not result.passed and "did not finish within 3 s" in result.detail
    assert started.exists() and not late.exists()


@pytest.mark.parametrize("draft", [
    "Revenue was $41.95 million, up 24%.",
    "Revenue of $41.95M (41.950 million) in FY2025, Q1 at 9.2, 9.20 and $9,200,000.",
    "Revenue reached $42 million; about $41.9 million; 66,700 units; 1,240 customers.",
    "In 2025 the three product lines and 12 months gave 118% retention in Q4.",
])
def test_supported_numbers_pass_whatever_their_format(draft):
    result = UnsupportedNumbers(allowed_text="FY2025 results").run(draft, SOURCES)
    assert result.passed, result.detail


@pytest.mark.parametrize("draft, flagged", [
    ("Revenue grew 41.3% to $45 million.", ["41.3%", "$45 million"]),
    ("Revenue was $40 million in 2031.", ["$40 million", "2031"]),
    ("There were 1,234 customers and 13 partners.", ["1,234", "13"]),
])
def test_unsupported_numbers_are_flagged(draft, flagged):
    result = UnsupportedNumbers().run(draft, SOURCES)
    assert not result.passed
    assert all(f in result.detail for f in flagged), result.detail


def test_the_check_decides_as_the_shared_rule_on_every_figure():
    """The check compares each figure only with the source values near it (bisection):
    it must flag exactly what the rule flags comparing every source value, rounding edges
    too."""
    import random

    from agent_graphs.figures import checked, known_values, supported

    def unsupported_figures(draft: str, texts: list[str]) -> tuple[int, list[str]]:
        known = known_values(texts)  # every value, compared one by one
        figs = [f for f in figures(draft) if checked(f)]
        flagged = [f.text for f in figs if not supported(f, known)]
        return len(figs), list(dict.fromkeys(flagged))

    rng = random.Random(7)
    forms = ["{:.2f}", "${:.2f} million", "{:.1f}%", "${:,.0f}", "{:.0f}", "${:.3f}M",
             "{:.1f} percent", "{:.0f}k"]

    def number() -> str:
        value = rng.choice([rng.uniform(0, 20), rng.uniform(0, 1000), rng.uniform(0, 5e6)])
        return rng.choice(forms).format(value)

    for _ in range(200):
        sources = [{"id": f"d{i}", "text": " ".join(number() for _ in range(8))}
                   for i in range(3)]
        texts = [s["text"] for s in sources]
        # drafts made of source figures (exact, rounded) and new ones
        picked = [f.text for t in texts for f in figures(t)]
        draft = " and ".join(rng.sample(picked, 4) + [number() for _ in range(4)]
                             + [f"{float(str(f.digits)):.1f}" for t in texts[:1]
                                for f in figures(t)[:3]])
        count, flagged = unsupported_figures(draft, [*texts, "FY2025"])
        result = UnsupportedNumbers(allowed_text="FY2025").run(draft, sources)
        assert result.passed == (not flagged), (draft, texts, result.detail)
        if flagged:
            assert result.detail.startswith(f"numbers found in no source: {', '.join(flagged)};")
        else:
            assert result.detail == f"all {count} numbers found in the sources"


def test_numbers_parse_formats_and_labels():
    found = {f.text: f for f in figures("$9.20M, 41.3%, 1,234, 5bn, Q4, FY2025, 24th, 3")}
    assert found["$9.20M"].value == 9_200_000 and found["41.3%"].value == Decimal("41.3")
    assert found["1,234"].value == 1234 and found["5bn"].value == 5_000_000_000
    assert found["4"].label and found["2025"].label and found["24th"].label
    assert found["3"].bare_int and not found["$9.20M"].bare_int


def test_no_sources_skips_the_number_check():
    result = UnsupportedNumbers().run("Revenue was $45 million.", [])
    assert result.passed and "skipped" in result.detail


class Exploding:
    name = "exploding"

    def run(self, draft, sources):
        raise RuntimeError("boom")


def test_a_check_that_raises_counts_as_failed():
    assert isinstance(Exploding(), Check)
    (result,) = run_checks([Exploding()], "text", [])
    assert result == {"name": "exploding", "passed": False,
                      "detail": "the check itself failed: RuntimeError: boom"}


def test_settings_switch_the_builtin_checks_on():
    ctx = Context(reflection_required_facts=["$41.95 million"])
    checks = settings_checks(reflection_settings(ctx), "Write a 100-word summary")
    assert [c.name for c in checks] == ["word_limit", "required_facts", "unsupported_numbers"]
    assert checks[0].max_words == 110
    off = Context(reflection_checks="unsupported_numbers", reflection_word_limit=20)
    assert [c.name for c in settings_checks(reflection_settings(off), "x")] == [
        "unsupported_numbers"]
    none = Context(reflection_word_limit=-1, reflection_checks="word_limit")
    assert settings_checks(reflection_settings(none), "a 100-word summary") == []


def test_settings_precedence_passed_then_env_then_default(monkeypatch):
    assert reflection_settings(Context()).reflection_max_iterations == 3  # a plain Context
    monkeypatch.setenv("AGENT_GRAPHS_REFLECTION_MAX_ITERATIONS", "7")
    monkeypatch.setenv("AGENT_GRAPHS_REFLECTION_REQUIRED_FACTS", '["a", "b"]')
    assert reflection_settings(Context()).reflection_max_iterations == 7
    assert reflection_settings(Context()).reflection_required_facts == ["a", "b"]
    # a value passed for the run wins, even when it equals the default
    ctx = Context(reflection_max_iterations=3)
    assert reflection_settings(ctx).reflection_max_iterations == 3
    with pytest.raises(ValueError, match="unknown reflection_checks"):
        ReflectionSettings(reflection_checks="word_limit,spelling")
    with pytest.raises(ValueError, match="reflection_min_score"):
        Context(reflection_min_score=1.5)


def test_a_figure_spans_no_line_so_a_text_parses_as_its_lines():
    # The run report traces figures line by line from one parse of each source.
    import random

    from agent_graphs.figures import figure_spans, figures

    rng = random.Random(3)
    parts = ["$", "€ ", "9.2", "1,234", "41.3", "%", " percent", " million", "M", "k", "Q4",
             " 2025", "\n", "\n", " ", "\t", "revenue", "FY", "12", "7"]
    for _ in range(300):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(1, 25)))
        by_lines = tuple(f for line in text.splitlines() for f in figures(line))
        assert figures(text) == by_lines, text
        assert all(text[start:].lstrip("$€£ \t").startswith(f.text.lstrip("$€£ \t")[:1])
                   for start, f in figure_spans(text))
    # "$9.2\nmillion" is 9.2 dollars and a word on the next line, not 9.2 million
    assert [f.value for f in figures("$9.2\nmillion")] == [figures("$9.2")[0].value]


def test_a_figure_is_traced_to_the_line_that_states_it_before_one_it_rounds():
    from agent_graphs.planning_agent.report import trace_figures

    results = {
        "s1": {"tool": "search", "ok": True,
               "output": "Q4 2024 results.\n- Services: $0.88 million\n"},
        "s2": {"tool": "search", "ok": True,
               "output": "Gold partners sell at least $1 million a year.\n"},
    }
    (trace,) = trace_figures("Gold partners: $1 million.", results)
    assert trace.step == "s2" and "at least $1 million" in trace.line
    (rounded,) = trace_figures("Services: $0.9 million.", results)
    assert rounded.step == "s1"  # rounding still counts when no line states it
