"""Checks of constructor arguments, so a mistake fails where it is made, naming the argument.

`Agent(max_replans="2")` should say `Agent: max_replans must be an int, not '2' (str)` when
the agent is built, not `'<=' not supported` from deep inside a run. Every public
constructor validates its arguments with these few functions.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

__all__ = ["check_choice", "check_int", "check_number", "check_request", "check_type"]


def _shown(value: Any) -> str:
    text = repr(value)
    return (
        f"{text[:60]}… ({type(value).__name__})"
        if len(text) > 60
        else f"{text} ({type(value).__name__})"
    )


def check_type(
    owner: str, name: str, value: Any, types: type | tuple[type, ...], expected: str
) -> None:
    """`value` must be an instance of `types` (`expected` says so in words); else TypeError."""
    if not isinstance(value, types):
        raise TypeError(f"{owner}: {name} must be {expected}, not {_shown(value)}")


def check_int(
    owner: str, name: str, value: Any, *, minimum: int | None = None, optional: bool = False
) -> None:
    """An int (never a bool), at least `minimum`; None too when `optional`."""
    if value is None and optional:
        return
    expected = "an int" + (" or None" if optional else "")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}: {name} must be {expected}, not {_shown(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: {name} must be at least {minimum}, not {value}")


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    positive: bool = False,
    optional: bool = False,
) -> None:
    """A real number (int or float, never a bool or NaN): `positive` (> 0) or at least
    `minimum`; None too when `optional`."""
    if value is None and optional:
        return
    expected = "a number" + (" or None" if optional else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise TypeError(f"{owner}: {name} must be {expected}, not {_shown(value)}")
    if positive and value <= 0:
        raise ValueError(f"{owner}: {name} must be positive, not {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: {name} must be at least {minimum}, not {value}")


def check_choice(owner: str, name: str, value: Any, choices: Collection[Any]) -> None:
    """One of `choices`; else ValueError listing them."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{owner}: {name} must be one of {listed}, not {_shown(value)}")


def check_request(request: Any) -> None:
    """A question to answer: a string with something in it."""
    check_type("run", "request", request, str, "a string")
    if not request.strip():
        raise ValueError("run: the request is empty; ask a question")
