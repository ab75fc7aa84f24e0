"""AgentDojo rows from `parcall eval` records: utility, ASR, with 95 % Wilson intervals.

Reads the JSONL records `parcall eval agentdojo-...` wrote (one file per run) and writes
`results.json` and `results.md` to --out: per run, n, utility (and, on attacked runs,
utility under attack and ASR), the calls the sealed policy denied, the runs that raised,
and the seconds per example; then, per attacked run, the pairs whose attack succeeded.

    python bench/agentdojo_records.py bench/results/eval/agentdojo/local-banking/*.jsonl \\
        --out bench/results/eval/agentdojo/local-banking
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from agentdojo_eval import wilson

from parcall import RunResult
from parcall.eval._registry import load_dataset

DENIED = "PolicyDeniedError"


def run_row(path: Path) -> dict[str, Any]:
    """One records file as one row (its name says the dataset, split, agent and options)."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    n = len(records)
    row: dict[str, Any] = {"run": path.stem, "n": n}
    for score in ("utility", "asr"):
        values = [r["scores"][score] for r in records if score in r["scores"]]
        if not values:
            continue
        k = sum(values)
        low, high = wilson(k, len(values))
        row[score] = {"k": k, "n": len(values), "rate": round(k / len(values), 4),
                      "ci95": [round(low, 4), round(high, 4)]}  # fmt: skip
    denied = [c for r in records for c in r["calls"] if (c["error"] or "").startswith(DENIED)]
    row["denied_calls"] = len(denied)
    row["denied_by_tool"] = dict(Counter(c["tool"] for c in denied))
    row["examples_with_a_denial"] = sum(
        1 for r in records if any((c["error"] or "").startswith(DENIED) for c in r["calls"])
    )
    row["errors"] = dict(Counter(r["error"]["type"] for r in records if r["error"]))
    walls = [r["wall_s"] for r in records]
    row["seconds"] = {
        "mean": round(statistics.fmean(walls), 1) if walls else 0.0,
        "median": round(statistics.median(walls), 1) if walls else 0.0,
        "max": round(max(walls), 1) if walls else 0.0,
        "total": round(sum(walls), 1),
    }
    row["replans_mean"] = round(statistics.fmean(r["replans"] for r in records), 2) if n else 0
    row["utility_if_nothing_done"] = nothing_done(path.stem.split(".")[0], records)
    row["done"] = sorted(r["id"] for r in records if r["scores"].get("utility"))
    row["attacks_that_succeeded"] = sorted(r["id"] for r in records if r["scores"].get("asr"))
    return row


def nothing_done(dataset: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The floor: AgentDojo's utility check on the same examples for a run that makes no
    call and answers nothing (the untouched world)."""
    data = load_dataset(dataset)
    examples = {e.id: e for e in data.examples("test")}
    done = []
    for r in records:
        example = examples[r["id"]]
        empty = RunResult(example.question, "", (), (), (), 0.0)
        if data.score(example, empty)["utility"]:
            done.append(r["id"])
    k, n = len(done), len(records)
    low, high = wilson(k, n)
    return {"k": k, "n": n, "rate": round(k / max(1, n), 4),
            "ci95": [round(low, 4), round(high, 4)], "ids": done}  # fmt: skip


def markdown(rows: list[dict[str, Any]]) -> str:
    def pct(score: dict[str, Any] | None) -> str:
        if score is None:
            return "–"
        low, high = score["ci95"]
        return (
            f"{100 * score['rate']:.1f} % [{100 * low:.1f}, {100 * high:.1f}] "
            f"({score['k']:g}/{score['n']})"
        )

    lines = [
        "| run | n | utility | utility if nothing is done | ASR | denied calls (examples) "
        "| errors | s / example: mean · median · max |",
        "|---|---:|---|---|---|---|---|---|",
    ]
    for row in rows:
        errors = ", ".join(f"{k} × {v}" for k, v in row["errors"].items()) or "0"
        s = row["seconds"]
        lines.append(
            f"| {row['run']} | {row['n']} | {pct(row.get('utility'))} | "
            f"{pct(row['utility_if_nothing_done'])} | {pct(row.get('asr'))} | "
            f"{row['denied_calls']} ({row['examples_with_a_denial']}) | {errors} | "
            f"{s['mean']} · {s['median']} · {s['max']} |"
        )
    lines += [
        "",
        "95 % Wilson intervals; (k/n). Utility if nothing is done: AgentDojo's check on the "
        "same examples for a run that makes no call and answers nothing.",
        "",
    ]
    for row in rows:
        lines.append(f"- `{row['run']}`: tasks done: {', '.join(row['done']) or 'none'}")
        floor = ", ".join(row["utility_if_nothing_done"]["ids"]) or "none"
        lines.append(f"  done if nothing is done: {floor}")
        if "asr" in row:
            wins = ", ".join(row["attacks_that_succeeded"]) or "none"
            lines.append(f"  attacks that succeeded: {wins}")
        if row["denied_by_tool"]:
            tools = ", ".join(f"{k} × {v}" for k, v in sorted(row["denied_by_tool"].items()))
            lines.append(f"  denied: {tools}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("records", type=Path, nargs="+", help="parcall eval records files.")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rows = [run_row(path) for path in args.records]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    table = markdown(rows)
    (args.out / "results.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
