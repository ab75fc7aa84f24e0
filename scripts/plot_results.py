"""Draw the documentation's result plots from the published result files.

Reads only what is committed under bench/results/ and writes PNG files (by default into
docs/img/results/, where the results pages show them):

- accuracy.png: score against seconds per question, per dataset, agent and model, for the
  rows of the accuracy table, with 95 % bootstrap intervals on both (from the per-question
  records);
- tool_latency.png: seconds per question on HotpotQA with every search instant or taking
  0.5 s, parcall against ReAct on the embedded default;
- simulated.png: makespan over the critical-path bound per workload and agent (scripted
  model, `parcall bench simulated` and the peers);
- scale.png: time and memory per task from 1,000 to 100,000 tasks (`parcall bench micro`);
- timeline-W1.png, timeline-U2.png: copies of the published timelines of one run of each
  agent (bench/results/timelines/), so the site carries them.

    python scripts/plot_results.py [--out DIR]
    python scripts/plot_results.py --compare     # paired differences, printed as a table

Needs matplotlib (`pip install 'parcall[bench]'`). The bootstrap is seeded: the same files
give the same figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_OUT = ROOT / "docs" / "img" / "results"

# The accuracy table's rows: every run of round 3, with the runs of round 4 replacing the
# run of the same name (later folders win). Runs the table does not show are left out.
TABLE_FOLDERS = [
    "round-3/hotpotqa",
    "round-3/fanoutqa",
    "round-3/nestful",
    "round-3/bfcl-parallel",
    "round-3/bfcl-parallel-multiple",
    "round-3/bfcl-exec-parallel",
    "round-3/bfcl-exec-parallel-multiple",
    "round-4/hotpotqa",
    "round-4/hotpotqa-restate",
    "round-4/fanoutqa",
]
NOT_IN_TABLE = {"hotpotqa.test.parcall.local-small.text-constrained.thought-always"}
DATASETS = {
    "hotpotqa": "HotpotQA (EM)",
    "fanoutqa": "FanOutQA (loose)",
    "nestful": "NESTFUL (DAG)",
    "bfcl-parallel": "BFCL parallel (AST)",
    "bfcl-parallel-multiple": "BFCL parallel-multiple (AST)",
    "bfcl-exec-parallel": "BFCL exec parallel",
    "bfcl-exec-parallel-multiple": "BFCL exec parallel-multiple",
}
AGENT_COLORS = {"parcall": "#4C72B0", "react": "#DD8452", "parallel": "#55A868"}
AGENT_NAMES = {"parcall": "parcall", "react": "ReAct", "parallel": "parallel calls"}
MODEL_MARKERS = {"local": "o", "local:small": "^"}
TIMELINES = ["W1", "U2"]
SEED = 20261130
RESAMPLES = 2000


@dataclass(frozen=True)
class Row:
    """One published `parcall eval` run: its summary and its per-question records."""

    dataset: str
    agent: str
    model: str
    run: str
    primary: str
    scores: list[float]
    seconds: list[float]
    tool_latency: float

    @property
    def variant(self) -> str:
        return "restate" if self.run.endswith("thought-restate") else ""


def load_rows(folder: Path) -> list[Row]:
    rows = []
    for summary in json.loads((folder / "summary.json").read_text(encoding="utf-8")):
        records = [
            json.loads(line)
            for line in (folder / summary["records_file"]).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        rows.append(
            Row(
                dataset=summary["dataset"],
                agent=summary["agent"],
                model=summary["model"],
                run=summary["run"],
                primary=summary["primary"],
                scores=[float(r["scores"].get(summary["primary"], 0.0)) for r in records],
                seconds=[float(r["wall_s"]) for r in records],
                tool_latency=float(summary.get("tool_latency_s") or 0.0),
            )
        )
    return rows


def table_rows(results: Path = RESULTS) -> list[Row]:
    by_run: dict[str, Row] = {}
    for name in TABLE_FOLDERS:
        for row in load_rows(results / "eval" / name):
            if row.run not in NOT_IN_TABLE:
                by_run[row.run] = row
    return list(by_run.values())


def mean_interval(values: Sequence[float], rng: Any) -> tuple[float, float, float]:
    """The mean and its 95 % percentile-bootstrap interval."""
    import numpy as np

    data = np.asarray(values, dtype=float)
    means = rng.choice(data, size=(RESAMPLES, len(data)), replace=True).mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(data.mean()), float(low), float(high)


def paired_difference(a: Sequence[float], b: Sequence[float], rng: Any) -> tuple[float, ...]:
    """Mean of a - b over the same questions, with its 95 % bootstrap interval."""
    return mean_interval([x - y for x, y in zip(a, b, strict=True)], rng)


# (dataset, model, agent A, agent B): the comparisons the accuracy page states in words.
COMPARISONS = [
    ("hotpotqa", "local", "parcall", "react"),
    ("hotpotqa", "local", "parcall", "parallel"),
    ("hotpotqa", "local:small", "parcall", "react"),
    ("hotpotqa", "local:small", "parcall", "parallel"),
    ("fanoutqa", "local", "parcall", "react"),
    ("fanoutqa", "local", "parcall", "parallel"),
    ("fanoutqa", "local:small", "parcall", "react"),
    ("fanoutqa", "local:small", "parcall", "parallel"),
    *[
        (dataset, model, "parcall", other)
        for dataset in DATASETS
        if dataset.startswith("bfcl") or dataset == "nestful"
        for model in ("local", "local:small")
        for other in ("react", "parallel")
    ],
]


def compare(rows: list[Row], rng: Any) -> list[str]:
    """Paired differences (A - B over the same questions) of score and seconds, as markdown.

    For HotpotQA on local:small, parcall is its `--join-thought restate` row.
    """
    lines = [
        "| dataset | model | A − B | n | score difference (95 % interval) "
        "| seconds difference (95 % interval) |",
        "|---|---|---|---:|---|---|",
    ]
    for dataset, model, a, b in COMPARISONS:
        candidates = [r for r in rows if r.dataset == dataset and r.model == model]
        first = [r for r in candidates if r.agent == a]
        first = [r for r in first if r.variant == "restate"] or first
        second = [r for r in candidates if r.agent == b]
        if not first or not second or len(first[0].scores) != len(second[0].scores):
            continue
        cells = []
        for x, y in ((first[0].scores, second[0].scores), (first[0].seconds, second[0].seconds)):
            mean, low, high = paired_difference(x, y, rng)
            noise = ", within noise" if low <= 0 <= high and (low, high) != (0, 0) else ""
            cells.append(f"{mean:+.3f} ({low:+.3f} to {high:+.3f}{noise})")
        label = f"{AGENT_NAMES[a]} − {AGENT_NAMES[b]}"
        lines.append(
            f"| {DATASETS[dataset]} | {model} | {label} | {len(first[0].scores)} | "
            f"{cells[0]} | {cells[1]} |"
        )
    return lines


def plot_accuracy(rows: list[Row], out: Path, plt: Any, rng: Any) -> None:
    fig, axes = plt.subplots(2, 4, figsize=(15, 7.5))
    flat = list(axes.flat)
    for ax, (dataset, title) in zip(flat, DATASETS.items()):
        for row in sorted(
            (r for r in rows if r.dataset == dataset), key=lambda r: (r.agent, r.model, r.run)
        ):
            score, s_low, s_high = mean_interval(row.scores, rng)
            secs, t_low, t_high = mean_interval(row.seconds, rng)
            restate = row.variant == "restate"
            ax.errorbar(
                secs,
                score,
                xerr=[[secs - t_low], [t_high - secs]],
                yerr=[[score - s_low], [s_high - score]],
                fmt=MODEL_MARKERS.get(row.model, "s"),
                color=AGENT_COLORS[row.agent],
                markerfacecolor="white" if restate else AGENT_COLORS[row.agent],
                markersize=8,
                capsize=3,
                alpha=0.9,
            )
        n = sorted({len(r.scores) for r in rows if r.dataset == dataset})
        ax.set_title(f"{title}, n = {'/'.join(map(str, n))}", fontsize=10)
        ax.set_xlabel("seconds per question (mean)")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    for ax in flat[0::4]:
        ax.set_ylabel("score")
    legend_ax = flat[-1]
    legend_ax.axis("off")
    for agent, color in AGENT_COLORS.items():
        legend_ax.plot([], [], "s", color=color, label=AGENT_NAMES[agent], markersize=9)
    for model, marker in MODEL_MARKERS.items():
        legend_ax.plot([], [], marker, color="#555555", label=model, markersize=8)
    legend_ax.plot([], [], "^", color="#4C72B0", markerfacecolor="white", label="parcall, restate")
    legend_ax.legend(loc="center", frameon=False, fontsize=11)
    fig.suptitle(
        "parcall eval, test split, 2-core CPU: score against time, 95 % bootstrap intervals"
    )
    fig.tight_layout()
    save(fig, out / "accuracy.png", plt)


def plot_tool_latency(results: Path, out: Path, plt: Any, rng: Any) -> None:
    instant = {
        (r.agent, r.model): r
        for r in table_rows(results)
        if r.dataset == "hotpotqa" and r.variant == ""
    }
    slow = {
        (r.agent, r.model): r
        for r in load_rows(results / "eval" / "round-4" / "hotpotqa-latency-0.5")
    }
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for agent in ("parcall", "react"):
        points = [instant[(agent, "local")], slow[(agent, "local")]]
        xs = [p.tool_latency for p in points]
        stats = [mean_interval(p.seconds, rng) for p in points]
        ax.errorbar(
            xs,
            [s[0] for s in stats],
            yerr=[[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]],
            fmt="-o",
            color=AGENT_COLORS[agent],
            capsize=4,
            label=AGENT_NAMES[agent],
        )
    ax.set_xlabel("seconds each search takes")
    ax.set_ylabel("seconds per question (mean, 95 % interval)")
    ax.set_title("HotpotQA test (n = 28), local model", fontsize=10)
    ax.set_xticks([0.0, 0.5])
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save(fig, out / "tool_latency.png", plt)


def plot_simulated(results: Path, out: Path, plt: Any) -> None:
    import numpy as np

    data = json.loads((results / "simulated.json").read_text(encoding="utf-8"))
    workloads: list[str] = []
    ratios: dict[str, dict[str, list[float]]] = {}
    for run in data["runs"]:
        if run["workload"] not in workloads:
            workloads.append(run["workload"])
        ratios.setdefault(AGENT_NAMES[run["agent"]], {}).setdefault(run["workload"], []).append(
            run["ratio"]
        )
    medians = {
        agent: {w: float(np.median(v)) for w, v in per.items()} for agent, per in ratios.items()
    }
    for peer in data.get("peers", []):
        name = f"{peer['peer']} {peer['version']}"
        medians.setdefault(name, {})[peer["workload"]] = float(peer["ratio_median"])
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / len(medians)
    colors = {AGENT_NAMES[a]: c for a, c in AGENT_COLORS.items()}
    peer_colors = iter(["#8172B3", "#937860", "#DA8BC3"])
    for i, (agent, per) in enumerate(medians.items()):
        xs = [j + i * width for j, w in enumerate(workloads) if w in per]
        ax.bar(
            xs,
            [per[w] for w in workloads if w in per],
            width,
            label=agent,
            color=colors.get(agent) or next(peer_colors),
        )
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_xticks(
        [j + 0.4 - width / 2 for j in range(len(workloads))], workloads, rotation=20, ha="right"
    )
    ax.set_ylabel("makespan / critical-path bound")
    ax.set_yscale("log")
    ticks = [1, 1.25, 1.5, 2, 3, 5, 10]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_yticks([], minor=True)
    ax.set_title("Scripted model, same DAGs for every agent (median of 3 runs; 1.0 is the bound)")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save(fig, out / "simulated.png", plt)


def plot_scale(results: Path, out: Path, plt: Any) -> None:
    sizes = json.loads((results / "micro.json").read_text(encoding="utf-8"))["sizes"]
    tasks = [s["tasks"] for s in sizes]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(tasks, [s["end_to_end_us_per_task"] for s in sizes], "-o", label="end to end")
    left.plot(tasks, [s["execute_us_per_task"] for s in sizes], "-o", label="engine alone")
    left.axhline(40, color="grey", linestyle="--", linewidth=0.8, label="target 40 µs")
    left.set_ylabel("µs per task")
    right.plot(tasks, [s["end_to_end_kb_per_task"] for s in sizes], "-o", color="#8172B3")
    right.axhline(1.0, color="grey", linestyle="--", linewidth=0.8, label="target 1 KB")
    right.set_ylabel("KB per task (peak memory / tasks)")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("tasks in one plan")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Agent.run with ScriptedModel and instant tools (parcall bench micro)")
    fig.tight_layout()
    save(fig, out / "scale.png", plt)


def save(fig: Any, path: Path, plt: Any) -> None:
    # No software/date metadata: the same inputs write the same bytes.
    fig.savefig(path, dpi=90, metadata={"Software": None})
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs")
    parser.add_argument("--results", type=Path, default=RESULTS, help=argparse.SUPPRESS)
    parser.add_argument(
        "--compare", action="store_true", help="print paired differences instead of plotting"
    )
    args = parser.parse_args(argv)
    if args.compare:
        import numpy as np

        print("\n".join(compare(table_rows(args.results), np.random.default_rng(SEED))))
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    plot_accuracy(table_rows(args.results), out, plt, rng)
    plot_tool_latency(args.results, out, plt, rng)
    plot_simulated(args.results, out, plt)
    plot_scale(args.results, out, plt)
    for name in TIMELINES:
        shutil.copyfile(args.results / "timelines" / f"{name}.png", out / f"timeline-{name}.png")
    written = sorted(out.glob("*.png"))
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()
