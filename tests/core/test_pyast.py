"""Parsing is serialised across threads (CPython 3.11 can fail on concurrent `ast.parse`)."""

from __future__ import annotations

import ast
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from parcall._core import pyast as _pyast
from parcall._planner.text import parse_call
from parcall.tools._calculator import calculator


@pytest.fixture
def fast_switching() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_no_two_threads_parse_at_once(
    monkeypatch: pytest.MonkeyPatch, fast_switching: None
) -> None:
    real_parse = ast.parse
    inside: list[int] = []
    overlaps: list[int] = []

    def watched_parse(source: str, *args: Any, **kwargs: Any) -> ast.AST:
        inside.append(1)
        if len(inside) > 1:
            overlaps.append(len(inside))
        time.sleep(0)  # let another thread run while this one is inside the parser
        try:
            return real_parse(source, *args, **kwargs)
        finally:
            inside.pop()

    monkeypatch.setattr(_pyast.ast, "parse", watched_parse)
    errors: list[BaseException] = []

    def plans() -> None:
        try:
            for _ in range(300):
                assert parse_call('search(query="x", k=[1, {"a": 2}])', 1)[0] == "search"
        except BaseException as exc:
            errors.append(exc)

    def sums() -> None:
        try:
            for _ in range(300):
                assert calculator("(1 + 2) * 3") == 9
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=f) for f in (plans, sums, plans, sums)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and not overlaps
    assert not any(thread.is_alive() for thread in threads)
