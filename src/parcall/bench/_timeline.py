"""Timelines (Gantt charts) of runs, drawn from their events: PNG (matplotlib) and HTML.

The same code draws any trace — `Event`s of a `RunResult` or the dicts of a JSONL trace —
so a run of parcall, of a baseline or from a user's program all look alike: one lane for
the model's calls (plan / turn, joiner / answer), one per task of the plan (waiting for its
inputs, then its outcome: green done, red failed, thin red not run, grey never settled),
every bar a few pixels wide at least and labelled with its outcome and duration.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .._core.events import Event
from .._core.extras import require
from .._core.observation import truncate
from .._core.trace import event_to_dict

__all__ = ["Span", "Timeline", "draw", "timeline_from_events", "write_html", "write_png"]

SpanKind = Literal["plan", "join", "wait", "task", "failed", "skipped", "unfinished"]
COLORS: dict[str, str] = {
    "plan": "#4C72B0",
    "join": "#8172B3",
    "wait": "#DDDDDD",
    "task": "#55A868",
    "failed": "#C44E52",
    "skipped": "#C44E52",
    "unfinished": "#999999",
}
LEGEND = {
    "plan": "model: plan / turn",
    "join": "model: joiner / answer",
    "wait": "task parsed, waiting for inputs",
    "task": "tool ran and succeeded",
    "failed": "tool failed (thin: not run, an input failed)",
    "unfinished": "never settled (run cut short)",
}
MIN_WIDTH_PX = 4.0
"""Every bar is at least this wide, so a task of microseconds still shows."""
TASK_KINDS = ("task", "failed", "skipped", "unfinished")
"""The kinds of span that stand for a task's outcome: every task of a plan has one."""


@dataclass(frozen=True, slots=True)
class Span:
    lane: str
    start: float
    end: float
    kind: SpanKind
    label: str = ""
    task: int | None = None
    """The task's index, for task spans (waiting and outcome)."""


@dataclass(frozen=True, slots=True)
class Timeline:
    title: str
    spans: tuple[Span, ...]
    lanes: tuple[str, ...]
    duration: float
    marks: tuple[tuple[str, float], ...] = ()

    @property
    def outcomes(self) -> dict[int, SpanKind]:
        """Each task's outcome span kind, by index."""
        return {s.task: s.kind for s in self.spans if s.task is not None and s.kind in TASK_KINDS}


def timeline_from_events(
    events: Iterable[Event | Mapping[str, Any]],
    *,
    title: str = "",
    marks: Sequence[tuple[str, float]] = (),
) -> Timeline:
    """Spans of one run from its events (typed, or dicts as `parcall._core.trace` writes them).

    Every task that was parsed gets a lane and an outcome bar — succeeded, failed, not run
    (an input failed) or never settled — so the picture shows each task of the plan.
    """
    rows = [e if isinstance(e, Mapping) else event_to_dict(e, value_chars=80) for e in events]
    spans: list[Span] = []
    parsed: dict[int, tuple[float, str]] = {}
    started: dict[int, float] = {}
    settled: set[int] = set()
    lanes: dict[str, None] = {"model": None}
    calls = [r for r in rows if r["kind"] == "model_call_finished"]
    answered = any(r["kind"] == "answered" for r in rows)
    end = max((float(r["time"]) for r in rows), default=0.0)
    for row in rows:
        kind, at = row["kind"], float(row["time"])
        if kind == "model_call_finished":
            last = answered and row["purpose"] == "turn" and row is calls[-1]
            purpose: SpanKind = "join" if row["purpose"] == "join" or last else "plan"
            usage = row.get("usage") or {}
            label = f"{row['purpose']} r{row['round']}: {usage.get('output_tokens', '?')} tok"
            spans.append(Span("model", float(row["started"]), at, purpose, label))
        elif kind == "task_parsed":
            idx, tool = int(row["task"]["idx"]), str(row["task"]["tool"])
            parsed[idx] = (at, tool)
            lanes[_lane(idx, tool)] = None
        elif kind == "task_started" and int(row["idx"]) not in started:
            idx = int(row["idx"])
            started[idx] = at
            lane = _lane(idx, str(row["tool"]))
            lanes[lane] = None
            if idx in parsed and at > parsed[idx][0]:
                spans.append(Span(lane, parsed[idx][0], at, "wait", f"#{idx} waits", idx))
        elif kind in ("task_finished", "task_failed"):
            obs = row["observation"]
            idx, ok = int(obs["idx"]), kind == "task_finished"
            lane = _lane(idx, str(obs["tool"]))
            lanes[lane] = None
            settled.add(idx)
            shown = str(obs.get("value") if ok else obs.get("error"))[:60]
            shape: SpanKind = "task" if ok else "failed"
            begin = started.get(idx)
            if begin is None:  # never ran: bad arguments, or an input failed
                shape, begin = "skipped", parsed.get(idx, (at, ""))[0]
            if shape == "skipped":  # the error says why it did not run
                said = shown if shown.startswith("not run") else f"not run: {shown}"
                label = f"#{idx} {said}"
            else:
                label = f"#{idx} {_WORD[shape]} {_duration(at - begin)}: {shown}"
            spans.append(Span(lane, begin, at, shape, label, idx))
    for idx, (at, tool) in parsed.items():
        if idx not in settled:
            begin = started.get(idx, at)
            label = f"#{idx} {_WORD['unfinished']}"
            spans.append(Span(_lane(idx, tool), begin, max(end, begin), "unfinished", label, idx))
    return Timeline(title, tuple(spans), tuple(lanes), end, tuple(marks))


_WORD = {"task": "done", "failed": "failed", "skipped": "not run", "unfinished": "not finished"}


def _duration(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _lane(idx: int, tool: str) -> str:
    return f"{idx}. {tool}"


def write_png(timelines: Sequence[Timeline], path: str | Path, *, title: str = "") -> None:
    """One Gantt chart per timeline, stacked, on a shared time axis (needs matplotlib)."""
    fig = draw(timelines, title=title)
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)


def draw(timelines: Sequence[Timeline], *, title: str = "") -> Any:
    """The matplotlib figure `write_png` saves: a bar per span (each at least a few pixels
    wide), coloured by kind, tasks labelled with their outcome and duration."""
    matplotlib = require("matplotlib", needed_for="a PNG timeline")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    heights = [max(2, len(t.lanes)) for t in timelines]
    width_in, dpi = 12.0, 110
    fig, axes = plt.subplots(
        len(timelines),
        1,
        figsize=(width_in, 1.2 + 0.22 * sum(heights) + 0.5 * len(timelines)),
        sharex=True,
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    horizon = max((t.duration for t in timelines), default=1.0) * 1.02 or 1.0
    min_width = horizon * MIN_WIDTH_PX / (width_in * dpi * 0.8)  # the axes are ~80 % wide
    for ax, tl in zip(axes[:, 0], timelines):
        row = {lane: i for i, lane in enumerate(tl.lanes)}
        for span in tl.spans:
            thin = span.kind in ("wait", "skipped")
            ax.barh(row[span.lane], max(span.end - span.start, min_width), left=span.start,
                    height=0.35 if thin else 0.75, color=COLORS[span.kind],
                    edgecolor="white", linewidth=0.6, label=f"_{span.kind}")  # fmt: skip
            if span.task is not None and span.kind in TASK_KINDS:
                ax.text(span.start + max(span.end - span.start, min_width), row[span.lane],
                        " " + span.label, fontsize=6, va="center", clip_on=True)  # fmt: skip
        for name, at in tl.marks:
            ax.axvline(at, color="black", linestyle="--", linewidth=1)
            ax.text(at, -0.6, f" {name} {at:.2f} s", fontsize=7, va="bottom")
        ax.axvline(tl.duration, color="#C44E52", linewidth=1)
        ax.set_yticks(range(len(tl.lanes)), tl.lanes, fontsize=6 if len(tl.lanes) > 20 else 8)
        ax.set_ylim(len(tl.lanes) - 0.4, -0.9)
        ax.set_title(f"{tl.title}: {tl.duration:.2f} s", fontsize=10, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlim(0, horizon)
    axes[-1, 0].set_xlabel("seconds since the request")
    fig.legend(handles=[Patch(color=COLORS[k], label=v) for k, v in LEGEND.items()],
               loc="lower center", ncol=6, fontsize=8, frameon=False)  # fmt: skip
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    fig.tight_layout(rect=(0, 0.04, 1, 0.98))
    return fig


def write_html(timelines: Sequence[Timeline], path: str | Path, *, title: str = "") -> None:
    """The same charts as self-contained HTML (inline SVG; hover a bar for its details)."""
    Path(path).write_text(render_html(timelines, title=title), encoding="utf-8")


def render_html(timelines: Sequence[Timeline], *, title: str = "") -> str:
    width, left, lane_h = 1100, 140, 16
    horizon = max((t.duration for t in timelines), default=1.0) * 1.02
    scale = (width - left - 10) / horizon
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font:13px sans-serif;margin:16px}text{font:11px sans-serif}</style>",
             f"<h2>{html.escape(title)}</h2><p>"]  # fmt: skip
    parts += [f"<span style='background:{COLORS[k]}'>&nbsp;&nbsp;&nbsp;</span> {v} &nbsp;"
              for k, v in LEGEND.items()]  # fmt: skip
    parts.append("</p>")
    for tl in timelines:
        row = {lane: i for i, lane in enumerate(tl.lanes)}
        height = lane_h * len(tl.lanes) + 30
        parts.append(f"<h3>{html.escape(tl.title)}: {tl.duration:.3f} s</h3>")
        parts.append(f"<svg width='{width}' height='{height}'>")
        for lane, i in row.items():
            parts.append(f"<text x='0' y='{i * lane_h + 12}'>{html.escape(lane)}</text>")
        for s in tl.spans:
            x, w = left + s.start * scale, max((s.end - s.start) * scale, MIN_WIDTH_PX)
            thin = s.kind in ("wait", "skipped")
            y = row[s.lane] * lane_h + (5 if thin else 2)
            h = lane_h - (10 if thin else 4)
            tip = f"{s.label} [{s.start:.4f} – {s.end:.4f} s]"
            task = f" data-task='{s.task}'" if s.task is not None else ""
            parts.append(
                f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{h}' "
                f"fill='{COLORS[s.kind]}' data-kind='{s.kind}'{task}>"
                f"<title>{html.escape(tip)}</title></rect>"
            )
            if s.task is not None and s.kind in TASK_KINDS:
                parts.append(
                    f"<text x='{x + w + 3:.1f}' y='{row[s.lane] * lane_h + 12}' "
                    f"font-size='10'>{html.escape(truncate(s.label, 60))}</text>"
                )
        axis_y = lane_h * len(tl.lanes) + 4
        for name, at in (*tl.marks, ("end", tl.duration)):
            x = left + at * scale
            parts.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='0' y2='{axis_y}' stroke='black' "
                         f"stroke-dasharray='4 3'><title>{html.escape(name)} {at:.4f} s"
                         "</title></line>")  # fmt: skip
        step = _tick(horizon)
        for k in range(int(horizon / step) + 1):
            x = left + k * step * scale
            parts.append(f"<text x='{x:.1f}' y='{axis_y + 14}'>{k * step:g}s</text>")
        parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _tick(horizon: float) -> float:
    for step in (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50):
        if horizon / step <= 15:
            return step
    return 100.0
