"""Engine micro-benchmarks (dispatch delay, overhead per task, big plans, concurrent runs).

python bench/micro.py [--sizes 1000,10000,100000] [--concurrent 1000] [--out bench/results]
"""

from __future__ import annotations

import argparse

from parcall.bench import run_micro


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--dispatch-runs", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=1000)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--backend", default="asyncio", choices=("asyncio", "trio"))
    args = parser.parse_args()
    report = run_micro(
        tuple(int(n) for n in args.sizes.split(",") if n),
        dispatch_runs=args.dispatch_runs,
        concurrent_runs=args.concurrent,
        memory=not args.no_memory,
        out_dir=args.out,
        backend=args.backend,
    )
    print(report.table())
    print("\nwrote:", *report.files, sep="\n  ")


if __name__ == "__main__":
    main()
