"""`ast.parse` for one expression, one thread at a time.

CPython 3.11's AST builder keeps its recursion depth in per-interpreter state, so two threads
parsing at once can fail with `SystemError: AST constructor recursion depth mismatch`
(python/cpython#106905). parcall parses plans on the event loop while sync tools (the
calculator among them) parse in worker threads, so every parse in the package goes through
here. Parsing one plan line takes microseconds; the lock costs nothing measurable.
"""

from __future__ import annotations

import ast
import threading
import warnings

__all__ = ["parse_expression"]

_lock = threading.RLock()


def parse_expression(source: str) -> ast.expr:
    """The expression `source` as an AST; warnings about the text (escapes) are dropped."""
    with _lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source, mode="eval").body
