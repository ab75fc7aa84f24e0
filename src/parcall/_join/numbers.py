"""The numbers a run's results hold, and the numbers an answer states that they do not.

A number is held when the request, a result, an argument, an error or a task's number writes
it (rounded to the decimals the answer uses: `8.4` is held by `8.399999999999999`; "2.1
million" holds 2,100,000 and "three" holds 3), when it counts the items of a list or record
a result returned, or when it is one step of arithmetic from two held numbers: a sum, a
difference, a product or a quotient (720 from 240 a night for 3 nights). Anything else was
worked out in the model's head or remembered: `invented_numbers`.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .._core.observation import Observation, format_value
from .._core.plan import Ref, Task, Template, iter_refs
from .decision import CALCULATOR

__all__ = [
    "NUMBER",
    "NUMBER_TEXT",
    "computes",
    "inputs_stated",
    "invented_numbers",
    "plain",
    "to_decimal",
]

NUMBER_TEXT = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
"""A number's digits as an answer writes them: `-5`, `8.4`, `2,100,000`."""
NUMBER = re.compile(rf"(?<![\w.]){NUMBER_TEXT}(?![\w])")
"""A number as an answer writes it, not part of a word."""

_SCALED = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(thousand|million|billion|trillion)\b", re.IGNORECASE
)
_SCALES = {"thousand": 3, "million": 6, "billion": 9, "trillion": 12}
_SCALE_AFTER = re.compile(r"\s*(thousand|million|billion|trillion)\b", re.IGNORECASE)
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen"
_TEENS = "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
_WORDS = {word: n for n, word in enumerate(f"{_UNITS} {_TEENS}".split(" "))}
_WORDS |= {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
_WORDS |= {"ninety": 90, "hundred": 100, "dozen": 12, "once": 1, "twice": 2, "thrice": 3}
_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
_MOST_HELD = 5000
"""Numbers beyond this many are not combined in pairs (a cost bound; they still hold)."""


def invented_numbers(
    answer: str,
    request: str,
    observations: Iterable[Observation],
    tasks: Mapping[int, Task] | None = None,
) -> tuple[str, ...]:
    """The numbers in `answer` (as written) that the request and the results do not hold.

    A computation (a `calculator`, or a tool whose arguments are all numbers) holds nothing
    when the plan wrote it a number of its own that nothing held (`calculator("1,234 +
    1,234")`: an invented number does not become a result by being added); small integers
    and common unit factors (7, 12, 24, 60, 100, 365, 1000, …) may be written freely.
    `tasks` are the plans' tasks by index (their arguments as written)."""
    written = _numbers(request)
    indices: list[Decimal] = []
    counts: list[Decimal] = []
    for o in sorted(observations, key=lambda o: o.idx):
        indices.append(Decimal(o.idx))
        task = (tasks or {}).get(o.idx)
        if task is not None and not _grounded(task, written):
            continue
        written += _numbers(format_value(o.args, sys.maxsize))
        written += _numbers(format_value(o.value, sys.maxsize) if o.ok else (o.error or ""))
        if o.ok:
            counts.extend(Decimal(n) for n in _sizes(o.value))
    held = [*written, *indices, *counts]
    pairs: _Pairs | None = None  # built only when a number is not held as written
    found: list[str] = []
    for match in NUMBER.finditer(answer):
        number = to_decimal(match.group())
        if number is None or match.group() in found:
            continue
        scale = _SCALE_AFTER.match(answer, match.end())
        if scale is not None and any(
            _scaled_same(number, _SCALES[scale.group(1).lower()], h) for h in held
        ):
            continue  # "2.1 million" held by 2,100,000
        if any(_same(number, h) for h in held):
            continue
        pairs = pairs or _Pairs([*written, *counts][:_MOST_HELD])
        if pairs.make(number):
            continue
        found.append(match.group())
    return tuple(found)


_FACTORS = frozenset(Decimal(n) for n in (*range(13), 24, 30, 31, 52, 60, 100, 365, 1000, 3600))
"""Numbers a computation may write without a source: counts, halves, days, hours, per cent."""


def computes(task: Task) -> bool:
    """Whether a task is a computation: a `calculator`, or a tool whose arguments are all
    numbers."""
    values = list(task.args.values())
    return task.tool == CALCULATOR or (bool(values) and all(_numeric(v) for v in values))


def inputs_stated(
    answer: str,
    failed: Iterable[Observation],
    observations: Mapping[int, Observation],
    tasks: Mapping[int, Task],
) -> tuple[str, ...]:
    """The numbers in `answer` (as written) that are the value of an input (`$N`) of a
    computation that `failed`: the price in dollars a failed conversion to euros was to
    take, given as the answer. (A tool other than the calculator computes when its inputs
    are numbers; a search for `$1`'s text is no computation.)"""
    inputs: list[Decimal] = []
    for obs in failed:
        task = tasks.get(obs.idx)
        if task is None or not computes(task):
            continue
        for ref in iter_refs(task.args):
            source = observations.get(ref.task)
            if source is None or not source.ok:
                continue
            if task.tool == CALCULATOR or _numeric(source.value):
                inputs += _numbers(format_value(source.value, sys.maxsize))
    found: list[str] = []
    for match in NUMBER.finditer(answer):
        number = to_decimal(match.group())
        if number is not None and any(_same(number, n) for n in inputs):
            found.append(match.group())
    return tuple(found)


def _grounded(task: Task, held: list[Decimal]) -> bool:
    """Whether a task is no computation, or every number the plan wrote into it is held
    (or is a small factor): otherwise its result is a computation over a made-up number."""
    if not computes(task):
        return True
    values = list(task.args.values())
    literals = [n for v in values for part in _literal_parts(v) for n in _numbers(part)]
    return all(abs(n) in _FACTORS or any(_same(n, h) for h in held) for n in literals)


def _numeric(value: object) -> bool:
    return isinstance(value, Ref) or (
        isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    )


def _literal_parts(value: object) -> list[str]:
    """The text the plan wrote in an argument, without the results it refers to."""
    if isinstance(value, Ref):
        return []
    if isinstance(value, Template):
        return [p for p in value.parts if isinstance(p, str)]
    return [str(value)]


def plain(text: str) -> str:
    """A number's text without its thousands separators."""
    return text.replace(",", "")


class _Pairs:
    """Whether a number is one step of arithmetic from two held numbers, each taken with
    either sign (so a sum also finds a difference)."""

    def __init__(self, held: list[Decimal]) -> None:
        self.values = sorted({float(v) for h in held for v in (h, -h)})

    def make(self, stated: Decimal) -> bool:
        target = float(abs(stated))
        tol = _tolerance(stated)
        for h in self.values:
            if self._has(target - h, tol):  # h + x, and differences through the signs
                return True
            if h and self._has(target / h, tol / abs(h)):  # h * x
                return True
            if h and self._has(target * h, tol * abs(h)):  # x / h
                return True
            if target and h and self._has(h / target, tol * abs(h) / target**2):  # h / x
                return True
        return False

    def _has(self, x: float, tol: float) -> bool:
        tol += 1e-9 * max(1.0, abs(x))
        i = bisect_left(self.values, x - tol)
        return i < len(self.values) and self.values[i] <= x + tol


def _places(stated: Decimal) -> int:
    """How many decimals `stated` is written with."""
    exponent = stated.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _tolerance(stated: Decimal) -> float:
    """Half a unit of the last decimal `stated` is written with."""
    return 0.5 * 10.0 ** -_places(stated)


def _sizes(value: Any, depth: int = 0) -> Iterator[int]:
    """How many items each list or record in `value` has (the counts an answer may give)."""
    if depth > 3:
        return
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump()
    if isinstance(value, Mapping):
        yield len(value)
        for item in value.values():
            yield from _sizes(item, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        yield len(value)
        for item in value:
            yield from _sizes(item, depth + 1)


def _numbers(text: str) -> list[Decimal]:
    found = [d for d in (to_decimal(m.group()) for m in NUMBER.finditer(text)) if d is not None]
    for m in _SCALED.finditer(text):
        found.append(Decimal(m.group(1)).scaleb(_SCALES[m.group(2).lower()]))
    found.extend(Decimal(_WORDS[m.group(1).lower()]) for m in _WORD.finditer(text))
    return found


def _scaled_same(stated: Decimal, digits: int, held: Decimal) -> bool:
    """Whether `held` is `stated` times ten to the `digits`, to the decimals it is written
    with ("2.1 million": 2,050,000 to 2,149,999)."""
    half = Decimal(5).scaleb(digits - _places(stated) - 1)
    return abs(abs(held) - abs(stated).scaleb(digits)) < half


def to_decimal(text: str) -> Decimal | None:
    """The number `text` writes (thousands separators allowed), or None."""
    try:
        return Decimal(plain(text))
    except InvalidOperation:
        return None


def _same(stated: Decimal, held: Decimal) -> bool:
    """Whether `held`, rounded to the decimals `stated` is written with, is `stated` (signs
    aside: "5 below zero" is held by -5)."""
    stated, held = abs(stated), abs(held)
    if stated == held:
        return True
    try:
        return held.quantize(Decimal(1).scaleb(-_places(stated)), rounding=ROUND_HALF_UP) == stated
    except InvalidOperation:  # more digits than a Decimal holds
        return False
