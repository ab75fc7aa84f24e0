"""A safe arithmetic calculator: `ast.parse` plus a whitelist walk, never `eval`.

The input is first normalised so that what small models tend to write still works
(see `calculator` for the exact rules), then parsed in `eval` mode and evaluated node by
node. Only numeric literals, the arithmetic operators, a few `math` functions and the
constants `pi` and `e` are understood; anything else raises `CalculatorError`.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable

from .._core.pyast import parse_expression

__all__ = ["CalculatorError", "calculator", "format_number"]

Number = int | float

MAX_EXPRESSION_LENGTH = 500
MAX_NODES = 300  # expression nodes: numbers, names, operations, calls
MAX_DEPTH = 60
# 4096 bits is about 1233 decimal digits: far beyond any real calculation, far below the
# sizes where big-integer arithmetic (or int -> str conversion) gets slow.
MAX_INT_BITS = 4096
MAX_ROUND_DIGITS = 100


class CalculatorError(ValueError):
    """An expression the calculator will not evaluate; the message names the offending part."""


# --- normalisation ----------------------------------------------------------------------

_REPLACEMENTS = {
    "×": "*",
    "∗": "*",
    "·": "*",
    "÷": "/",
    "−": "-",
    "–": "-",
    "π": "pi",
    "²": "**2",
    "³": "**3",
    "\u00a0": " ",
    "\t": " ",
    "\n": " ",
    "\r": " ",
}
_ALLOWED_CHARS = frozenset(
    "0123456789.+-*/%^(), _abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_UNRESOLVED_REF = re.compile(r"\$\{?\d+")
# A numeric literal as Python's tokenizer reads it (hex/octal/binary, decimal, exponent).
_NUMBER = re.compile(
    r"(?<![\w.])(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+"
    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)"
)
# `x` between two operands is multiplication (`3 x 4`, `(2)x(3)`), but not the `x` of `0x1F`.
_TIMES_X = re.compile(r"(?<=[\d).%])(\s*)[xX](\s*)(?=[\d(.])")
_THOUSANDS = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w,])")
# `15%` (percent sign attached to a number, not followed by an operand) means 15/100.
_PERCENT = re.compile(r"(?<![\w.])((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)%(?!\s*[\w(.])")
_PERCENT_OF = re.compile(r"(?<![\w.])((?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)%\s*of\b")


def _normalise(expression: str) -> str:
    text = expression.strip()
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    text = text.strip().rstrip("=").strip()
    if not text:
        raise CalculatorError("empty expression")
    ref = _UNRESOLVED_REF.search(text)
    if ref:
        raise CalculatorError(
            f"{ref.group(0)!r} looks like an unresolved task reference; pass plain numbers"
        )
    for char in text:
        if char not in _ALLOWED_CHARS:
            raise CalculatorError(f"unsupported character {char!r} in {expression!r}")
    text = _TIMES_X.sub(lambda m: _times(m, text), text)
    text = text.replace("^", "**")
    text = _strip_thousands_separators(text)
    text = _PERCENT_OF.sub(r"(\1/100)*", text)
    text = _PERCENT.sub(r"(\1/100)", text)
    for literal in _NUMBER.finditer(text):
        after = text[literal.end() : literal.end() + 1]
        if after and (after.isalnum() or after == "_"):
            word = re.match(r"\w+", text[literal.end() :])
            name = word.group(0) if word else after
            raise CalculatorError(
                f"missing operator between {literal.group(0)!r} and {name!r}"
                " (units are not understood; write plain numbers)"
            )
    return text


def _times(match: re.Match[str], text: str) -> str:
    start = match.start()
    is_hex_prefix = (
        not match.group(1)
        and text[start - 1] == "0"
        and (start < 2 or not (text[start - 2].isalnum() or text[start - 2] in "._"))
    )
    return match.group(0) if is_hex_prefix else f"{match.group(1)}*{match.group(2)}"


def _strip_thousands_separators(text: str) -> str:
    """Drop commas of `1,234,567.8` unless they sit inside a function call's parentheses.

    Inside a call a comma always separates arguments (`max(1,234)` is `max(1, 234)`), so
    there the text is left as written.
    """
    open_parens: list[bool] = []  # one entry per open "(", True when it opens a call
    calls_open = 0
    calls_open_at: list[int] = []
    for index, char in enumerate(text):
        calls_open_at.append(calls_open)
        if char == "(":
            before = text[:index].rstrip()
            is_call = bool(before) and (before[-1].isalnum() or before[-1] == "_")
            open_parens.append(is_call)
            calls_open += is_call
        elif char == ")" and open_parens:
            calls_open -= open_parens.pop()

    def strip(match: re.Match[str]) -> str:
        if calls_open_at[match.start()]:
            return match.group(0)
        return match.group(0).replace(",", "")

    return _THOUSANDS.sub(strip, text)


# --- evaluation -------------------------------------------------------------------------

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


def _round(x: Number, ndigits: Number | None = None) -> Number:
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int):
        raise CalculatorError(f"round() needs a whole number of digits, not {ndigits!r}")
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise CalculatorError(f"round() digits must be within ±{MAX_ROUND_DIGITS}")
    return round(x, ndigits)


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


def _min(*args: Number) -> Number:
    return min(args)


def _max(*args: Number) -> Number:
    return max(args)


def _sum(*args: Number) -> Number:
    return sum(args)


def _mean(*args: Number) -> Number:
    return sum(args) / len(args)


# name -> (callable, min arguments, max arguments or None for any number)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int | None]] = {
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (_min, 1, None),
    "max": (_max, 1, None),
    "sum": (_sum, 1, None),
    "mean": (_mean, 1, None),
    "avg": (_mean, 1, None),
    "average": (_mean, 1, None),
    "sqrt": (math.sqrt, 1, 1),
    "log": (_log, 1, 2),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "exp": (math.exp, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
}

_BINARY_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}


class _Evaluator:
    def __init__(self, source: str) -> None:
        self.source = source

    def part(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.source, node)
        return repr(segment if segment is not None else type(node).__name__)

    def evaluate(self, node: ast.AST, depth: int = 0) -> Number:
        if depth > MAX_DEPTH:
            raise CalculatorError(f"expression is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.BinOp):
            return self.binary_chain(node, depth)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            operand = self.evaluate(node.operand, depth + 1)
            return self.checked(-operand if isinstance(node.op, ast.USub) else +operand, node)
        if isinstance(node, ast.Name):
            value = _CONSTANTS.get(node.id.lower())
            if value is None:
                raise CalculatorError(
                    f"unknown name {node.id!r}; known constants: {', '.join(_CONSTANTS)}"
                )
            return value
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Tuple):
            raise CalculatorError(
                f"a comma outside a function call in {self.part(node)}"
                " (write thousands as 1,234 or 1234; decimals with a point)"
            )
        raise CalculatorError(f"unsupported {_describe(node)}: {self.part(node)}")

    def constant(self, node: ast.Constant) -> Number:
        value = node.value
        # bool is an int subclass; reject it along with complex, str and None.
        if type(value) not in (int, float):
            raise CalculatorError(f"unsupported literal {self.part(node)}")
        assert isinstance(value, (int, float))
        return self.checked(value, node)

    def binary_chain(self, node: ast.BinOp, depth: int) -> Number:
        if isinstance(node.op, ast.Pow):
            # `**` nests to the right (2 ** 3 ** 2); every level counts towards the depth.
            base = self.evaluate(node.left, depth + 1)
            return self.binary(node, base, self.evaluate(node.right, depth + 1))
        # `1 + 2 + ... + 99` nests to the left; walk that spine in a loop, not by recursion.
        chain: list[ast.BinOp] = []
        current: ast.expr = node
        while isinstance(current, ast.BinOp) and not isinstance(current.op, ast.Pow):
            chain.append(current)
            current = current.left
        value = self.evaluate(current, depth + 1)
        for link in reversed(chain):
            value = self.binary(link, value, self.evaluate(link.right, depth + 1))
        return value

    def binary(self, node: ast.BinOp, left: Number, right: Number) -> Number:
        op = type(node.op)
        symbol = _BINARY_SYMBOLS.get(op)
        if symbol is None:
            raise CalculatorError(f"unsupported operator in {self.part(node)}")
        return self.computed(node, lambda: self.apply(op, node, left, right))

    def apply(
        self, op: type[ast.operator], node: ast.BinOp, left: Number, right: Number
    ) -> Number | complex:
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        if op is ast.FloorDiv:
            return left // right
        if op is ast.Mod:
            return left % right
        return self.power(node, left, right)

    def computed(
        self, node: ast.AST, compute: Callable[[], object], *, type_errors: bool = False
    ) -> Number:
        """`compute()`, checked, with Python's arithmetic errors told as the calculator's,
        naming the part of the expression (`type_errors`: a function's wrong argument too)."""
        failures = (
            (ArithmeticError, ValueError, TypeError)
            if type_errors
            else (ArithmeticError, ValueError)
        )
        try:
            result = compute()
        except CalculatorError:
            raise
        except ZeroDivisionError:
            raise CalculatorError(f"division by zero in {self.part(node)}") from None
        except OverflowError:
            raise CalculatorError(f"result of {self.part(node)} is too large") from None
        except failures as error:
            raise CalculatorError(f"cannot compute {self.part(node)}: {error}") from None
        return self.checked(result, node)

    def power(self, node: ast.BinOp, base: Number, exponent: Number) -> Number | complex:
        if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
            magnitude = abs(base)
            if magnitude > 1 and (magnitude.bit_length() - 1) * exponent > MAX_INT_BITS:
                raise CalculatorError(f"result of {self.part(node)} would be too large")
        result: Number | complex = base**exponent
        return result

    def call(self, node: ast.Call, depth: int) -> Number:
        if not isinstance(node.func, ast.Name):
            raise CalculatorError(f"unsupported call {self.part(node)}")
        name = node.func.id.lower()
        entry = _FUNCTIONS.get(name)
        if entry is None:
            raise CalculatorError(
                f"unknown function {node.func.id!r}; allowed: {', '.join(_FUNCTIONS)}"
            )
        if node.keywords:
            raise CalculatorError(f"keyword arguments are not supported: {self.part(node)}")
        function, fewest, most = entry
        if not fewest <= len(node.args) <= (most if most is not None else len(node.args)):
            expected = f"{fewest}" if most == fewest else f"{fewest} to {most or 'any'}"
            raise CalculatorError(
                f"{name}() takes {expected} argument(s), got {len(node.args)}: {self.part(node)}"
            )
        args = [self.evaluate(arg, depth + 1) for arg in node.args]
        return self.computed(node, lambda: function(*args), type_errors=True)

    def checked(self, value: object, node: ast.AST) -> Number:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CalculatorError(f"{self.part(node)} does not give a real number")
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise CalculatorError(f"result of {self.part(node)} is too large")
        if isinstance(value, float) and not math.isfinite(value):
            raise CalculatorError(f"result of {self.part(node)} is too large or undefined")
        return value


def _describe(node: ast.AST) -> str:
    names = {
        ast.Attribute: "attribute access",
        ast.Subscript: "subscript",
        ast.Lambda: "lambda",
        ast.Compare: "comparison",
        ast.BoolOp: "boolean operator",
        ast.IfExp: "conditional expression",
        ast.GeneratorExp: "generator expression",
        ast.ListComp: "list comprehension",
        ast.SetComp: "set comprehension",
        ast.DictComp: "dict comprehension",
        ast.Starred: "starred argument",
        ast.NamedExpr: "assignment expression",
    }
    return names.get(type(node), f"construct ({type(node).__name__})")


def calculator(expression: str) -> float | int:
    """Evaluate an arithmetic expression and return the number.

    Understands numbers, `+ - * / // % **` (also `^` for power and `x` or `×` for
    multiplication), parentheses, the constants `pi` and `e`, and the functions abs, round,
    min, max, sum, mean (also avg, average), sqrt, log (natural, or `log(x, base)`), log10,
    log2, exp, sin, cos, tan (radians), floor and ceil. `15%` means 0.15 and `15% of 80`
    means 0.15 * 80. Thousands separators (`1,234,567.5`) are read outside function calls;
    inside a call commas separate arguments.

    Args:
        expression: The arithmetic to compute, e.g. "(1,234 + 56) * 2" or "sqrt(2) ^ 2".
            Only plain numbers: no units, variables or task references.
    """
    if not isinstance(expression, str):
        raise CalculatorError(f"expression must be a string, not {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CalculatorError(
            f"expression is {len(expression)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    source = _normalise(expression)
    try:
        tree = parse_expression(source)  # the expression node
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise CalculatorError(f"cannot parse {source!r}{where}: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise CalculatorError(f"cannot parse {source!r}: too complex") from None
    count = sum(1 for node in ast.walk(tree) if isinstance(node, ast.expr))
    if count > MAX_NODES:
        raise CalculatorError(f"expression has {count} parts; the limit is {MAX_NODES}")
    return _Evaluator(source).evaluate(tree)


def format_number(value: float | int, digits: int = 12) -> str:
    """Format a calculator result for people and models: `0.1 + 0.2` shows as `0.3`.

    Args:
        value: The number to show.
        digits: Significant digits kept for non-integral floats.
    """
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"
