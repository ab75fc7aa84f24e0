"""The plan datasets by name: BFCL's parallel categories and NESTFUL (see docs/eval-plans.md).

Each factory builds its dataset with the default settings; imports are lazy, so listing
the names loads nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from ._dataset import Dataset

__all__ = ["PLAN_DATASETS"]


def _bfcl_parallel() -> Dataset:
    from ._bfcl import BfclAst

    return BfclAst("parallel")


def _bfcl_parallel_multiple() -> Dataset:
    from ._bfcl import BfclAst

    return BfclAst("parallel_multiple")


def _bfcl_exec_parallel() -> Dataset:
    from ._bfcl import BfclExec

    return BfclExec("exec_parallel")


def _bfcl_exec_parallel_multiple() -> Dataset:
    from ._bfcl import BfclExec

    return BfclExec("exec_parallel_multiple")


def _nestful() -> Dataset:
    from ._nestful import Nestful

    return Nestful()


PLAN_DATASETS: dict[str, Callable[[], Dataset]] = {
    "bfcl-parallel": _bfcl_parallel,
    "bfcl-parallel-multiple": _bfcl_parallel_multiple,
    "bfcl-exec-parallel": _bfcl_exec_parallel,
    "bfcl-exec-parallel-multiple": _bfcl_exec_parallel_multiple,
    "nestful": _nestful,
}
