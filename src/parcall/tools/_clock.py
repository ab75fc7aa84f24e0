"""Dates and units for demos: today's date, the distance between two dates, unit conversion."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

__all__ = ["convert_units", "date_diff", "today"]

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def today() -> str:
    """Return today's date (local time) as YYYY-MM-DD."""
    return dt.date.today().isoformat()


def _parse_date(text: str, name: str) -> dt.date:
    cleaned = text.strip()
    if cleaned.lower() == "today":
        return dt.date.today()
    # Accept a full timestamp too ("2024-05-01T12:00:00"), keeping only its date.
    match = _ISO_DATE.match(cleaned)
    if match is None or (len(cleaned) > 10 and cleaned[10] not in "T "):
        raise ValueError(f"{name} must be a date written YYYY-MM-DD, got {text!r}")
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError as error:
        raise ValueError(f"{name} {text!r} is not a real date: {error}") from None


def _whole_months(start: dt.date, end: dt.date) -> int:
    """Complete calendar months from start to end (end >= start)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months


_DATE_UNITS = {
    "day": "days",
    "days": "days",
    "d": "days",
    "week": "weeks",
    "weeks": "weeks",
    "w": "weeks",
    "month": "months",
    "months": "months",
    "year": "years",
    "years": "years",
    "y": "years",
}


def date_diff(start: str, end: str, unit: str = "days") -> int:
    """Count the whole days, weeks, months or years from one date to another.

    The result is negative when `end` is before `start`. Months and years count complete
    calendar periods, as in a person's age: from 1990-06-15 to 2024-06-14 is 33 years.

    Args:
        start: The first date, YYYY-MM-DD (or "today").
        end: The second date, YYYY-MM-DD (or "today").
        unit: One of "days", "weeks", "months" or "years".
    """
    period = _DATE_UNITS.get(unit.strip().lower())
    if period is None:
        raise ValueError(f"unit must be days, weeks, months or years, got {unit!r}")
    first, second = _parse_date(start, "start"), _parse_date(end, "end")
    sign = 1 if second >= first else -1
    earlier, later = min(first, second), max(first, second)
    if period == "days":
        count = (later - earlier).days
    elif period == "weeks":
        count = (later - earlier).days // 7
    elif period == "months":
        count = _whole_months(earlier, later)
    else:
        count = _whole_months(earlier, later) // 12
    return sign * count


# Factors to the base unit of each dimension (metre, kilogram, second); exact by definition
# except the year, which is the Julian year of 365.25 days.
_LINEAR_UNITS: dict[str, tuple[str, float]] = {}


def _define(dimension: str, factor: float, *names: str) -> None:
    for name in names:
        _LINEAR_UNITS[name] = (dimension, factor)


_define("length", 1.0, "m", "meter", "meters", "metre", "metres")
_define("length", 1000.0, "km", "kilometer", "kilometers", "kilometre", "kilometres")
_define("length", 0.01, "cm", "centimeter", "centimeters", "centimetre", "centimetres")
_define("length", 0.001, "mm", "millimeter", "millimeters", "millimetre", "millimetres")
_define("length", 0.0254, "in", "inch", "inches")
_define("length", 0.3048, "ft", "foot", "feet")
_define("length", 0.9144, "yd", "yard", "yards")
_define("length", 1609.344, "mi", "mile", "miles")
_define("length", 1852.0, "nmi", "nautical mile", "nautical miles")
_define("mass", 1.0, "kg", "kilogram", "kilograms", "kilo", "kilos")
_define("mass", 0.001, "g", "gram", "grams")
_define("mass", 1e-6, "mg", "milligram", "milligrams")
_define("mass", 1000.0, "t", "tonne", "tonnes", "metric ton", "metric tons")
_define("mass", 0.45359237, "lb", "lbs", "pound", "pounds")
_define("mass", 0.45359237 / 16, "oz", "ounce", "ounces")
_define("mass", 6.35029318, "st", "stone", "stones")
_define("time", 0.001, "ms", "millisecond", "milliseconds")
_define("time", 1.0, "s", "sec", "secs", "second", "seconds")
_define("time", 60.0, "min", "mins", "minute", "minutes")
_define("time", 3600.0, "h", "hr", "hrs", "hour", "hours")
_define("time", 86400.0, "day", "days")
_define("time", 604800.0, "week", "weeks")
_define("time", 31557600.0, "year", "years", "yr", "yrs")

# Temperatures go through Celsius with the textbook formulas, so 100 C is exactly 212 F.
_TO_CELSIUS: dict[str, Callable[[float], float]] = {
    "celsius": lambda value: value,
    "fahrenheit": lambda value: (value - 32) * 5 / 9,
    "kelvin": lambda value: value - 273.15,
}
_FROM_CELSIUS: dict[str, Callable[[float], float]] = {
    "celsius": lambda value: value,
    "fahrenheit": lambda value: value * 9 / 5 + 32,
    "kelvin": lambda value: value + 273.15,
}
_TEMPERATURES = {
    **dict.fromkeys(("c", "°c", "degc", "celsius", "degrees celsius"), "celsius"),
    **dict.fromkeys(("f", "°f", "degf", "fahrenheit", "degrees fahrenheit"), "fahrenheit"),
    **dict.fromkeys(("k", "kelvin", "kelvins"), "kelvin"),
}
_ABSOLUTE_ZERO_CELSIUS = -273.15


def _unit_key(unit: str) -> str:
    return " ".join(unit.strip().lower().split())


def convert_units(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a quantity between units of length, mass, time or temperature.

    Length: m, km, cm, mm, in, ft, yd, mi, nmi. Mass: kg, g, mg, t, lb, oz, st.
    Time: ms, s, min, h, day, week, year (365.25 days). Temperature: C, F, K.
    Full names and plurals ("miles", "kilograms") are accepted too.

    Args:
        value: The number to convert.
        from_unit: The unit the value is in, e.g. "mi".
        to_unit: The unit wanted, e.g. "km".
    """
    source, target = _unit_key(from_unit), _unit_key(to_unit)
    if source in _TEMPERATURES or target in _TEMPERATURES:
        if source not in _TEMPERATURES or target not in _TEMPERATURES:
            raise ValueError(f"cannot convert {from_unit!r} to {to_unit!r}: not both temperatures")
        celsius = _TO_CELSIUS[_TEMPERATURES[source]](value)
        if celsius < _ABSOLUTE_ZERO_CELSIUS - 1e-9:
            raise ValueError(f"{value} {from_unit} is below absolute zero")
        return _FROM_CELSIUS[_TEMPERATURES[target]](celsius)
    known = ", ".join(sorted({name for name in _LINEAR_UNITS if len(name) <= 3}))
    for given, key in ((from_unit, source), (to_unit, target)):
        if key not in _LINEAR_UNITS:
            raise ValueError(f"unknown unit {given!r}; known units: {known}, C, F, K")
    source_dimension, source_factor = _LINEAR_UNITS[source]
    target_dimension, target_factor = _LINEAR_UNITS[target]
    if source_dimension != target_dimension:
        raise ValueError(
            f"cannot convert {from_unit!r} ({source_dimension}) to {to_unit!r} ({target_dimension})"
        )
    return value * source_factor / target_factor
