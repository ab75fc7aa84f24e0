"""Engine micro-benchmarks: stub, replaced below."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MicroReport", "run_micro"]


@dataclass
class MicroReport:
    pass


def run_micro() -> MicroReport:
    return MicroReport()
