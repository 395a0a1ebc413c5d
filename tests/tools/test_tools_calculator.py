"""calculator: correct arithmetic, tidy numbers, and nothing but arithmetic."""

from __future__ import annotations

import pytest

from tools.calculator import evaluate, make_calculator_tool


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", "7"),
        ("(13.00 - 9.20) / 9.20 * 100", "41.30434783"),
        ("10 / 4", "2.5"),
        ("10 / 5", "2"),
        ("7 // 2", "3"),
        ("-7 % 3", "2"),
        ("2 ** 10", "1024"),
        ("0.1 + 0.2", "0.3"),
        ("1 / 3", "0.3333333333"),
        ("round(2.567, 2)", "2.57"),
        ("abs(-4)", "4"),
        ("min(3, 1, 2) + max(3, 1, 2)", "4"),
        ("sqrt(16)", "4"),
        ("floor(2.7) + ceil(2.1)", "5"),
        ("log(1000, 10)", "3"),
        ("pi", "3.141592654"),
        ("12345678901234567890 * 10", "123456789012345678900"),
    ],
)
def test_arithmetic(expression: str, expected: str) -> None:
    assert evaluate(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os')", "only these functions"),
        ("open('/etc/passwd')", "only these functions"),
        ("(1).real", "attribute access"),
        ("abs.__class__", "attribute access"),
        ("2 ** 99999999", "too large"),
        ("9 ** 9 ** 9", "too large"),
        ("1 / 0", "division by zero"),
        ("'a' * 3", "only numbers"),
        ("2 ^ 3", "use \\*\\* for powers"),
        ("x + 1", "unknown name"),
        ("[1, 2]", "List is not allowed"),
        ("lambda: 1", "not allowed"),
        ("round(1.5, ndigits=1)", "positional"),
        ("sqrt(-1)", "math domain error"),
        ("(-8) ** 0.5", "not a real number"),
        ("1 +", "cannot parse"),
        ("1; 2", "cannot parse"),
        ("", "empty"),
        ("1+" * 300 + "1", "longer than"),
    ],
)
def test_rejects_what_is_not_safe_arithmetic(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        evaluate(expression)


def test_tool_reads_the_docstring() -> None:
    tool = make_calculator_tool()
    assert tool.name == "calculator"
    assert "arithmetic" in tool.description
    assert tool.invoke({"expression": "6 * 7"}) == "42"
