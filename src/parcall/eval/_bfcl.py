"""BFCL (Berkeley Function Calling Leaderboard, Apache-2.0) parallel categories as plan
datasets: the question's function specs become tools, and the calls the agent made are
scored with BFCL's rules (see `_bfcl_checker`).

- `bfcl-parallel`, `bfcl-parallel-multiple` (AST): the tools are stubs that return a short
  placeholder; the calls are checked against the possible answers.
- `bfcl-exec-parallel`, `bfcl-exec-parallel-multiple`: the tools are BFCL's own Python
  functions; the results of the calls made are compared with the results of the
  ground-truth calls. Examples whose functions call web APIs (or `eval` their argument)
  cannot run here and are left out; `excluded` names each with the reason.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, Literal

from .._core.errors import ParcallError
from .._core.observation import resolve
from .._core.plan import Ref, Task, Template
from .._core.pyast import parse_expression
from .._core.result import RunResult
from .._core.tool import Tool
from ._bfcl_checker import ast_match, exec_match, match_calls
from ._dataset import Example, Split, split_of
from ._plan_metrics import made_tasks
from ._specs import admit, param_name, read_jsonl, renamed_parameters, tool_name

__all__ = ["BfclAst", "BfclExec", "parse_call_text"]

BfclCategory = Literal["parallel", "parallel_multiple"]
BfclExecCategory = Literal["exec_parallel", "exec_parallel_multiple"]


class _Bfcl:
    category: str
    name: str
    kind: Literal["answer", "plan"] = "plan"

    def _records(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        questions = read_jsonl(f"bfcl/question_{self.category}.jsonl.gz")
        answers = {a["id"]: a for a in read_jsonl(f"bfcl/possible_answer_{self.category}.jsonl.gz")}
        return [(q, answers[q["id"]]) for q in questions]

    @cached_property
    def _examples(self) -> list[Example]:
        return [self._example(q, a) for q, a in self._records() if self._runnable(q, a)]

    def _example(self, question: Mapping[str, Any], answer: Mapping[str, Any]) -> Example:
        turns = question["question"]
        text = "\n".join(m["content"] for turn in turns for m in turn if m["role"] == "user")
        return Example(
            id=f"bfcl-{question['id']}",
            question=text,
            gold=answer["ground_truth"],
            meta={
                "functions": question["function"],
                "result_types": answer.get("execution_result_type", []),
            },
        )

    def _runnable(self, question: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
        return True

    def examples(self, split: Split) -> Sequence[Example]:
        if split not in ("dev", "test"):
            raise ValueError(f"split must be 'dev' or 'test', not {split!r}")
        return [e for e in self._examples if split_of(e.id) == split]


class BfclAst(_Bfcl):
    """`bfcl-parallel` / `bfcl-parallel-multiple`; primary score `ast` (BFCL's AST rule)."""

    primary = "ast"

    def __init__(self, category: BfclCategory = "parallel") -> None:
        if category not in ("parallel", "parallel_multiple"):
            raise ValueError(
                f"BFCL AST category must be parallel or parallel_multiple, not {category!r}"
            )
        self.category = category
        self.name = f"bfcl-{category.replace('_', '-')}"

    def tools(self, example: Example) -> Sequence[Tool]:
        values: dict[str, dict[str, list[Any]]] = {}
        for answer in example.gold:
            name, allowed = next(iter(answer.items()))
            for arg, options in allowed.items():
                found = values.setdefault(name, {}).setdefault(arg, [])
                found.extend(v for v in options if v != "")
        return [
            _tool(spec, _placeholder(spec["name"]), values.get(spec["name"], {}))
            for spec in example.meta["functions"]
        ]

    def score(self, example: Example, result: RunResult) -> dict[str, float]:
        functions = example.meta["functions"]
        names = {tool_name(f["name"]): f for f in functions}
        calls = []
        for task in made_tasks(result):
            spec = names.get(task.tool)
            args = _written_args(task, result.values)
            if spec is None:
                calls.append((task.tool, args))
                continue
            _, original = renamed_parameters(spec.get("parameters") or {})
            calls.append((spec["name"], {original.get(k, k): v for k, v in args.items()}))
        pairs, _ = match_calls(example.gold, calls, ast_match(functions))
        return _call_scores("ast", pairs, len(example.gold), len(calls))

    def gold_script(self, example: Example) -> list[str]:
        """A plan making each ground-truth call with the first allowed value of every
        argument, and a joiner's finish. An optional argument (`""` allowed) the function
        does not declare is left out (BFCL would reject it); one it declares is given, so
        calls that differ only in it stay different."""
        declared = {
            f["name"]: set((f.get("parameters") or {}).get("properties") or ())
            for f in example.meta["functions"]
        }
        tasks = []
        for idx, answer in enumerate(example.gold, start=1):
            name, allowed = next(iter(answer.items()))
            args = {
                param_name(k): _first(v)
                for k, v in allowed.items()
                if any(x != "" for x in v) and ("" not in v or k in declared.get(name, ()))
            }
            tasks.append(Task(idx, tool_name(name), args))
        return [_plan_text(tasks), _FINISH]


class BfclExec(_Bfcl):
    """`bfcl-exec-parallel` / `bfcl-exec-parallel-multiple`; primary score `exec`."""

    primary = "exec"

    def __init__(self, category: BfclExecCategory = "exec_parallel") -> None:
        if category not in ("exec_parallel", "exec_parallel_multiple"):
            raise ValueError(
                "BFCL exec category must be exec_parallel or exec_parallel_multiple, "
                f"not {category!r}"
            )
        self.category = category
        self.name = f"bfcl-{category.replace('_', '-')}"

    @cached_property
    def excluded(self) -> dict[str, str]:
        """Example id → why it cannot run here."""
        functions = _exec_functions()
        left_out = {}
        for question, answer in self._records():
            calls = answer["ground_truth"]
            names = {m.group(1) for m in map(_CALL_NAME.match, calls) if m}
            names |= {f["name"] for f in question["function"]}
            if names - set(functions):
                left_out[f"bfcl-{question['id']}"] = _why(names - set(functions))
                continue
            try:
                for call in calls:
                    parse_call_text(call)
            except ValueError as exc:
                left_out[f"bfcl-{question['id']}"] = str(exc)
        return left_out

    def _runnable(self, question: Mapping[str, Any], answer: Mapping[str, Any]) -> bool:
        return f"bfcl-{question['id']}" not in self.excluded

    def tools(self, example: Example) -> Sequence[Tool]:
        functions = _exec_functions()
        values: dict[str, dict[str, list[Any]]] = {}
        for text in example.gold:
            name, kwargs = parse_call_text(text)
            for arg, value in kwargs.items():
                values.setdefault(name, {}).setdefault(arg, []).append(value)
        return [
            _tool(spec, functions[spec["name"]], values.get(spec["name"], {}))
            for spec in example.meta["functions"]
        ]

    def expected(self, example: Example) -> list[Any]:
        """The results of the ground-truth calls, run with BFCL's functions."""
        functions = _exec_functions()
        results = []
        for text in example.gold:
            name, kwargs = parse_call_text(text)
            results.append(functions[name](**kwargs))
        return results

    def score(self, example: Example, result: RunResult) -> dict[str, float]:
        kinds = example.meta["result_types"]
        expected = list(zip(self.expected(example), kinds))
        outputs = [(o.ok, o.value if o.ok else o.error) for o in result.observations]
        pairs, _ = match_calls(expected, outputs, exec_match)
        return _call_scores("exec", pairs, len(expected), len(outputs))

    def gold_script(self, example: Example) -> list[str]:
        tasks = []
        for idx, text in enumerate(example.gold, start=1):
            name, kwargs = parse_call_text(text)
            tasks.append(Task(idx, tool_name(name), {param_name(k): v for k, v in kwargs.items()}))
        return [_plan_text(tasks), _FINISH]


_CALL_NAME = re.compile(r"\s*([A-Za-z_]\w*)\s*\(")
_FINISH = "Thought: the calls are made.\nAction: Finish(done)"


def _plan_text(tasks: Sequence[Task]) -> str:
    return "\n".join([*(t.describe() for t in tasks), "join()"])


def _first(allowed: list[Any]) -> Any:
    """The first allowed value; a dict answer lists allowed values per key (one level)."""
    value = next(v for v in allowed if v != "")
    if isinstance(value, dict):
        return {k: v[0] for k, v in value.items() if isinstance(v, list) and v and "" not in v}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_first([v]) for v in value]
    return value


def _call_scores(primary: str, pairs: Mapping[int, int], gold: int, made: int) -> dict[str, float]:
    precision = len(pairs) / made if made else float(gold == 0)
    recall = len(pairs) / gold if gold else 1.0
    return {
        primary: float(made == gold and len(pairs) == gold),
        "call_precision": precision,
        "call_recall": recall,
    }


_EVALS = frozenset({"estimate_derivative"})


def _why(missing: set[str]) -> str:
    reasons = []
    if missing - _EVALS:
        web = ", ".join(sorted(missing - _EVALS))
        reasons.append(f"needs web APIs, not reachable offline ({web})")
    if missing & _EVALS:
        reasons.append(f"{', '.join(sorted(missing & _EVALS))} evaluates its argument (eval)")
    return "; ".join(reasons)


def _tool(
    spec: Mapping[str, Any], function: Callable[..., Any], values: Mapping[str, list[Any]]
) -> Tool:
    """A tool for a BFCL function spec. Argument types the ground truth's own values break
    (BFCL's checker accepts a value of the answer's type) are widened to admit them; names a
    plan cannot write are renamed (`_from` → `from_`) and renamed back for the function."""
    schema, original = renamed_parameters(spec.get("parameters") or {})
    properties = schema.get("properties") or {}
    schema["properties"] = {
        p: admit(prop, values.get(original[p], ())) for p, prop in properties.items()
    }
    call = function
    if any(new != old for new, old in original.items()):

        def call(**arguments: Any) -> Any:
            return function(**{original.get(k, k): v for k, v in arguments.items()})

    return Tool.from_schema(
        tool_name(spec["name"]), schema, call, description=spec.get("description") or ""
    )


def _placeholder(name: str) -> Callable[..., str]:
    def stub(**arguments: Any) -> str:
        return f"{name}: done"

    return stub


def _written_args(task: Task, values: Mapping[int, Any]) -> dict[str, Any]:
    """The arguments as the agent wrote them; a reference is replaced by the value it named
    (or kept as its text when that value does not exist)."""
    args: dict[str, Any] = {}
    for key, value in task.args.items():
        try:
            args[key] = resolve(value, values, str)
        except (KeyError, ParcallError):
            args[key] = str(value) if isinstance(value, (Ref, Template)) else value
    return args


def parse_call_text(text: str) -> tuple[str, dict[str, Any]]:
    """`f(a=1, b=[2, 3])` → ("f", {"a": 1, "b": [2, 3]}); literals only, never evaluated."""
    try:
        node = parse_expression(text.strip())
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.args:
            raise ValueError("expected f(name=value, ...)")
        return node.func.id, {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    except (SyntaxError, ValueError) as exc:
        raise ValueError(f"BFCL ground truth {text!r} is not a call of literals: {exc}") from None


def _exec_functions() -> dict[str, Callable[..., Any]]:
    from . import _bfcl_exec_functions as module

    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__
    }
