"""The trace page: one self-contained HTML file (no script, no network) showing a run.

Built from a run's events (typed, or dicts from a JSONL trace): a summary, the time
breakdown, the timeline (planner stream, each task from parsed to settled, joiner, lanes
grouped per replan round), the plan as a DAG (inline SVG), every task's call, arguments and
result, and each model call's tokens.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._core.events import Event
from .._core.trace import event_to_dict

__all__ = ["COLORS", "render_page", "write_page"]

COLORS: dict[str, str] = {
    "plan": "#1F5FBF",
    "join": "#7B3FB8",
    "wait": "#D0D0D0",
    "task": "#2CA02C",
    "failed": "#D62728",
    "skipped": "#F4A6A6",
}
"""Bar colours of the timeline; nothing else on the page uses them (tests find bars by them)."""
LEGEND = {
    "plan": "planner call",
    "join": "joiner call",
    "wait": "task parsed, waiting for its inputs",
    "task": "tool running",
    "failed": "tool failed",
    "skipped": "not run (bad input)",
}
NODE_FILL = {"done": "#E3F1E0", "failed": "#F8DADA", "pending": "#EEEEEE"}
VALUE_CHARS = 4000


@dataclass
class _Task:
    idx: int
    tool: str
    round: int
    deps: tuple[int, ...] = ()
    call: str = ""
    parsed: float | None = None
    attempts: list[float] = field(default_factory=list)
    settled: float | None = None
    status: str = "pending"
    arguments: Any = None
    result: str = ""


@dataclass
class _Call:
    purpose: str
    round: int
    start: float
    end: float
    usage: dict[str, int]


@dataclass
class _Run:
    tasks: dict[int, _Task] = field(default_factory=dict)
    calls: list[_Call] = field(default_factory=list)
    plan_errors: dict[int, str] = field(default_factory=dict)
    decisions: dict[int, tuple[str, str, float]] = field(default_factory=dict)
    answer: str | None = None
    duration: float = 0.0
    denials: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def rounds(self) -> list[int]:
        found = {c.round for c in self.calls} | {t.round for t in self.tasks.values()}
        return sorted(found) or [0]


def _read(rows: Sequence[Mapping[str, Any]]) -> _Run:
    run = _Run()
    for row in rows:
        kind, at = row.get("kind"), float(row.get("time", 0.0))
        run.duration = max(run.duration, at)
        if kind == "model_call_finished":
            usage = {k: int(v) for k, v in (row.get("usage") or {}).items() if k != "kind"}
            run.calls.append(
                _Call(str(row["purpose"]), int(row["round"]), float(row["started"]), at, usage)
            )
        elif kind == "task_parsed":
            task = row["task"]
            idx = int(task["idx"])
            run.tasks[idx] = _Task(
                idx,
                str(task["tool"]),
                int(row.get("round", 0)),
                tuple(int(d) for d in task.get("deps", ())),
                _describe(str(task["tool"]), task.get("args") or {}),
                parsed=at,
            )
        elif kind == "task_started":
            idx = int(row["idx"])
            task_ = run.tasks.setdefault(idx, _Task(idx, str(row["tool"]), 0))
            task_.attempts.append(at)
            task_.arguments = row.get("args")
        elif kind in ("task_finished", "task_failed"):
            obs = row["observation"]
            idx = int(obs["idx"])
            task_ = run.tasks.setdefault(idx, _Task(idx, str(obs["tool"]), 0))
            task_.settled = at
            ok = kind == "task_finished"
            started = task_.attempts or obs.get("started_at") is not None
            task_.status = "done" if ok else ("failed" if started else "skipped")
            if task_.arguments is None and task_.status != "skipped":
                task_.arguments = obs.get("args")  # never ran: its args may hold refs
            failure = f"{obs.get('error_type')}: {obs.get('error')}"
            task_.result = str(obs.get("value")) if ok else failure
        elif kind == "plan_finished" and row.get("error"):
            run.plan_errors[int(row["round"])] = str(row["error"])
        elif kind == "join_decided":
            run.decisions[int(row["round"])] = (str(row["decision"]), str(row["text"]), at)
        elif kind == "answered":
            run.answer = str(row["answer"])
        elif kind == "policy_denied":
            run.denials.append(row)
    return run


def render_page(
    events: Iterable[Event | Mapping[str, Any]],
    *,
    title: str = "parcall run",
    request: str | None = None,
) -> str:
    """The page as a string."""
    rows = [
        e if isinstance(e, Mapping) else event_to_dict(e, value_chars=VALUE_CHARS) for e in events
    ]
    run = _read(rows)
    parts = [
        "<!doctype html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _summary(run, request),
        "<h2>Timeline</h2>",
        _legend(),
        _timeline(run),
        "<h2>Time</h2>",
        _breakdown(run),
        "<h2>Plan</h2>",
        _dag(run),
        "<h2>Tasks</h2>",
        _task_table(run),
        _denials(run),
        "<h2>Model calls</h2>",
        _call_table(run),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_page(
    events: Iterable[Event | Mapping[str, Any]],
    path: str | Path,
    *,
    title: str = "parcall run",
    request: str | None = None,
) -> Path:
    """Write the page to `path`; returns the path."""
    out = Path(path)
    out.write_text(render_page(events, title=title, request=request), encoding="utf-8")
    return out


CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;max-width:1250px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;
vertical-align:top;text-align:left}th{background:#f4f4f4}
pre{margin:0;white-space:pre-wrap;word-break:break-word;max-width:520px;max-height:180px;
overflow:auto;font-size:12px}
.legend span.sw{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px}
svg text{font:11px system-ui,sans-serif;fill:#222}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}
dd{margin:0}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _summary(run: _Run, request: str | None) -> str:
    usage = _usage_total(run)
    failed = _count(run, "failed") + _count(run, "skipped")
    tokens_in, tokens_out = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    cached = usage.get("cached_tokens", 0)
    items = []
    if request:
        items.append(("request", request))
    items += [
        ("answer", run.answer if run.answer is not None else "(no answer: the run failed)"),
        ("duration", f"{run.duration:.3f} s"),
        ("rounds", f"{len(run.rounds)} (replans: {len(run.rounds) - 1})"),
        ("tasks", f"{len(run.tasks)} ({_count(run, 'done')} done, {failed} failed)"),
        ("tokens", f"{tokens_in:,} in ({cached:,} cached), {tokens_out:,} out"),
    ]
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return f"<dl id='summary'>{body}</dl>"


def _count(run: _Run, status: str) -> int:
    return sum(1 for t in run.tasks.values() if t.status == status)


def _usage_total(run: _Run) -> dict[str, int]:
    total: dict[str, int] = {}
    for call in run.calls:
        for key, value in call.usage.items():
            total[key] = total.get(key, 0) + value
    return total


def _legend() -> str:
    items = "".join(
        f"<span class='sw' style='background:{COLORS[k]}'></span>{_e(v)}" for k, v in LEGEND.items()
    )
    return f"<p class='legend'>{items}</p>"


def _timeline(run: _Run) -> str:
    """Lanes per round: the planner (with a tick per parsed task), its tasks, the joiner."""
    width, left, lane_h = 1200, 190, 22
    horizon = max(run.duration, 1e-6) * 1.02
    scale = (width - left - 20) / horizon
    lanes: list[tuple[str, int, list[str]]] = []  # label, round, svg pieces
    for rnd in run.rounds:
        plan_calls = [c for c in run.calls if c.round == rnd and c.purpose in ("plan", "turn")]
        join_calls = [c for c in run.calls if c.round == rnd and c.purpose == "join"]
        tasks = sorted((t for t in run.tasks.values() if t.round == rnd), key=lambda t: t.idx)
        bars = [_bar(left, scale, c.start, c.end, "plan", _call_tip(c)) for c in plan_calls]
        bars += [
            _tick(left, scale, t.parsed, f"#{t.idx} parsed") for t in tasks if t.parsed is not None
        ]
        lanes.append((f"round {rnd}: planner", rnd, bars))
        for t in tasks:
            lanes.append((f"{t.idx}. {t.tool}", rnd, _task_bars(t, left, scale)))
        if join_calls:
            decision = run.decisions.get(rnd)
            label = f"round {rnd}: joiner" + (f" ({decision[0]})" if decision else "")
            joins = [_bar(left, scale, c.start, c.end, "join", _call_tip(c)) for c in join_calls]
            lanes.append((label, rnd, joins))
    height = lane_h * len(lanes) + 34
    out = [f"<svg id='timeline' width='{width}' height='{height}'>"]
    for i, (label, rnd, pieces) in enumerate(lanes):
        y = i * lane_h
        if rnd % 2:
            out.append(f"<rect x='0' y='{y}' width='{width}' height='{lane_h}' fill='#F6F6FA'/>")
        out.append(f"<text x='4' y='{y + 15}'>{_e(label)}</text>")
        out.append(f"<g transform='translate(0,{y})'>{''.join(pieces)}</g>")
    axis = lane_h * len(lanes) + 4
    out.append(f"<line x1='{left}' x2='{width - 10}' y1='{axis}' y2='{axis}' stroke='#888'/>")
    step = _step(horizon)
    for k in range(int(horizon / step) + 1):
        x = left + k * step * scale
        out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{axis}' y2='{axis + 4}' stroke='#888'/>")
        out.append(f"<text x='{x:.1f}' y='{axis + 16}'>{k * step:g} s</text>")
    out.append("</svg>")
    return "".join(out)


def _task_bars(t: _Task, left: int, scale: float) -> list[str]:
    bars: list[str] = []
    end = t.settled if t.settled is not None else t.parsed or 0.0
    first = t.attempts[0] if t.attempts else None
    if t.parsed is not None and first is not None and first > t.parsed:
        bars.append(_bar(left, scale, t.parsed, first, "wait", f"#{t.idx} waits for inputs"))
    if t.status == "skipped":
        start = t.parsed if t.parsed is not None else end
        return [*bars, _bar(left, scale, start, end, "skipped", f"#{t.idx}: {t.result}")]
    if first is None:
        return bars
    kind = "task" if t.status == "done" else "failed"
    bounds = [*t.attempts, end]
    for n, (a, b) in enumerate(itertools.pairwise(bounds)):
        last = n == len(t.attempts) - 1
        shown = kind if last else "failed"  # an attempt before the last one failed
        tip = f"#{t.idx} {t.tool} attempt {n + 1}: {t.result[:80] if last else 'failed'}"
        bars.append(_bar(left, scale, a, b, shown, tip, idx=t.idx))
    return bars


def _bar(
    left: int,
    scale: float,
    start: float,
    end: float,
    kind: str,
    tip: str,
    idx: int | None = None,
) -> str:
    x, w = left + start * scale, max((end - start) * scale, 5.0)
    thin = kind in ("wait", "skipped")
    y, h = (7, 8) if thin else (3, 16)
    data = "" if idx is None else f" data-task='{idx}'"
    tip = f"{tip} [{start:.4f} – {end:.4f} s]"
    return (
        f"<rect class='bar {kind}'{data} x='{x:.1f}' y='{y}' width='{w:.1f}' height='{h}' "
        f"fill='{COLORS[kind]}'><title>{_e(tip)}</title></rect>"
    )


def _tick(left: int, scale: float, at: float, tip: str) -> str:
    x = left + at * scale
    return (
        f"<line x1='{x:.1f}' x2='{x:.1f}' y1='0' y2='21' stroke='#111' stroke-width='1'>"
        f"<title>{_e(tip)} at {at:.4f} s</title></line>"
    )


def _call_tip(c: _Call) -> str:
    return (
        f"{c.purpose} round {c.round}: {c.usage.get('input_tokens', 0)} in, "
        f"{c.usage.get('output_tokens', 0)} out"
    )


def _step(horizon: float) -> float:
    for step in (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60):
        if horizon / step <= 12:
            return step
    return 120.0


def _union(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _length(intervals: Sequence[tuple[float, float]]) -> float:
    return sum(b - a for a, b in intervals)


def _overlap(xs: Sequence[tuple[float, float]], ys: Sequence[tuple[float, float]]) -> float:
    return sum(max(0.0, min(b, d) - max(a, c)) for a, b in xs for c, d in ys)


def _breakdown(run: _Run) -> str:
    """Where the wall time went; tools overlapping the planner is the streaming's gain."""
    planner = _union((c.start, c.end) for c in run.calls if c.purpose in ("plan", "turn"))
    joiner = _union((c.start, c.end) for c in run.calls if c.purpose == "join")
    running = [
        (t.attempts[0], t.settled)
        for t in run.tasks.values()
        if t.attempts and t.settled is not None
    ]
    tools = _union(running)
    busy = _union([*planner, *joiner, *tools])
    rows = [
        ("wall time", run.duration),
        ("planner calls", _length(planner)),
        ("joiner calls", _length(joiner)),
        ("tools running (any)", _length(tools)),
        ("tool time, summed over tasks", sum(b - a for a, b in running)),
        ("tools running while the planner streamed", _overlap(tools, planner)),
        ("nothing running (engine, waits)", max(0.0, run.duration - _length(busy))),
    ]
    body = "".join(
        f"<tr><td>{_e(k)}</td><td>{v:.4f} s</td><td>{_pct(v, run.duration)}</td></tr>"
        for k, v in rows
    )
    head = "<tr><th>what</th><th>time</th><th>of wall</th></tr>"
    return f"<table id='breakdown'>{head}{body}</table>"


def _pct(value: float, whole: float) -> str:
    return f"{100 * value / whole:.0f} %" if whole > 0 else ""


def _dag(run: _Run) -> str:
    """Tasks in columns by depth (longest chain of inputs), edges from input to user."""
    if not run.tasks:
        return "<p>No tasks.</p>"
    depth: dict[int, int] = {}
    for idx in sorted(run.tasks):  # inputs always have smaller indices
        deps = [d for d in run.tasks[idx].deps if d in run.tasks]
        depth[idx] = 1 + max((depth.get(d, 0) for d in deps), default=-1)
    columns: dict[int, list[int]] = {}
    for idx in sorted(run.tasks):
        columns.setdefault(depth[idx], []).append(idx)
    box_w, box_h, gap_x, gap_y = 170, 34, 60, 14
    pos: dict[int, tuple[float, float]] = {}
    for col, members in columns.items():
        for row, idx in enumerate(members):
            pos[idx] = (10 + col * (box_w + gap_x), 10 + row * (box_h + gap_y))
    width = 20 + len(columns) * (box_w + gap_x)
    height = 20 + max(len(m) for m in columns.values()) * (box_h + gap_y)
    out = [
        f"<svg id='dag' width='{width}' height='{height}'>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto'><path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker>"
        "</defs>",
    ]
    for idx, task in sorted(run.tasks.items()):
        x2, y2 = pos[idx]
        for dep in task.deps:
            if dep not in pos:
                continue
            x1, y1 = pos[dep]
            out.append(
                f"<line class='edge' x1='{x1 + box_w:.0f}' y1='{y1 + box_h / 2:.0f}' "
                f"x2='{x2:.0f}' y2='{y2 + box_h / 2:.0f}' stroke='#555' "
                "marker-end='url(#arrow)'/>"
            )
    for idx, task in sorted(run.tasks.items()):
        x, y = pos[idx]
        fill = NODE_FILL.get(task.status, NODE_FILL["failed"])
        label = f"{idx}. {task.tool}"
        out.append(
            f"<g class='node' data-task='{idx}'><rect x='{x:.0f}' y='{y:.0f}' width='{box_w}' "
            f"height='{box_h}' rx='6' fill='{fill}' stroke='#666'/>"
            f"<text x='{x + 8:.0f}' y='{y + 14:.0f}'>{_e(label[:26])}</text>"
            f"<text x='{x + 8:.0f}' y='{y + 28:.0f}'>round {task.round}, {_e(task.status)}"
            f"</text><title>{_e(task.call)}</title></g>"
        )
    out.append("</svg>")
    return "".join(out)


def _task_table(run: _Run) -> str:
    if not run.tasks:
        return "<p>No tasks.</p>"
    head = (
        "<tr><th>#</th><th>round</th><th>call (as planned)</th><th>arguments</th>"
        "<th>status</th><th>attempts</th><th>parsed → started → settled (s)</th>"
        "<th>result</th></tr>"
    )
    rows = []
    for idx, t in sorted(run.tasks.items()):
        times = " → ".join(
            "–" if v is None else f"{v:.4f}"
            for v in (t.parsed, t.attempts[0] if t.attempts else None, t.settled)
        )
        rows.append(
            f"<tr class='task' data-task='{idx}'><td>{idx}</td><td>{t.round}</td>"
            f"<td><pre>{_e(t.call)}</pre></td><td><pre>{_e(_json(t.arguments))}</pre></td>"
            f"<td>{_e(t.status)}</td><td>{len(t.attempts)}</td><td>{times}</td>"
            f"<td><pre>{_e(t.result[:VALUE_CHARS])}</pre></td></tr>"
        )
    errors = "".join(
        f"<p>Plan of round {r} broke: {_e(msg)}</p>" for r, msg in sorted(run.plan_errors.items())
    )
    return f"<table id='tasks'>{head}{''.join(rows)}</table>{errors}"


def _denials(run: _Run) -> str:
    """The calls the agent's policy denied, and why (nothing when it denied none)."""
    if not run.denials:
        return ""
    head = "<tr><th>#</th><th>tool</th><th>why</th><th>derived from</th><th>approver</th></tr>"
    rows = [
        f"<tr class='denied' data-task='{_e(d.get('idx'))}'><td>{_e(d.get('idx'))}</td>"
        f"<td>{_e(d.get('tool'))}</td>"
        f"<td>denied by the {_e(d.get('policy'))} policy: {_e(d.get('reason'))}</td>"
        f"<td>{_e(', '.join(map(str, d.get('sources') or ())))}</td>"
        f"<td>{'rejected' if d.get('asked') else 'not asked'}</td></tr>"
        for d in run.denials
    ]
    return f"<h2>Policy</h2><table id='policy'>{head}{''.join(rows)}</table>"


def _call_table(run: _Run) -> str:
    head = (
        "<tr><th>purpose</th><th>round</th><th>start (s)</th><th>duration (s)</th>"
        "<th>input tokens</th><th>cached</th><th>output tokens</th></tr>"
    )
    rows = [
        f"<tr><td>{_e(c.purpose)}</td><td>{c.round}</td><td>{c.start:.4f}</td>"
        f"<td>{c.end - c.start:.4f}</td><td>{c.usage.get('input_tokens', 0)}</td>"
        f"<td>{c.usage.get('cached_tokens', 0)}</td><td>{c.usage.get('output_tokens', 0)}</td>"
        "</tr>"
        for c in run.calls
    ]
    decisions = "".join(
        f"<p>Joiner, round {r}: <b>{_e(d)}</b> — {_e(text)}</p>"
        for r, (d, text, _) in sorted(run.decisions.items())
    )
    return f"<table id='calls'>{head}{''.join(rows)}</table>{decisions}"


def _describe(tool: str, args: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={_show_arg(v)}" for k, v in args.items())
    return f"{tool}({shown})"


def _show_arg(value: Any) -> str:
    """Arguments as the plan wrote them: references as `$N`."""
    if isinstance(value, Mapping):
        if value.get("kind") == "ref":
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in value["path"])
            return f"${value['task']}{path}"
        if value.get("kind") == "template":
            return json.dumps(
                "".join(p if isinstance(p, str) else _show_arg(p) for p in value["parts"])
            )
        return "{" + ", ".join(f"{json.dumps(k)}: {_show_arg(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show_arg(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, default=str)


def _json(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)
