"""Safe arithmetic for agents, evaluated by ``simpleeval`` over a whitelisted syntax tree.

Only numbers, the arithmetic operators and a few math functions are accepted: no
names beyond ``pi`` and ``e``, no attributes, strings, subscripts or keywords, so
``__import__('os')`` and ``(1).__class__`` are rejected before anything runs.
"""

from __future__ import annotations

import ast
import math
import operator

from langchain_core.tools import BaseTool, StructuredTool
from simpleeval import InvalidExpression, SimpleEval

MAX_RESULT_DIGITS = 1000
"""Powers whose result would have more digits than this are refused up front, far
below simpleeval's own MAX_POWER (an exponent of 4,000,000 still takes seconds)."""
SIGNIFICANT_DIGITS = 10
MAX_EXPRESSION_LENGTH = 500
"""Bounds how large products of allowed powers can grow (and the parse cost)."""

FUNCTIONS = {
    "round": round,
    "abs": abs,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
}
NAMES = {"pi": math.pi, "e": math.e}

_OPERATOR_SYMBOLS = {ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|", ast.MatMult: "@"}


def _power(base: float, exponent: float) -> float:
    """Raise ``base`` to ``exponent`` unless the result would be absurdly large."""
    if abs(base) > 1 and exponent > 0:
        digits = exponent * math.log10(abs(base))
        if digits > MAX_RESULT_DIGITS:
            raise ValueError(
                f"{base} ** {exponent} is too large (about {digits:.0f} digits; "
                f"limit {MAX_RESULT_DIGITS})"
            )
    result = base**exponent
    if isinstance(result, complex):
        raise ValueError(f"{base} ** {exponent} is not a real number")
    return result


OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _check(node: ast.AST) -> None:
    """Reject any syntax outside plain arithmetic, with a message a model can act on."""
    for child in ast.walk(node):
        if isinstance(child, ast.Constant):
            if type(child.value) not in (int, float):
                raise ValueError(f"only numbers are allowed, not {child.value!r}")
        elif isinstance(child, ast.Name):
            if child.id not in FUNCTIONS and child.id not in NAMES:
                known = ", ".join([*FUNCTIONS, *NAMES])
                raise ValueError(f"unknown name {child.id!r}; available: {known}")
        elif isinstance(child, ast.Call):
            if not isinstance(child.func, ast.Name) or child.func.id not in FUNCTIONS:
                raise ValueError(f"only these functions can be called: {', '.join(FUNCTIONS)}")
            if child.keywords:
                raise ValueError("function arguments must be positional")
        elif isinstance(child, (ast.BinOp, ast.UnaryOp)):
            if type(child.op) not in OPERATORS:
                symbol = _OPERATOR_SYMBOLS.get(type(child.op), type(child.op).__name__)  # type: ignore[arg-type]
                hint = "; use ** for powers" if symbol == "^" else ""
                raise ValueError(f"operator {symbol} is not supported{hint}")
        elif isinstance(child, ast.Attribute):
            raise ValueError("attribute access is not allowed")
        elif not isinstance(child, (ast.Expression, ast.operator, ast.unaryop, ast.Load)):
            raise ValueError(f"{type(child).__name__} is not allowed in arithmetic")


def format_number(value: object) -> str:
    """Format a result: exact integers without ``.0``, floats to 10 significant digits."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"result is not a number: {value!r}")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"result is not a finite number: {value}")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, f".{SIGNIFICANT_DIGITS}g")


def evaluate(expression: str) -> str:
    """Evaluate an arithmetic expression and return the result as a plain number string.

    Raises:
        ValueError: If the expression is not valid arithmetic or cannot be computed.
    """
    text = expression.strip()
    if not text:
        raise ValueError("expression is empty")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ValueError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse {expression!r}: {exc.msg}") from None
    _check(tree)
    evaluator = SimpleEval(operators=OPERATORS, functions=FUNCTIONS, names=NAMES)
    try:
        return format_number(evaluator.eval(text, previously_parsed=tree.body))
    except ValueError as exc:
        raise ValueError(f"cannot evaluate {expression!r}: {exc}") from None
    except (ArithmeticError, TypeError, InvalidExpression) as exc:
        # ZeroDivisionError, OverflowError, wrong argument counts to min/max/round...
        raise ValueError(f"cannot evaluate {expression!r}: {exc}") from None


def make_calculator_tool() -> BaseTool:
    """Build the ``calculator`` tool."""

    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression exactly, e.g. "(250 - 200) / 200 * 100".

        Supports + - * / // % ** and parentheses, the names pi and e, and the
        functions round, abs, min, max, sqrt, floor, ceil and log (log(x) or
        log(x, base)). Write plain numbers: no units, currency signs or thousands
        separators.

        Args:
            expression: The arithmetic expression to evaluate.
        """
        return evaluate(expression)

    return StructuredTool.from_function(calculator, parse_docstring=True)
