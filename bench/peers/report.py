"""Summarise peer runs (JSON lines from run_*.py) into peers.json and a markdown table.

    python3 bench/peers/report.py bench/results/peers.jsonl \
        --json bench/results/peers.json --md bench/results/peers.md

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads as wls

# Figures quoted in our issue for the same reference setting (ratio makespan / bound).
REFERENCE = {
    "original LLMCompiler (SqueezeAILab)": "1.010",
    "llmcompiler": "1.02-1.04 (0.1 s polling)",
    "llama-index-packs-agents-llm-compiler": "1.10-1.14 (whole plan, then waves)",
}


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    order = {w: i for i, w in enumerate(wls.ALL_WORKLOADS)}
    keys = sorted(
        {(r["workload"], r["peer"]) for r in rows}, key=lambda k: (order.get(k[0], 99), k[1])
    )
    for wl, peer in keys:
        rs = [r for r in rows if r["workload"] == wl and r["peer"] == peer]
        ms = [r["makespan_s"] for r in rs]
        bound = rs[0]["bound_s"]
        med = statistics.median(ms)
        out.append(
            {
                "workload": wl,
                "peer": peer,
                "version": rs[0]["version"],
                "repeats": len(rs),
                "makespan_median_s": round(med, 3),
                "makespan_min_s": round(min(ms), 3),
                "makespan_max_s": round(max(ms), 3),
                "bound_s": round(bound, 3),
                "ratio_median": round(med / bound, 3),
                "ratio_min": round(min(ms) / bound, 3),
                "ratio_max": round(max(ms) / bound, 3),
                "model_calls": sorted({r["model_calls"] for r in rs}),
                "answers_ok": all(r.get("detail", {}).get("answer_ok", True) for r in rs),
            }
        )
    return out


def markdown(summary: list[dict]) -> str:
    t = wls.REFERENCE_TIMING
    lines = [
        "# Peer LLMCompiler implementations on scripted latencies",
        "",
        f"Model: ttft {t.ttft_s:.2f} s, {t.per_token_s:.2f} s per {t.chars_per_token}-char token; "
        f"search {wls.SEARCH_LATENCY_S:.1f} s, math {wls.MATH_LATENCY_S:.1f} s "
        "(U1/U2 per-task latencies: bench/peers/workloads.py). "
        "Ratio = median makespan / critical-path bound (bench/peers/critical_path.py), "
        "bound computed from the plan/joiner text each peer is actually fed.",
        "",
        "| workload | peer | makespan median (s) | bound (s) | ratio | ratio range | model calls |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for s in summary:
        lines.append(
            f"| {s['workload']} | {s['peer']} {s['version']} | {s['makespan_median_s']:.3f} | "
            f"{s['bound_s']:.3f} | {s['ratio_median']:.3f} | "
            f"{s['ratio_min']:.3f}-{s['ratio_max']:.3f} | "
            f"{','.join(map(str, s['model_calls']))} |"
        )
    lines += [
        "",
        "Reference ratios quoted in our issue: "
        + "; ".join(f"{k} {v}" for k, v in REFERENCE.items())
        + ".",
        "Analysis and caveats: bench/peers/README.md.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("jsonl")
    p.add_argument("--json", required=True)
    p.add_argument("--md", required=True)
    a = p.parse_args()
    rows = [json.loads(x) for x in Path(a.jsonl).read_text().splitlines() if x.strip()]
    summary = summarise(rows)
    setting = {
        "model": asdict(wls.REFERENCE_TIMING),
        "token_rule": "4-char pieces per line; the newline ends a line's last token; "
        "token k arrives at ttft + (k-1)*per_token",
        "tools": {"search": wls.SEARCH_LATENCY_S, "math": wls.MATH_LATENCY_S},
        "workloads": {
            w.name: {
                "description": w.description,
                "tasks": [asdict(t) for t in w.tasks],
                "plan_lines": list(w.plan_lines),
                "joiner_text": w.joiner_text,
            }
            for w in wls.WORKLOADS.values()
        },
    }
    Path(a.json).write_text(
        json.dumps(
            {"setting": setting, "reference_ratios": REFERENCE, "summary": summary, "runs": rows},
            indent=1,
        )
        + "\n"
    )
    Path(a.md).write_text(markdown(summary))
    sys.stdout.write(markdown(summary))


if __name__ == "__main__":
    main()
