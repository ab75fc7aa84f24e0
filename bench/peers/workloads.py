"""Benchmark workloads as plain data, shared by the peer harnesses and (later) parcall's own.

No dependency on any peer or on parcall: standard library only, importable from any
virtualenv with Python >= 3.10.

A workload is a fixed LLMCompiler plan (numbered tool calls with ``$N`` dependencies,
ending in ``join()<END_OF_PLAN>``), per-task tool latencies, and a fixed joiner reply.

Conventions every harness relies on:

* Every task's first argument starts with the tag ``t<idx>`` (e.g. ``"t3 follow-up on $1"``).
  A scripted tool finds its task -- and so its latency and its result -- from that tag,
  whatever the peer did to the ``$N`` placeholders (substituted them, or left them as is).
* Tool results are the plain strings ``"r<idx>"`` (see :func:`tool_result`): no quotes,
  commas or numbers, so no peer's argument re-parsing (``ast.literal_eval``) changes them.
* The canonical plan text is the original LLMCompiler dialect: positional arguments,
  ``search("t1 ...")``. Peers whose parser wants keyword arguments get the same plan
  rendered with :func:`render_plan_lines` (``dialect="kwargs"``); the critical-path bound is
  always computed from the text that is actually streamed.
* The canonical joiner text is ``Thought: ...\\nAction: Finish(answer)``;
  :func:`render_joiner_text` gives the JSON form some peers parse instead.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

SEARCH_LATENCY_S = 1.0
MATH_LATENCY_S = 0.2
TOOL_ARG_NAMES = {"search": "query", "math": "expression"}
END_OF_PLAN = "<END_OF_PLAN>"


@dataclass(frozen=True)
class ModelTiming:
    """Scripted model pace: first token after ``ttft_s``, then one token per ``per_token_s``.

    A token is ``chars_per_token`` characters and never spans a newline: each line is cut
    into pieces of that many characters and the newline is the end of the line's last piece.
    """

    ttft_s: float = 0.30
    per_token_s: float = 0.01
    chars_per_token: int = 4


REFERENCE_TIMING = ModelTiming()


@dataclass(frozen=True)
class Task:
    idx: int
    tool: str  # "search" | "math"
    args: tuple[str, ...]  # positional arguments as the plan spells them, with $N placeholders
    deps: tuple[int, ...]
    latency_s: float


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    question: str
    tasks: tuple[Task, ...]
    joiner_thought: str
    joiner_answer: str
    plan_lines: tuple[str, ...] = field(default=())  # canonical (positional) plan, filled in
    joiner_text: str = ""  # canonical "Thought/Action: Finish(...)" reply, filled in

    def task(self, idx: int) -> Task:
        for t in self.tasks:
            if t.idx == idx:
                return t
        raise KeyError(idx)

    @property
    def join_idx(self) -> int:
        return max(t.idx for t in self.tasks) + 1


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_task_line(task: Task, dialect: str = "positional") -> str:
    """One plan line, e.g. ``2. search("t2 follow-up on $1")``."""
    if dialect == "positional":
        args = ", ".join(_quote(a) for a in task.args)
    elif dialect == "kwargs":
        if len(task.args) != 1:
            raise ValueError("kwargs dialect supports single-argument tools only")
        args = f"{TOOL_ARG_NAMES[task.tool]}={_quote(task.args[0])}"
    else:
        raise ValueError(f"unknown dialect {dialect!r}")
    return f"{task.idx}. {task.tool}({args})"


def render_plan_lines(wl: Workload, dialect: str = "positional") -> list[str]:
    lines = [render_task_line(t, dialect) for t in wl.tasks]
    lines.append(f"{wl.join_idx}. join(){END_OF_PLAN}")
    return lines


def render_plan_text(wl: Workload, dialect: str = "positional") -> str:
    """Plan text as the planner streams it: lines joined by newlines, no trailing newline."""
    return "\n".join(render_plan_lines(wl, dialect))


def render_joiner_text(wl: Workload, dialect: str = "react") -> str:
    if dialect == "react":  # original LLMCompiler / LlamaIndex pack joiner format
        return f"Thought: {wl.joiner_thought}\nAction: Finish({wl.joiner_answer})"
    if dialect == "json":  # llmcompiler (PyPI) joiner format
        return (
            "```json\n{\n"
            f'"_thought_": "{wl.joiner_thought}",\n'
            f'"_finish_": "{wl.joiner_answer}"\n'
            "}\n```"
        )
    raise ValueError(f"unknown dialect {dialect!r}")


_DEP_RE = re.compile(r"\$\{?(\d+)\}?")
_TAG_RE = re.compile(r"^\s*t(\d+)\b")


def deps_from_args(args: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(sorted({int(m) for a in args for m in _DEP_RE.findall(a)}))


def task_idx_from_arg(text: str) -> int:
    """The task index tagged at the start of a tool argument (``"t3 ..."`` -> 3)."""
    m = _TAG_RE.match(str(text))
    if not m:
        raise ValueError(f"tool argument without a t<idx> tag: {text!r}")
    return int(m.group(1))


def tool_result(idx: int) -> str:
    return f"r{idx}"


def _mk(idx: int, tool: str, arg: str, latency_s: float | None = None) -> Task:
    if latency_s is None:
        latency_s = SEARCH_LATENCY_S if tool == "search" else MATH_LATENCY_S
    text = f"t{idx} {arg}"
    return Task(idx, tool, (text,), deps_from_args((text,)), latency_s)


def _finish(wl: Workload) -> Workload:
    for t in wl.tasks:
        assert task_idx_from_arg(t.args[0]) == t.idx
        assert all(d < t.idx for d in t.deps)
    assert [t.idx for t in wl.tasks] == list(range(1, len(wl.tasks) + 1))
    assert len(wl.tasks) <= 9, "keep $N single-digit: some peers substitute $1 inside $10"
    return Workload(
        name=wl.name,
        description=wl.description,
        question=wl.question,
        tasks=wl.tasks,
        joiner_thought=wl.joiner_thought,
        joiner_answer=wl.joiner_answer,
        plan_lines=tuple(render_plan_lines(wl)),
        joiner_text=render_joiner_text(wl),
    )


U1_SEED = 2312
U1_SIGMA = 0.8  # lognormal(mu=0, sigma=0.8): median 1.0 s, heavy right tail


def _u1_latencies() -> list[float]:
    rng = random.Random(U1_SEED)
    return [round(rng.lognormvariate(0.0, U1_SIGMA), 3) for _ in range(6)]


def _build() -> dict[str, Workload]:
    w = {}
    w["W1"] = Workload(
        "W1",
        "4 independent searches -> math over the four -> join",
        "What is the combined population of Tokyo, Delhi, Shanghai and Sao Paulo?",
        (
            _mk(1, "search", "population of Tokyo"),
            _mk(2, "search", "population of Delhi"),
            _mk(3, "search", "population of Shanghai"),
            _mk(4, "search", "population of Sao Paulo"),
            _mk(5, "math", "sum of $1 and $2 and $3 and $4"),
        ),
        "The four populations were found and added.",
        "the sum of the four",
    )
    w["W2"] = Workload(
        "W2",
        "search -> search($1) -> math($2) -> join (a pure chain)",
        "How old is the current director of the museum that holds the Mona Lisa?",
        (
            _mk(1, "search", "museum that holds the Mona Lisa"),
            _mk(2, "search", "current director of $1"),
            _mk(3, "math", "age of $2 today"),
        ),
        "The museum, its director and the age were found.",
        "the age found last",
    )
    w["W3"] = Workload(
        "W3",
        "search; two searches on $1; math on $2,$3; join (a diamond)",
        "Which is taller, the highest mountain of the country that hosted the 2016 Olympics, "
        "or its longest river's length in meters divided by 1000?",
        (
            _mk(1, "search", "host country of 2016 Olympics"),
            _mk(2, "search", "highest mountain of $1"),
            _mk(3, "search", "longest river of $1"),
            _mk(4, "math", "compare $2 with $3"),
        ),
        "Both values for the host country were found and compared.",
        "the mountain",
    )
    lat = _u1_latencies()
    w["U1"] = Workload(
        "U1",
        f"fan-out of 6 searches, lognormal latencies (seed {U1_SEED}, sigma {U1_SIGMA}) "
        "-> math over all -> join",
        "Compare the GDP of six countries.",
        (
            *(_mk(i + 1, "search", f"GDP of country {c}", lat[i]) for i, c in enumerate("ABCDEF")),
            _mk(7, "math", "rank $1 $2 $3 $4 $5 $6"),
        ),
        "All six values were found and ranked.",
        "country F leads",
    )
    w["U2"] = Workload(
        "U2",
        "a fast search that returns while the plan is still streaming, then a long chain",
        "Follow the citation trail starting from the first paper on attention.",
        (
            _mk(1, "search", "first paper on attention", 0.25),
            _mk(2, "search", "paper cited most by $1 in its related work section"),
            _mk(3, "math", "year of $2 minus year of $1 plus offset"),
            _mk(4, "search", "paper published in the year given by $3 on the same topic"),
            _mk(5, "math", "citation count of $4 divided by its age in years"),
            _mk(6, "math", "round $5 to the nearest integer and normalize it"),
            _mk(7, "math", "compare $6 with the field average of similar papers"),
        ),
        "The citation trail was followed to the end.",
        "above average",
    )
    return {k: _finish(v) for k, v in w.items()}


WORKLOADS: dict[str, Workload] = _build()
ALL_WORKLOADS = tuple(WORKLOADS)


def get(name: str) -> Workload:
    return WORKLOADS[name]
