"""Long-running fuzzing of the plan parser, to run by hand.

    python bench/fuzz_parser.py --seconds 600   # hypothesis: near-valid plans, random text
    python bench/fuzz_parser.py --atheris -- -runs=1000000   # libFuzzer via atheris, if installed

The parser must only ever raise `parcall.PlanError`. Reports inputs tried and crashes found
(each with a reproducer) and writes `fuzz.json` to --out (default: a new parcall-bench-*
folder here; --out bench/results refreshes the published figures).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
import traceback
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from faults.test_parser_fuzz import TOOLS, mutated_plans  # noqa: E402
from parcall import PlanError, PlanParser  # noqa: E402
from parcall.bench import new_out_dir  # noqa: E402


class Campaign:
    def __init__(self) -> None:
        self.tried = 0
        self.crashes: dict[str, dict[str, Any]] = {}

    def check(self, text: str, chunk: int | None) -> None:
        self.tried += 1
        try:
            parser = PlanParser(TOOLS)
            step = chunk or max(1, len(text))
            for start in range(0, len(text), step):
                parser.feed(text[start : start + step])
            parser.close()
        except PlanError:
            pass
        except Exception as exc:  # a crash: keep the shortest input per distinct error site
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {pathlib.Path(frame.filename).name}:{frame.lineno}"
            known = self.crashes.get(key)
            if known is None or len(text) < len(known["input"]):
                self.crashes[key] = {
                    "error": f"{type(exc).__name__}: {exc}"[:300],
                    "input": text[:2000],
                    "chunk": chunk,
                }


def run_hypothesis(campaign: Campaign, seconds: float, seed: int) -> None:
    texts = st.one_of(
        mutated_plans(),
        st.binary(max_size=600).map(lambda b: b.decode("utf-8", errors="surrogateescape")),
        st.text(max_size=400),
        st.text(max_size=200).map(lambda t: f"1. search({t})\njoin()"),
    )
    deadline = time.monotonic() + seconds

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate,),  # stopping raises _Done: nothing to shrink or replay
    )
    @given(text=texts, chunk=st.one_of(st.none(), st.integers(1, 31)))
    def fuzz(text: str, chunk: int | None) -> None:
        if time.monotonic() > deadline:
            raise _Done
        campaign.check(text, chunk)

    fuzz._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    try:
        fuzz()
    except _Done:
        pass


class _Done(Exception):
    pass


def run_atheris(campaign: Campaign, argv: list[str]) -> None:
    import atheris

    def one(data: bytes) -> None:
        provider = atheris.FuzzedDataProvider(data)
        chunk = provider.ConsumeIntInRange(0, 31) or None
        campaign.check(provider.ConsumeUnicodeNoSurrogates(len(data)), chunk)

    atheris.Setup([sys.argv[0], *argv], one)
    try:
        atheris.Fuzz()
    except SystemExit:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--atheris", action="store_true")
    parser.add_argument("--out", type=pathlib.Path, help="folder for fuzz.json")
    parser.add_argument("rest", nargs="*", help="arguments for libFuzzer (after --)")
    args = parser.parse_args()
    campaign = Campaign()
    started = time.monotonic()
    engine = "atheris" if args.atheris else "hypothesis"
    if args.atheris:
        run_atheris(campaign, args.rest)
    else:
        run_hypothesis(campaign, args.seconds, args.seed)
    elapsed = time.monotonic() - started
    report = {
        "engine": engine,
        "seconds": round(elapsed, 1),
        "inputs_tried": campaign.tried,
        "distinct_crashes": len(campaign.crashes),
        "crashes": campaign.crashes,
    }
    path = (args.out or new_out_dir()) / "fuzz.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(
        f"{engine}: {campaign.tried:,} inputs in {elapsed:.0f} s, "
        f"{len(campaign.crashes)} distinct crash(es) -> {path}"
    )
    for key, crash in campaign.crashes.items():
        print(f"  {key}: {crash['error'][:120]}")


if __name__ == "__main__":
    main()
