"""Fuzzing the plan parser: near-valid plans (a valid plan with one mutation) and random text.
The parser must only ever raise `PlanError`, streamed or whole, and stay linear in input size."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faults.conftest import FaultCounter
from parcall import PlanError, PlanParser, parse_plan
from planner.test_parser import TOOLS as PARSER_TOOLS

pytestmark = pytest.mark.faults


# The parser tests' tool set, so both suites judge plans against the same signatures.
TOOLS = {t.name: t for t in PARSER_TOOLS}

SEED_PLANS = [
    'Thought: both.\n1. search(query="Eiffel Tower height")\n2. search("Liberty")\n'
    '3. combine(items=[$1, {"b": ${2}}], mapping={"k": [$1, "x $2 y"]}, label="$1 and ${2}")\n'
    "4. add(a=1.5, b=-2)\n5. add($4, b=$4)\njoin()\n",
    "1. search('a \\'b\\' \"c\" 🚀 مرحبا $$5')\n2. combine(items=[$1.rows[0][\"name\"], $1.x])\n"
    '3. search("""multi\nline""")\n<END_OF_PLAN>',
    "```\n- **1. add(a=1e308, b=-0.0)**\n> 2. combine(items=[], label='''$1''')\n```\n",
]
TOKENS = [
    "$1",
    "${2}",
    "$$",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    '"',
    "'",
    '"""',
    ",",
    "=",
    ".",
    ":",
    "\n",
    "\\",
    "#",
    "join()",
    "1.",
    "99999999999.",
    "$" + "9" * 40,
    "-" * 50,
    "\x00",
    "\ud800",
    "\u202e",
    "🚀",
    "search(",
    "__import__('os')",
    "1" * 5000,
    "[" * 200,
]


@st.composite
def mutated_plans(draw: st.DrawFn) -> str:
    """A valid plan with one mutation: a dropped, duplicated or swapped span, or a token
    inserted (refs, brackets, quotes, huge numbers, deep nesting, odd unicode)."""
    text = draw(st.sampled_from(SEED_PLANS))
    i = draw(st.integers(0, len(text)))
    j = draw(st.integers(i, min(len(text), i + 40)))
    kind = draw(st.sampled_from(["drop", "dup", "swap", "insert", "insert_text", "repeat"]))
    if kind == "drop":
        return text[:i] + text[j:]
    if kind == "dup":
        return text[:j] + text[i:j] + text[j:]
    if kind == "swap":
        k = draw(st.integers(0, len(text)))
        a, b = sorted((j, k))
        return text[:i] + text[a:b] + text[i:a] + text[b:] if i <= a else text
    if kind == "insert":
        return text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
    if kind == "repeat":
        return text[:i] + draw(st.sampled_from(TOKENS)) * draw(st.integers(2, 300)) + text[i:]
    return text[:i] + draw(st.text(max_size=30)) + text[i:]


def check(text: str, chunk: int | None = None) -> None:
    """Parse whole (or streamed in `chunk`-sized pieces): a plan or a PlanError, nothing else."""
    try:
        if chunk is None:
            parse_plan(text, TOOLS)
            return
        parser = PlanParser(TOOLS)
        for start in range(0, len(text), chunk):
            parser.feed(text[start : start + chunk])
        parser.close()
    except PlanError:
        pass


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=mutated_plans(), chunk=st.one_of(st.none(), st.integers(1, 17)))
def test_near_valid_plans_only_ever_raise_plan_errors(
    text: str, chunk: int | None, faults: FaultCounter
) -> None:
    faults.inject("fuzz.parser_near_valid")
    check(text, chunk)


@FUZZ
@given(data=st.binary(max_size=400), chunk=st.one_of(st.none(), st.integers(1, 17)))
def test_random_bytes_decoded_as_text_only_raise_plan_errors(
    data: bytes, chunk: int | None, faults: FaultCounter
) -> None:
    faults.inject("fuzz.parser_random_bytes")
    check(data.decode("utf-8", errors="surrogateescape"), chunk)
    check("1. search(" + data.decode("latin-1") + ")\njoin()", chunk)


@FUZZ
@given(text=st.text(max_size=300))
def test_random_unicode_only_raises_plan_errors(text: str, faults: FaultCounter) -> None:
    faults.inject("fuzz.parser_random_unicode")
    check(text)
    check(f"1. search({text})")


@pytest.mark.parametrize("wrapped", ['"$REF"', "${REF}", '"${REF}"'])
def test_a_reference_with_thousands_of_digits_is_a_plan_error(
    wrapped: str, faults: FaultCounter
) -> None:
    faults.inject("fuzz.parser_huge_ref")
    check(f"1. search(query={wrapped.replace('REF', '9' * 5000)})\njoin()")
    check(f"1. search(query={wrapped.replace('REF', '9' * 5000)})\njoin()", chunk=100)


class _Steps:
    """A deterministic work measure: Python line events inside the parser module."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename.endswith("_parser.py"):
            if event == "line":
                self.count += 1
            return self
        return None


def steps(text: str) -> int:
    counter = _Steps()
    sys.settrace(counter)
    try:
        check(text, chunk=64)
    finally:
        sys.settrace(None)
    return counter.count


LINEAR_INPUTS = {
    "many tasks": lambda n: "".join(f'{i}. search("q {i} $$")\n' for i in range(1, n + 1)),
    "prose": lambda n: "words and (brackets [ and quotes \" ' \n" * n,
    "one long prose line": lambda n: "x(" * (20 * n),
    "refs in strings": lambda n: f'1. search("{"$1 " * min(n, 2000)}")\n' * (n // 50 + 1),
    "open string": lambda n: '1. combine(items=["' + "a\n" * min(n, 40) + "b" * (10 * n),
    "open brackets": lambda n: "1. combine(items=" + "[\n" * min(n, 45) + "1," * (10 * n),
    "whitespace": lambda n: " " * (50 * n) + "\n",
}


@pytest.mark.parametrize("name", sorted(LINEAR_INPUTS))
def test_parse_work_grows_linearly_with_input_size(name: str, faults: FaultCounter) -> None:
    make = LINEAR_INPUTS[name]
    faults.inject("fuzz.parser_linearity", 2)
    small, large = make(200), make(1600)
    ratio = steps(large) / max(1, steps(small))
    size_ratio = len(large) / len(small)
    # Linear work grows like the size (x8 here); quadratic would be x64. Generous bound.
    assert ratio < 2.5 * size_ratio, f"{name}: work x{ratio:.1f} for input x{size_ratio:.1f}"
