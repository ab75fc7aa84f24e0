"""The built-in calculator: right answers, friendly input, and a closed door for everything else."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcall.tools._calculator import (
    MAX_EXPRESSION_LENGTH,
    CalculatorError,
    calculator,
    format_number,
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("2 ** 10", 1024),
        ("-3 + +5", 2),
        ("--4", 4),
        ("2 ** -1", 0.5),
        ("1.5e3 + 0.5", 1500.5),
        ("abs(-3.5)", 3.5),
        ("round(2.675, 2)", 2.67),
        ("round(7.6)", 8),
        ("min(4, 2, 9)", 2),
        ("max(4, 2, 9)", 9),
        ("sum(4, 2, 9)", 15),
        ("mean(-3, 19, 24, 8)", 12),  # an average without the parentheses to forget
        ("avg(1, 2)", 1.5),
        ("average(10)", 10),
        ("sqrt(16)", 4.0),
        ("log(e)", 1.0),
        ("log(8, 2)", 3.0),
        ("log10(1000)", 3.0),
        ("exp(0)", 1.0),
        ("floor(2.7) + ceil(2.1)", 5),
        ("cos(0)", 1.0),
        ("2 ** 4095", 2**4095),
        ("1" + "+1" * 149, 150),
    ],
)
def test_computes_arithmetic(expression: str, expected: float) -> None:
    assert calculator(expression) == pytest.approx(expected)


def test_integer_arithmetic_stays_exact() -> None:
    assert calculator("123456789 * 987654321") == 121932631112635269
    assert isinstance(calculator("6 * 7"), int)


def test_trigonometry_uses_radians() -> None:
    assert calculator("sin(pi / 2)") == pytest.approx(1.0)
    assert calculator("tan(pi / 4)") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2^10", 1024),
        ("3 x 4", 12),
        ("3x4", 12),
        ("(2)x(3)", 6),
        ("3 × 4", 12),
        ("10 ÷ 4", 2.5),
        ("7 − 2", 5),
        ("3²", 9),
        ("2 * π", 2 * math.pi),
        ("2 + 2 =", 4),
        ("SQRT(9) + PI - pi", 3.0),
    ],
)
def test_accepts_what_models_write(expression: str, expected: float) -> None:
    assert calculator(expression) == pytest.approx(expected)


def test_hex_literal_is_not_read_as_multiplication() -> None:
    assert calculator("0x1F") == 31
    assert calculator("10x5") == 50


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1,234 + 1", 1235),
        ("1,234,567.5 * 2", 2469135.0),
        ("(1,000) / 4", 250.0),
    ],
)
def test_thousands_separators_outside_calls(expression: str, expected: float) -> None:
    assert calculator(expression) == pytest.approx(expected)


def test_commas_inside_calls_separate_arguments() -> None:
    assert calculator("max(1,234)") == 234
    assert calculator("min(1,000, 5)") == 0


def test_comma_that_is_not_a_thousands_separator_is_rejected() -> None:
    with pytest.raises(CalculatorError, match="comma"):
        calculator("1,23")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("15%", 0.15),
        ("200 * 15%", 30.0),
        ("15% of 80", 12.0),
        ("(50%)", 0.5),
        ("10 % 3", 1),
        ("10%3", 1),
    ],
)
def test_percent_sign_after_a_number_means_hundredths(expression: str, expected: float) -> None:
    assert calculator(expression) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("x + 1", "unknown name 'x'"),
        ("os", "unknown name"),
        ("(1).real", "attribute access"),
        ("math.pi", "attribute access"),
        ("__import__(os)", "unknown function '__import__'"),
        ("__import__('os')", "unsupported character"),
        ("open(1)", "unknown function 'open'"),
        ("pow(2, 3)", "unknown function 'pow'"),
        ("lambda: 1", "unsupported character ':'"),
        ("(lambda x, y: 1)", "unsupported character ':'"),
        ("[x for x in y]", "unsupported character '['"),
        ("(x for x in y)", "generator expression"),
        ("a if b else c", "conditional expression"),
        ("1 and 2", "boolean operator"),
        ("not 1", "unsupported"),
        ("1 < 2", "unsupported character '<'"),
        ("True", "unsupported literal"),
        ("None", "unsupported literal"),
        ("1j", "missing operator"),
        ("2pi", "missing operator between '2' and 'pi'"),
        ("15 km", "cannot parse"),
        ("round(1.5, ndigits=1)", "unsupported character '='"),
        ("max(*(1, 2))", "starred argument"),
        ("sqrt(1, 2)", "sqrt() takes 1 argument"),
        ("max()", "max() takes"),
        ("$1 + 2", "unresolved task reference"),
        ("${3} * 2", "unresolved task reference"),
        ("1 +", "cannot parse"),
        ("", "empty expression"),
        ("   =", "empty expression"),
        ("2(3)", "unsupported"),
        ("1; 2", "unsupported character ';'"),
        ("'a' * 3", "unsupported character"),
    ],
)
def test_rejects_constructs_outside_arithmetic(expression: str, fragment: str) -> None:
    with pytest.raises(CalculatorError) as raised:
        calculator(expression)
    assert fragment in str(raised.value)


@pytest.mark.parametrize(
    "expression",
    ["9**9**9", "2 ** 100000", "10 ^ 5000", "(10**1000) ** 10", "3 ** 3000", "2.0 ** 100000"],
)
def test_rejects_huge_powers(expression: str) -> None:
    with pytest.raises(CalculatorError, match="too large"):
        calculator(expression)


@pytest.mark.parametrize(
    "expression",
    ["(10**1000) * (10**1000) * (10**1000) * (10**1000) * (10**1000)", "1e308 * 10", "exp(1000)"],
)
def test_rejects_results_too_large(expression: str) -> None:
    with pytest.raises(CalculatorError, match="too large"):
        calculator(expression)


def test_rounding_to_absurd_digits_is_rejected() -> None:
    with pytest.raises(CalculatorError, match="round"):
        calculator("round(5, -10000000)")


@pytest.mark.parametrize("expression", ["1 / 0", "5 // 0", "5 % 0", "0 ** -1"])
def test_division_by_zero_is_a_calculator_error(expression: str) -> None:
    with pytest.raises(CalculatorError, match="division by zero"):
        calculator(expression)


@pytest.mark.parametrize("expression", ["sqrt(-1)", "log(0)", "log(-1)", "(-8) ** (1/3)"])
def test_math_domain_errors_are_calculator_errors(expression: str) -> None:
    with pytest.raises(CalculatorError):
        calculator(expression)


def test_rejects_too_long_input() -> None:
    with pytest.raises(CalculatorError, match=f"limit is {MAX_EXPRESSION_LENGTH}"):
        calculator("1" + "+1" * MAX_EXPRESSION_LENGTH)


def test_rejects_too_many_parts() -> None:
    with pytest.raises(CalculatorError, match="parts"):
        calculator("+".join(["1"] * 240))


@pytest.mark.parametrize(
    "expression",
    ["-" * 100 + "1", "abs(" * 70 + "1" + ")" * 70, "(" * 300 + "1" + ")" * 300],
)
def test_rejects_deep_nesting(expression: str) -> None:
    with pytest.raises(CalculatorError):
        calculator(expression)


def test_rejects_non_string_input() -> None:
    with pytest.raises(CalculatorError, match="string"):
        calculator(42)  # type: ignore[arg-type]


def test_calculator_error_is_a_value_error() -> None:
    assert issubclass(CalculatorError, ValueError)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(7, "7"), (5.0, "5"), (0.1 + 0.2, "0.3"), (2.5, "2.5"), (1e20, "1e+20"), (-3.0, "-3")],
)
def test_format_number(value: float, shown: str) -> None:
    assert format_number(value) == shown


_ARITHMETIC_ALPHABET = "0123456789 .,+-*/%^()xe" + "×÷−π²%$"
_TOKENS = st.sampled_from(
    [
        *"0123456789",
        " ",
        ".",
        ",",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "(",
        ")",
        "**",
        "//",
        "x",
        "e",
        "pi",
        "sqrt(",
        "log(",
        "round(",
        "max(",
        "abs(",
        "1,234",
        "15%",
        "of",
        "9**9**9",
        "lambda",
        "_",
        "__import__",
        "j",
        "0x",
        "if",
        "else",
        "and",
        "not",
        "$1",
        "×",
        "²",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_only_ever_raises_calculator_error(text: str) -> None:
    try:
        result = calculator(text)
    except CalculatorError:
        return
    assert isinstance(result, (int, float)) and not isinstance(result, bool)


@settings(max_examples=600, deadline=None)
@given(st.lists(_TOKENS, max_size=30).map("".join))
def test_arithmetic_looking_text_only_ever_raises_calculator_error(text: str) -> None:
    try:
        result = calculator(text)
    except CalculatorError:
        return
    assert isinstance(result, (int, float)) and not isinstance(result, bool)
    if isinstance(result, float):
        assert math.isfinite(result)
