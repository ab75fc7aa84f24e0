"""Simulated workloads: DAGs of `search` / `math` calls with scripted latencies.

A workload is one or more rounds (a plan, then the joiner's decision); every agent's script
is generated from it (see `_scripts.py`). Conventions shared with `bench/peers/workloads.py`,
whose reference workloads W1–W3, U1 and U2 are vendored here (a test checks they match):
every task's argument starts with its tag `t<idx>`, by which a scripted tool finds its
latency, and results are the strings `r<idx>`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "MATH_LATENCY_S",
    "SEARCH_LATENCY_S",
    "Round",
    "SimTask",
    "Workload",
    "chain",
    "diamond",
    "fan_out",
    "random_dag",
    "reference_workloads",
    "replan",
    "suite",
]

SEARCH_LATENCY_S = 1.0
MATH_LATENCY_S = 0.2
END_OF_PLAN = "<END_OF_PLAN>"
Latency = Literal["fixed", "lognormal"]
_REF = re.compile(r"\$\{?(\d+)\}?")
_TAG = re.compile(r"^\s*t(\d+)\b")


@dataclass(frozen=True, slots=True)
class SimTask:
    idx: int
    tool: str
    """`search` or `math`."""
    arg: str
    """`t<idx> ...`, with `$N` references to earlier results."""
    latency_s: float
    fails: bool = False

    @property
    def deps(self) -> tuple[int, ...]:
        return tuple(sorted({int(m) for m in _REF.findall(self.arg)}))

    def line(self) -> str:
        return f"{self.idx}. {self.tool}({quote(self.arg)})"


@dataclass(frozen=True, slots=True)
class Round:
    """One plan and the joiner's reply to its results."""

    tasks: tuple[SimTask, ...]
    joiner_thought: str
    decision: Literal["finish", "replan"]
    joiner_says: str
    """The answer (finish) or the reason (replan)."""

    @property
    def plan_text(self) -> str:
        join = max(t.idx for t in self.tasks) + 1
        return "\n".join([*(t.line() for t in self.tasks), f"{join}. join(){END_OF_PLAN}"])

    @property
    def joiner_text(self) -> str:
        action = "Finish" if self.decision == "finish" else "Replan"
        return f"Thought: {self.joiner_thought}\nAction: {action}({self.joiner_says})"


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    description: str
    question: str
    rounds: tuple[Round, ...]

    @property
    def tasks(self) -> tuple[SimTask, ...]:
        return tuple(t for r in self.rounds for t in r.tasks)

    @property
    def answer(self) -> str:
        return self.rounds[-1].joiner_says

    def task(self, idx: int) -> SimTask:
        for t in self.tasks:
            if t.idx == idx:
                return t
        raise KeyError(idx)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def task_of(arg: str) -> int:
    """The task index tagged at the start of a tool argument (`"t3 ..."` → 3)."""
    m = _TAG.match(arg)
    if not m:
        raise ValueError(f"tool argument without a t<idx> tag: {arg!r}")
    return int(m.group(1))


def _task(idx: int, tool: str, arg: str, latency_s: float | None = None) -> SimTask:
    if latency_s is None:
        latency_s = SEARCH_LATENCY_S if tool == "search" else MATH_LATENCY_S
    return SimTask(idx, tool, f"t{idx} {arg}", latency_s)


def _one(name: str, what: str, question: str, tasks: Sequence[SimTask], thought: str,
         answer: str) -> Workload:  # fmt: skip
    return Workload(name, what, question, (Round(tuple(tasks), thought, "finish", answer),))


def reference_workloads() -> dict[str, Workload]:
    """W1–W3, U1, U2: the reference setting of issue 5, as `bench/peers/workloads.py` has it."""
    rng = random.Random(2312)
    lat = [round(rng.lognormvariate(0.0, 0.8), 3) for _ in range(6)]
    cities = ("Tokyo", "Delhi", "Shanghai", "Sao Paulo")
    return {
        "W1": _one("W1", "4 independent searches -> math over the four -> join",
            "What is the combined population of Tokyo, Delhi, Shanghai and Sao Paulo?",
            [*(_task(i + 1, "search", f"population of {c}") for i, c in enumerate(cities)),
             _task(5, "math", "sum of $1 and $2 and $3 and $4")],
            "The four populations were found and added.", "the sum of the four"),
        "W2": _one("W2", "search -> search($1) -> math($2) -> join (a pure chain)",
            "How old is the current director of the museum that holds the Mona Lisa?",
            [_task(1, "search", "museum that holds the Mona Lisa"),
             _task(2, "search", "current director of $1"), _task(3, "math", "age of $2 today")],
            "The museum, its director and the age were found.", "the age found last"),
        "W3": _one("W3", "search; two searches on $1; math on $2,$3; join (a diamond)",
            "Which is taller, the highest mountain of the country that hosted the 2016 "
            "Olympics, or its longest river's length in meters divided by 1000?",
            [_task(1, "search", "host country of 2016 Olympics"),
             _task(2, "search", "highest mountain of $1"),
             _task(3, "search", "longest river of $1"), _task(4, "math", "compare $2 with $3")],
            "Both values for the host country were found and compared.", "the mountain"),
        "U1": _one("U1", "fan-out of 6 searches, lognormal latencies (seed 2312, sigma 0.8) "
            "-> math over all -> join", "Compare the GDP of six countries.",
            [*(_task(i + 1, "search", f"GDP of country {c}", lat[i])
               for i, c in enumerate("ABCDEF")),
             _task(7, "math", "rank $1 $2 $3 $4 $5 $6")],
            "All six values were found and ranked.", "country F leads"),
        "U2": _one("U2", "a fast search that returns while the plan is still streaming, "
            "then a long chain",
            "Follow the citation trail starting from the first paper on attention.",
            [_task(1, "search", "first paper on attention", 0.25),
             _task(2, "search", "paper cited most by $1 in its related work section"),
             _task(3, "math", "year of $2 minus year of $1 plus offset"),
             _task(4, "search", "paper published in the year given by $3 on the same topic"),
             _task(5, "math", "citation count of $4 divided by its age in years"),
             _task(6, "math", "round $5 to the nearest integer and normalize it"),
             _task(7, "math", "compare $6 with the field average of similar papers")],
            "The citation trail was followed to the end.", "above average"),
    }  # fmt: skip


def _latency(tool: str, rng: random.Random, latency: Latency, sigma: float) -> float:
    base = SEARCH_LATENCY_S if tool == "search" else MATH_LATENCY_S
    if latency == "fixed":
        return base
    return round(base * rng.lognormvariate(0.0, sigma), 3)  # median `base`, heavy right tail


def fan_out(k: int = 8, *, latency: Latency = "fixed", seed: int = 1, sigma: float = 0.8
            ) -> Workload:  # fmt: skip
    """k independent searches, then one math call over all of them (the ParallelQA shape)."""
    rng = random.Random(seed)
    tasks = [
        _task(i, "search", f"fact {i} of the question", _latency("search", rng, latency, sigma))
        for i in range(1, k + 1)
    ]
    refs = " ".join(f"${i}" for i in range(1, k + 1))
    tasks.append(_task(k + 1, "math", f"combine {refs}", _latency("math", rng, latency, sigma)))
    return _one(f"fanout{k}", f"{k} independent searches -> math over all -> join",
                f"Combine {k} facts.", tasks, "All facts were combined.", "combined")  # fmt: skip


def chain(n: int = 5, *, latency: Latency = "fixed", seed: int = 2, sigma: float = 0.8
          ) -> Workload:  # fmt: skip
    """n calls, each on the previous result, alternating search and math."""
    rng = random.Random(seed)
    tasks = [_task(1, "search", "the starting point", _latency("search", rng, latency, sigma))]
    for i in range(2, n + 1):
        tool = "math" if i % 2 else "search"
        tasks.append(
            _task(i, tool, f"next step from ${i - 1}", _latency(tool, rng, latency, sigma))
        )
    return _one(f"chain{n}", f"a chain of {n} dependent calls", "Follow the trail.",
                tasks, "The trail was followed.", "the end")  # fmt: skip


def diamond(width: int = 3, *, latency: Latency = "fixed", seed: int = 3, sigma: float = 0.8
            ) -> Workload:  # fmt: skip
    """One search, `width` searches on its result, one math call over those."""
    rng = random.Random(seed)
    tasks = [_task(1, "search", "the entity in question", _latency("search", rng, latency, sigma))]
    for i in range(2, width + 2):
        tasks.append(_task(i, "search", f"property {i} of $1",
                           _latency("search", rng, latency, sigma)))  # fmt: skip
    refs = " ".join(f"${i}" for i in range(2, width + 2))
    tasks.append(_task(width + 2, "math", f"compare {refs}", _latency("math", rng, latency, sigma)))
    return _one(f"diamond{width}", f"search -> {width} searches on $1 -> math -> join",
                "Compare properties of an entity.", tasks, "Compared.", "the first")  # fmt: skip


def random_dag(n: int = 50, *, latency: Latency = "fixed", seed: int = 50, sigma: float = 0.8
               ) -> Workload:  # fmt: skip
    """n tasks; each uses 0–3 results of earlier ones, chosen at random (seeded)."""
    rng = random.Random(seed)
    tasks: list[SimTask] = []
    for i in range(1, n + 1):
        k = 0 if i == 1 else rng.choice((0, 0, 1, 1, 2, 3))
        deps = sorted(rng.sample(range(1, i), min(k, i - 1)))
        tool = "math" if deps and rng.random() < 0.5 else "search"
        arg = f"combine {' '.join(f'${d}' for d in deps)}" if deps else f"fact number {i}"
        tasks.append(_task(i, tool, arg, _latency(tool, rng, latency, sigma)))
    return _one(f"dag{n}", f"random DAG of {n} tasks (seed {seed})", "Answer a big question.",
                tasks, "Everything was gathered.", "done")  # fmt: skip


def replan() -> Workload:
    """A search fails, its dependent is skipped, the joiner replans around it."""
    first = (
        _task(1, "search", "population of Lyon"),
        SimTask(2, "search", "t2 population of Lille from the broken source", 1.0, fails=True),
        _task(3, "math", "ratio of $1 to $2"),
    )
    second = (_task(4, "search", "population of Lille"), _task(5, "math", "ratio of $1 to $4"))
    return Workload("replan", "search, failing search -> math; replan: search -> math",
        "How many times bigger is Lyon than Lille?",
        (Round(first, "The search for Lille failed.", "replan", "find Lille's population again"),
         Round(second, "Both populations are known now.", "finish", "the ratio found last")),
    )  # fmt: skip


SUITE: dict[str, Callable[[], Workload]] = {
    "fanout8": fan_out,
    "chain5": chain,
    "diamond3": diamond,
    "dag50": random_dag,
    "replan": replan,
    "fanout8-lognormal": lambda: _renamed(fan_out(latency="lognormal"), "fanout8-lognormal"),
}


def _renamed(wl: Workload, name: str) -> Workload:
    return Workload(name, wl.description + " (lognormal latencies)", wl.question, wl.rounds)


def suite(names: Sequence[str] | None = None) -> list[Workload]:
    """The reference workloads, then parcall's own; `names` picks some of them."""
    every = {**reference_workloads(), **{k: make() for k, make in SUITE.items()}}
    if names is None:
        return list(every.values())
    unknown = [n for n in names if n not in every]
    if unknown:
        raise KeyError(f"unknown workload(s) {unknown}; known: {', '.join(every)}")
    return [every[n] for n in names]
