"""Arithmetic an answer writes out but does not work out: `48210 + 130575 + 9870` as the
answer to "what is the total", with the calculator at hand. Such an answer is sent back to
be computed by a calculator task (`parcall._join.finish_check`)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["unworked"]

_NUM = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_OP = r"(?:\s*[+*×]\s*|\s+[/÷]\s+)"
_EXPRESSION = re.compile(rf"(?<![\w.,/-]){_NUM}(?:{_OP}{_NUM})+(?![\w.,/])")
"""Two or more numbers joined by `+`, `*` or `×` (a `/` only with spaces around it, so a
date such as `12/05` is no arithmetic; a `-` never: `1942 - 1944` is a range as often as a
difference)."""
_RESULT = re.compile(r"\s*=")
_TOKEN = re.compile(rf"{_NUM}|[+*×/÷-]")


def unworked(answer: str) -> tuple[str, ...]:
    """The arithmetic expressions in `answer` that are neither followed by `=` nor worked
    out elsewhere in it (its value is no other number of the answer)."""
    found: list[str] = []
    for match in _EXPRESSION.finditer(answer):
        if _RESULT.match(answer, match.end()):
            continue
        value = _value(match.group())
        rest = answer[: match.start()] + " " + answer[match.end() :]
        others = [_decimal(m.group()) for m in re.finditer(_NUM, rest)]
        if value is not None and any(o is not None and _near(value, o) for o in others):
            continue
        found.append(match.group())
    return tuple(found)


def _value(expression: str) -> Decimal | None:
    """The expression's value: `*` `×` `/` `÷` before `+` `-`, left to right."""
    tokens = _TOKEN.findall(expression)
    terms: list[Decimal] = []
    sign, product, op = Decimal(1), None, "*"
    try:
        for token in tokens:
            if token in "+-" and product is not None:
                terms.append(sign * product)
                sign, product, op = Decimal(1 if token == "+" else -1), None, "*"
            elif token in "*×/÷":
                op = token
            else:
                number = Decimal(token.replace(",", ""))
                if product is None:
                    product = number
                elif op in "*×":
                    product *= number
                else:
                    product /= number
        if product is not None:
            terms.append(sign * product)
    except (InvalidOperation, ArithmeticError):
        return None
    return sum(terms, Decimal(0))


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _near(a: Decimal, b: Decimal) -> bool:
    return abs(abs(a) - abs(b)) <= Decimal("0.01") * max(Decimal(1), abs(a))
