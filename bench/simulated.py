"""Simulated workloads through parcall, parallel tool calling and ReAct; see parcall.bench.

python bench/simulated.py [--repeats N] [--workloads W1,W2,...] [--out bench/results]
"""

from __future__ import annotations

import argparse

from parcall.bench import run_simulated, suite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    names = ", ".join(w.name for w in suite())
    parser.add_argument("--workloads", default=None, help=f"comma-separated, of: {names}")
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--no-timelines", action="store_true")
    parser.add_argument("--backend", default="asyncio", choices=("asyncio", "trio"))
    args = parser.parse_args()
    report = run_simulated(
        args.workloads.split(",") if args.workloads else None,
        repeats=args.repeats,
        out_dir=args.out,
        timelines=not args.no_timelines,
        backend=args.backend,
    )
    print(report.table())
    print("\nwrote:", *report.files, sep="\n  ")


if __name__ == "__main__":
    main()
