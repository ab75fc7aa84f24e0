"""Arithmetic an answer writes out but does not work out: `48210 + 130575 + 9870` as the
answer to "what is the total", with the calculator at hand. Such an answer is sent back to
be computed by a calculator task (`parcall._join.finish_check`)."""

from __future__ import annotations

import re
from decimal import Decimal

from .numbers import NUMBER_TEXT, to_decimal

__all__ = ["unworked"]

_OP = r"(?:\s*[+*×]\s*|\s+[/÷]\s+)"
_EXPRESSION = re.compile(rf"(?<![\w.,/-]){NUMBER_TEXT}(?:{_OP}{NUMBER_TEXT})+(?![\w.,/])")
"""Two or more numbers joined by `+`, `*` or `×` (a `/` only with spaces around it, so a
date such as `12/05` is no arithmetic; a `-` never: `1942 - 1944` is a range as often as a
difference)."""
_RESULT = re.compile(r"\s*=")


def unworked(answer: str) -> tuple[str, ...]:
    """The arithmetic expressions in `answer` that are neither followed by `=` nor worked
    out elsewhere in it (its value is no other number of the answer)."""
    found: list[str] = []
    for match in _EXPRESSION.finditer(answer):
        if _RESULT.match(answer, match.end()):
            continue
        value = _value(match.group())
        rest = answer[: match.start()] + " " + answer[match.end() :]
        others = [to_decimal(m.group()) for m in re.finditer(NUMBER_TEXT, rest)]
        if value is not None and any(o is not None and _near(value, o) for o in others):
            continue
        found.append(match.group())
    return tuple(found)


def _value(expression: str) -> Decimal | None:
    """The expression's value, by the calculator the agent offers (None if it refuses)."""
    # The built-in tools sit above the engine: imported when an answer has arithmetic.
    from ..tools._calculator import CalculatorError, calculator

    try:
        return Decimal(str(calculator(expression)))
    except CalculatorError:
        return None


def _near(a: Decimal, b: Decimal) -> bool:
    return abs(abs(a) - abs(b)) <= Decimal("0.01") * max(Decimal(1), abs(a))
