"""Dates and unit conversion tools."""

from __future__ import annotations

import datetime as dt

import pytest

from parcall.tools._clock import convert_units, date_diff, today


def test_today_is_an_iso_date() -> None:
    assert dt.date.fromisoformat(today()) in {dt.date.today(), dt.date.today() - dt.timedelta(1)}


@pytest.mark.parametrize(
    ("start", "end", "unit", "expected"),
    [
        ("2024-01-01", "2024-03-01", "days", 60),
        ("2024-03-01", "2024-01-01", "days", -60),
        ("2024-01-01", "2024-01-15", "weeks", 2),
        ("2024-01-31", "2024-02-29", "months", 0),
        ("2024-01-31", "2024-03-31", "months", 2),
        ("1963-11-18", "1986-11-05", "years", 22),
        ("1963-11-18", "1986-11-18", "years", 23),
        ("1986-11-05", "1963-11-18", "years", -22),
        ("2020-02-29", "2021-02-28", "years", 0),
        ("2024-05-01T10:00:00", "2024-05-03", "Days", 2),
    ],
)
def test_date_diff(start: str, end: str, unit: str, expected: int) -> None:
    assert date_diff(start, end, unit) == expected


def test_date_diff_accepts_today() -> None:
    assert date_diff("today", today()) == 0


@pytest.mark.parametrize(
    ("start", "unit", "message"),
    [
        ("May 1 2024", "days", "YYYY-MM-DD"),
        ("2024-02-30", "days", "not a real date"),
        ("2024-01-01", "fortnights", "unit must be"),
    ],
)
def test_date_diff_rejects_bad_input(start: str, unit: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        date_diff(start, "2024-01-02", unit)


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1, "mi", "km", 1.609344),
        (10, "km", "miles", 6.213711922373339),
        (6, "ft", "m", 1.8288),
        (1, "inch", "cm", 2.54),
        (1, "lb", "oz", 16.0),
        (70, "kg", "lbs", 154.3235835294143),
        (2, "h", "min", 120.0),
        (1, "week", "days", 7.0),
        (100, "C", "F", 212.0),
        (32, "F", "C", 0.0),
        (-40, "fahrenheit", "celsius", -40.0),
        (0, "K", "C", -273.15),
        (5, "m", "m", 5.0),
    ],
)
def test_convert_units(value: float, source: str, target: str, expected: float) -> None:
    assert convert_units(value, source, target) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("kg", "m", "mass"),
        ("C", "m", "not both temperatures"),
        ("furlong", "m", "unknown unit 'furlong'"),
    ],
)
def test_convert_units_rejects_mismatched_or_unknown_units(
    source: str, target: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        convert_units(1, source, target)


def test_convert_units_rejects_below_absolute_zero() -> None:
    with pytest.raises(ValueError, match="absolute zero"):
        convert_units(-300, "C", "K")
