"""Coverage-guided fuzzing (atheris / libFuzzer) of everything that reads model output.

    pip install atheris
    python bench/fuzz_atheris.py --runs 250000 --out /tmp/fuzz     # every target, in turn
    python bench/fuzz_atheris.py --target plan --runs 1000         # one target

Targets: the text plan parser (streamed in chunks), the JSON plan parser, the native
tool-call plan parser, the joiner's decision parser, and the SSE reader of the
OpenAI-compatible backend. Each may only raise the errors it documents (`PlanError`,
`JoinerOutputError`, `ModelError`); anything else is a crash, saved with its input.
The seed corpus is `tests/fuzz_corpus/<target>/` (small: the inputs a 250,000-input run
kept, about 37 KB in all; new inputs go to a scratch folder under --out). Writes
fuzz_atheris.json and fuzz_atheris.md to --out: inputs run, coverage (libFuzzer's
`cov`/`ft`) and crashes per target.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fuzz_corpus"
TARGETS = ("plan", "json_plan", "tool_calls", "joiner", "sse")


def harness(target: str) -> Any:
    """The function libFuzzer calls with each input, for `target`."""
    import atheris

    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]
    with atheris.instrument_imports(include=["parcall"]):
        import httpx

        from faults.test_parser_fuzz import TOOLS
        from parcall import ParcallError, PlanError, PlanParser, parse_decision
        from parcall._planner.json_plan import JsonPlanParser, ToolCallPlanParser
        from parcall.models import ModelError
        from parcall.models._base import ToolCallChunk
        from parcall.models._openai import _SSEDecoder, _StreamState

    response = httpx.Response(200, request=httpx.Request("POST", "http://fuzz/v1/chat"))

    def streamed(parser_type: Any) -> Any:
        """A text parser fed in chunks of a fuzzed size; only `PlanError` may come out."""

        def one(data: bytes) -> None:
            fdp = atheris.FuzzedDataProvider(data)
            step = fdp.ConsumeIntInRange(1, 32)
            text = fdp.ConsumeUnicodeNoSurrogates(len(data))
            parser = parser_type(TOOLS)
            try:
                for start in range(0, len(text), step):
                    parser.feed(text[start : start + step])
                parser.close()
            except PlanError:
                pass

        return one

    def tool_calls(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        names = [*TOOLS, "", "nope"]
        parser = ToolCallPlanParser(TOOLS)
        try:
            while fdp.remaining_bytes():
                parser.feed(
                    ToolCallChunk(
                        index=fdp.ConsumeIntInRange(0, 3),
                        name=names[fdp.ConsumeIntInRange(0, len(names) - 1)]
                        if fdp.ConsumeBool()
                        else None,
                        arguments=fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40)),
                    )
                )
            parser.close()
        except PlanError:
            pass

    def joiner(data: bytes) -> None:
        text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
        try:
            decision = parse_decision(text)
        except ParcallError:
            return
        assert isinstance(decision.kind, str)

    def sse(data: bytes) -> None:
        text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
        decoder, state = _SSEDecoder(), _StreamState()
        try:
            for line in [*text.splitlines(), None]:
                event = decoder.end() if line is None else decoder.line(line)
                if event is not None and state.add(event, response):
                    break
                state.take()
        except ModelError:
            pass

    return {
        "plan": streamed(PlanParser),
        "json_plan": streamed(JsonPlanParser),
        "tool_calls": tool_calls,
        "joiner": joiner,
        "sse": sse,
    }[target]


def fuzz_one(target: str, libfuzzer_args: list[str]) -> None:
    import atheris

    one = harness(target)
    atheris.Setup([sys.argv[0], *libfuzzer_args], one)
    atheris.Fuzz()


STATS = re.compile(r"#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)")
CRASH = re.compile(r"Test unit written to (\S+)")


def campaign(target: str, runs: int, out: pathlib.Path) -> dict[str, Any]:
    scratch = out / "corpus" / target
    scratch.mkdir(parents=True, exist_ok=True)
    artifacts = out / "crashes" / target
    artifacts.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        __file__,
        "--target",
        target,
        "--",
        f"-runs={runs}",
        "-max_len=512",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
        str(scratch),
        str(CORPUS / target),
    ]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    log = done.stderr
    (out / f"{target}.log").write_text(log)
    stats = STATS.findall(log)
    crashes = CRASH.findall(log)
    runs_done, cov, ft, corp = (int(v) for v in stats[-1]) if stats else (0, 0, 0, 0)
    return {
        "target": target,
        "inputs": runs_done,
        "cov": cov,
        "ft": ft,
        "corpus": corp,
        "seconds": round(time.monotonic() - started, 1),
        "crashes": crashes,
        "exit_code": done.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=TARGETS)
    parser.add_argument("--runs", type=int, default=250_000, help="inputs per target")
    parser.add_argument("--out", type=pathlib.Path, help="folder for results and scratch")
    parser.add_argument("rest", nargs="*", help="libFuzzer arguments (after --)")
    args = parser.parse_args()
    if args.target and args.rest:  # a campaign's child process
        fuzz_one(args.target, args.rest)
        return
    if args.out is None:
        parser.error("--out is required")
    args.out.mkdir(parents=True, exist_ok=True)
    results = [
        campaign(t, args.runs, args.out) for t in ([args.target] if args.target else TARGETS)
    ]
    (args.out / "fuzz_atheris.json").write_text(json.dumps(results, indent=2) + "\n")
    table = [
        "| target | inputs | coverage (cov / ft) | crashes | time |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        table.append(
            f"| {r['target']} | {r['inputs']:,} | {r['cov']} / {r['ft']} | {len(r['crashes'])} "
            f"| {r['seconds']:.0f} s |"
        )
    (args.out / "fuzz_atheris.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
