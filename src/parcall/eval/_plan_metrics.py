"""Plan accuracy: the calls an agent made against a gold plan, both as parcall `Task`s whose
arguments may hold `Ref`s to earlier calls.

- `exact`: every gold call is made once with the same tool and arguments (references to the
  matching calls, the same fields), and nothing else; the order of independent calls is free.
- `call_precision` / `call_recall` / `call_f1`: calls matched that way (tool + arguments).
- `arg_accuracy`: gold arguments reproduced, each gold call paired with the made call of the
  same tool that agrees on most of them.
- `dag`: the same multiset of tools and the same dependency structure, arguments aside
  (TinyAgent's success metric): the two graphs are isomorphic with tools as node labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._core.plan import Ref, Task, Template, iter_refs
from .._core.result import RunResult

__all__ = ["made_tasks", "plan_scores", "same_dag", "trace_copies", "with_refs"]

Match = Callable[[Any, Any, Mapping[int, int]], bool]


def made_tasks(result: RunResult) -> list[Task]:
    """Every call the agent planned, over all plans of the run, in the order written."""
    return [task for plan in result.plans for task in plan.tasks]


def trace_copies(
    tasks: Sequence[Task], values: Mapping[int, Any], traceable: Callable[[str], bool]
) -> list[Task]:
    """The tasks with every copied result written as the reference it stands for.

    An agent that reads results before its next call (ReAct, parallel tool calls) may write
    a result's value instead of `$1.id`. When the stub results are distinct strings
    (`traceable` tells which), a literal equal to a string in an earlier task's result is
    that result's field, so the dependency counts; a string holding one becomes a template.
    """
    sources: dict[str, Ref] = {}
    result: list[Task] = []
    for task in sorted(tasks, key=lambda t: t.idx):
        args = {k: _trace(v, sources) for k, v in task.args.items()}
        deps = sorted({*task.deps, *(r.task for v in args.values() for r in iter_refs(v))})
        result.append(Task(task.idx, task.tool, args, tuple(deps), task.thought, task.line))
        if task.idx in values:
            for text, path in _strings(values[task.idx], ()):
                if traceable(text):
                    sources.setdefault(text, Ref(task.idx, path))
    order = {t.idx: i for i, t in enumerate(tasks)}
    return sorted(result, key=lambda t: order[t.idx])


def _strings(value: Any, path: tuple[str | int, ...]) -> list[tuple[str, tuple[str | int, ...]]]:
    if isinstance(value, str):
        return [(value, path)]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() if isinstance(k, str) for s in _strings(v, (*path, k))]
    if isinstance(value, (list, tuple)):
        return [s for i, v in enumerate(value) for s in _strings(v, (*path, i))]
    return []


def _trace(value: Any, sources: Mapping[str, Ref]) -> Any:
    def find(text: str) -> list[tuple[int, int, Ref]]:
        if text in sources:
            return [(0, len(text), sources[text])]
        spans = []
        for source, ref in sources.items():
            at = text.find(source)
            if at >= 0:
                spans.append((at, at + len(source), ref))
        return spans

    return with_refs(value, find) if sources else value


def with_refs(value: Any, find: Callable[[str], list[tuple[int, int, Ref]]]) -> Any:
    """`value` with the spans `find` marks in its strings (lists and dicts included) made
    references: a string that is one span becomes the `Ref`, one that holds spans a
    `Template`. Overlapping spans after the first are ignored."""
    if isinstance(value, str):
        parts: list[str | Ref] = []
        last = 0
        for start, end, ref in sorted(find(value), key=lambda s: s[0]):
            if start < last:
                continue
            if start > last:
                parts.append(value[last:start])
            parts.append(ref)
            last = end
        if not parts:
            return value
        if last < len(value):
            parts.append(value[last:])
        return parts[0] if len(parts) == 1 else Template(tuple(parts))
    if isinstance(value, list):
        return [with_refs(v, find) for v in value]
    if isinstance(value, dict):
        return {k: with_refs(v, find) for k, v in value.items()}
    return value


def plan_scores(gold: Sequence[Task], made: Sequence[Task]) -> dict[str, float]:
    """The scores above, each in [0, 1]."""
    matched = _align(gold, made, full=True)
    precision = len(matched) / len(made) if made else float(not gold)
    recall = len(matched) / len(gold) if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = len(matched) == len(gold) == len(made)
    return {
        "exact": float(exact),
        "call_precision": precision,
        "call_recall": recall,
        "call_f1": f1,
        "arg_accuracy": _arg_accuracy(gold, made),
        "dag": float(same_dag(gold, made)),
    }


def same_value(gold: Any, made: Any, pairs: Mapping[int, int]) -> bool:
    """Equal arguments; a reference matches one to the paired call with the same path."""
    if isinstance(gold, Ref) or isinstance(made, Ref):
        return (
            isinstance(gold, Ref)
            and isinstance(made, Ref)
            and pairs.get(gold.task) == made.task
            and _path(gold.path) == _path(made.path)
        )
    if isinstance(gold, Template) or isinstance(made, Template):
        return (
            isinstance(gold, Template)
            and isinstance(made, Template)
            and len(gold.parts) == len(made.parts)
            and all(same_value(g, m, pairs) for g, m in zip(gold.parts, made.parts))
        )
    if isinstance(gold, dict):
        return (
            isinstance(made, dict)
            and gold.keys() == made.keys()
            and all(same_value(gold[k], made[k], pairs) for k in gold)
        )
    if isinstance(gold, (list, tuple)):
        return (
            isinstance(made, (list, tuple))
            and len(gold) == len(made)
            and all(same_value(g, m, pairs) for g, m in zip(gold, made))
        )
    if isinstance(gold, bool) or isinstance(made, bool):
        return gold is made
    return bool(gold == made)


def _path(path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # `$1.id` on a list of results is `$1[0].id`: the two spellings are the same reference.
    return tuple(
        item
        for i, item in enumerate(path)
        if not (item == 0 and i + 1 < len(path) and isinstance(path[i + 1], str))
    )


def _align(gold: Sequence[Task], made: Sequence[Task], *, full: bool) -> dict[int, int]:
    """Gold call → made call. Gold calls are taken in order (references point back, so a
    call's inputs are paired before it); `full` pairs only calls with all arguments equal,
    otherwise the same-tool call agreeing on most arguments."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for g in gold:
        best: Task | None = None
        best_score = -1
        for m in made:
            if m.idx in used or m.tool != g.tool:
                continue
            if full:
                if g.args.keys() == m.args.keys() and all(
                    same_value(v, m.args[k], pairs) for k, v in g.args.items()
                ):
                    best = m
                    break
            else:
                score = _agreeing(g, m, pairs)
                if score > best_score:
                    best, best_score = m, score
        if best is not None:
            pairs[g.idx] = best.idx
            used.add(best.idx)
    return pairs


def _agreeing(gold: Task, made: Task, pairs: Mapping[int, int]) -> int:
    return sum(
        1 for k, v in gold.args.items() if k in made.args and same_value(v, made.args[k], pairs)
    )


def _arg_accuracy(gold: Sequence[Task], made: Sequence[Task]) -> float:
    total = sum(len(g.args) for g in gold)
    if total == 0:
        return 1.0
    pairs = _align(gold, made, full=False)
    by_idx = {m.idx: m for m in made}
    agreeing = sum(_agreeing(g, by_idx[pairs[g.idx]], pairs) for g in gold if g.idx in pairs)
    return agreeing / total


def same_dag(gold: Sequence[Task], made: Sequence[Task]) -> bool:
    """Whether the two plans are isomorphic DAGs with tool names as node labels."""
    if len(gold) != len(made) or Counter(t.tool for t in gold) != Counter(t.tool for t in made):
        return False
    g_in = {t.idx: frozenset(t.deps) for t in gold}
    m_in = {t.idx: frozenset(t.deps) for t in made}
    if any(d not in m_in for deps in m_in.values() for d in deps):
        return False  # a reference to a call outside the plan (cannot be the same graph)
    g_out, m_out = _reverse(g_in), _reverse(m_in)
    g_tool = {t.idx: t.tool for t in gold}
    m_tool = {t.idx: t.tool for t in made}
    order = [t.idx for t in gold]  # references point back: a call's inputs are mapped first
    mapping: dict[int, int] = {}
    taken: set[int] = set()

    def extend(i: int) -> bool:
        # Backtracking; plans are small (a dozen calls), and labels and degrees prune hard.
        if i == len(order):
            return True
        g = order[i]
        inputs = {mapping[d] for d in g_in[g]}
        for m in m_in:
            if (
                m in taken
                or m_tool[m] != g_tool[g]
                or len(m_out[m]) != len(g_out[g])
                or m_in[m] != inputs
            ):
                continue
            mapping[g] = m
            taken.add(m)
            if extend(i + 1):
                return True
            del mapping[g]
            taken.discard(m)
        return False

    position = {idx: i for i, idx in enumerate(order)}
    if any(position.get(d, len(order)) >= position[g] for g in g_in for d in g_in[g]):
        raise ValueError("a gold plan must refer only to earlier calls")
    return extend(0)


def _reverse(ins: Mapping[int, frozenset[int]]) -> dict[int, set[int]]:
    outs: dict[int, set[int]] = {idx: set() for idx in ins}
    for idx, deps in ins.items():
        for dep in deps:
            outs[dep].add(idx)
    return outs
