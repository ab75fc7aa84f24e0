"""NESTFUL (IBM, Apache-2.0): 300 sequences of nested API calls, scored as plans.

Its executable APIs are live web endpoints, so every tool here is a stub built from the
spec: it validates its arguments against the spec's schema and returns an object holding
the fields the gold plans read from it (`$var1.skyId$`), with values that pass the checks
of the calls that consume them. Tools whose API returns a list of results
(`output_parser` `result[0].{param}` and the like) return a list, so `$1.skyId` resolves
as the first result's field, as the dataset writes it.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from .._core.plan import Ref, Task, Template, iter_refs
from .._core.result import RunResult
from .._core.schema import model_from_schema
from .._core.tool import Tool
from ._dataset import Example, Split, split_of
from ._plan_metrics import made_tasks, plan_scores, trace_copies, with_refs
from ._specs import admit, is_placeholder, param_name, placeholder, read_json, tool_name

__all__ = ["NESTFUL_SUBSETS", "Nestful"]

NESTFUL_SUBSETS = {
    "executable": "executable",
    "sgd": "non-executable-sgd",
    "glaive": "non-executable-glaive",
}
"""Subset name → the file stem of its data and spec (`<stem>-data.json`, `<stem>-spec.json`)."""

_REF = re.compile(r"\$(var\d+)([^$]*)\$")
_PATH_ITEM = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_LIST_RESULT = re.compile(r"\[0\]\.\{param\}$")
_TYPES = {"string", "number", "integer", "boolean", "array", "object", "float"}


@dataclass(frozen=True)
class _Spec:
    name: str
    description: str
    parameters: dict[str, Any]
    outputs: Mapping[str, Any]
    returns_list: bool


@dataclass(frozen=True)
class _Text:
    """A string leaf of a stub result, made distinct per call when the stub runs."""

    path: str


class Nestful:
    """NESTFUL as a parcall plan dataset (`nestful`); see docs/eval-plans.md.

    `subsets` chooses among `executable` (85), `sgd` (46) and `glaive` (169).
    `tools_per_example` is how many tools the model is shown: the gold plan's tools and,
    to fill up, others from the same subset chosen by a stable hash (`None`: all of them).
    """

    name = "nestful"
    kind: Literal["answer", "plan"] = "plan"
    primary = "dag"

    def __init__(
        self, subsets: Iterable[str] = tuple(NESTFUL_SUBSETS), *, tools_per_example: int | None = 8
    ) -> None:
        self.subsets = tuple(subsets)
        unknown = [s for s in self.subsets if s not in NESTFUL_SUBSETS]
        if unknown:
            raise ValueError(
                f"unknown NESTFUL subset(s) {unknown}; choose from {sorted(NESTFUL_SUBSETS)}"
            )
        if tools_per_example is not None and tools_per_example < 1:
            raise ValueError("tools_per_example must be at least 1 (or None for all tools)")
        self.tools_per_example = tools_per_example
        self._models: dict[str, type[BaseModel]] = {}

    @cached_property
    def _specs(self) -> dict[str, dict[str, _Spec]]:
        specs: dict[str, dict[str, _Spec]] = {}
        for subset in self.subsets:
            stem = NESTFUL_SUBSETS[subset]
            used = _arguments_used(read_json(f"nestful/{stem}-data.json.gz"))
            found: dict[str, _Spec] = {}
            for raw in read_json(f"nestful/{stem}-spec.json.gz"):
                spec = _spec(raw, used.get(raw["name"], _Usage()))
                if spec.name in found:
                    raise ValueError(f"NESTFUL {subset}: two tools are named {spec.name!r}")
                found[spec.name] = spec
            specs[subset] = found
        return specs

    @cached_property
    def _examples(self) -> list[Example]:
        examples = []
        for subset in self.subsets:
            stem = NESTFUL_SUBSETS[subset]
            for i, record in enumerate(read_json(f"nestful/{stem}-data.json.gz")):
                examples.append(
                    Example(
                        id=f"nestful-{subset}-{i}",
                        question=record["input"],
                        gold=record["output"],
                        meta={"subset": subset},
                    )
                )
        return examples

    def examples(self, split: Split) -> Sequence[Example]:
        if split not in ("dev", "test"):
            raise ValueError(f"split must be 'dev' or 'test', not {split!r}")
        return [e for e in self._examples if split_of(e.id) == split]

    def gold_tasks(self, example: Example) -> list[Task]:
        """The gold sequence as parcall tasks (`var_result` left out)."""
        return gold_tasks(example.gold)

    def tools(self, example: Example) -> Sequence[Tool]:
        specs = self._specs[example.meta["subset"]]
        gold = self.gold_tasks(example)
        names = list(dict.fromkeys(t.tool for t in gold))
        if self.tools_per_example is None:
            names += [n for n in specs if n not in names]
        else:
            others = sorted(
                (n for n in specs if n not in names),
                key=lambda n: hashlib.sha256(f"{example.id}:{n}".encode()).hexdigest(),
            )
            names += others[: max(0, self.tools_per_example - len(names))]
        models = {n: self._model(specs[n]) for n in names}
        consumers = _consumers(gold, models)
        return [
            Tool(
                name=n,
                description=_describe(specs[n]),
                function=_stub(specs[n], consumers.get(n, {})),
                args_model=models[n],
            )
            for n in names
        ]

    def _model(self, spec: _Spec) -> type[BaseModel]:
        # One argument model per spec, shared by every example's tools: building one is slow.
        model = self._models.get(spec.name)
        if model is None:
            model = self._models[spec.name] = model_from_schema(spec.name, spec.parameters)
        return model

    def score(self, example: Example, result: RunResult) -> dict[str, float]:
        """`plan_scores` of the calls made; a stub result copied into a later call counts
        as the reference it stands for (see `trace_copies`)."""
        made = trace_copies(made_tasks(result), result.values, is_placeholder)
        return plan_scores(self.gold_tasks(example), made)

    def gold_script(self, example: Example) -> list[str]:
        """The planner's and the joiner's outputs that replay the gold plan."""
        tasks = self.gold_tasks(example)
        plan = "\n".join([*(t.describe() for t in tasks), "join()"])
        labels = _labels(example.gold)
        final = next((c for c in example.gold if c["name"] == "var_result"), None)
        parts = []
        for key, value in (final or {}).get("arguments", {}).items():
            shown = _REF.sub(lambda m: f"${labels.get(m.group(1), '?')}{m.group(2)}", str(value))
            parts.append(f"{key}: {shown}")
        answer = "; ".join(parts) or "done"
        return [plan, f"Thought: the plan has run.\nAction: Finish({answer})"]


def gold_tasks(calls: Sequence[Mapping[str, Any]]) -> list[Task]:
    """NESTFUL calls → tasks numbered from 1; `$varN.a.b[0]$` becomes `Ref(task, path)`.
    A label used twice names its latest call."""
    tasks: list[Task] = []
    labels: dict[str, int] = {}
    for call in calls:
        if call["name"] == "var_result":
            continue
        idx = len(tasks) + 1
        args = {
            param_name(k): _gold_value(v, labels) for k, v in (call.get("arguments") or {}).items()
        }
        deps = sorted({ref.task for value in args.values() for ref in iter_refs(value)})
        tasks.append(Task(idx, tool_name(call["name"]), args, tuple(deps)))
        if call.get("label"):
            labels[call["label"]] = idx
    return tasks


def _labels(calls: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    labels: dict[str, int] = {}
    for idx, call in enumerate((c for c in calls if c["name"] != "var_result"), start=1):
        if call.get("label"):
            labels[call["label"]] = idx
    return labels


def _gold_value(value: Any, labels: Mapping[str, int]) -> Any:
    return with_refs(
        value,
        lambda text: [(m.start(), m.end(), _gold_ref(m, labels)) for m in _REF.finditer(text)],
    )


def _gold_ref(match: re.Match[str], labels: Mapping[str, int]) -> Ref:
    label, path = match.group(1), match.group(2)
    if label not in labels:
        raise ValueError(f"NESTFUL: {match.group(0)} refers to no earlier call")
    items: list[str | int] = []
    for item in _PATH_ITEM.finditer(path):
        items.append(item.group(1) if item.group(1) is not None else int(item.group(2)))
    return Ref(labels[label], tuple(items))


@dataclass
class _Usage:
    """How the gold plans call one tool: argument → literal values passed (a string with
    references inside counts as a string; a reference alone, as nothing), and the arguments
    some call leaves out."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    calls: list[set[str]] = field(default_factory=list)


def _arguments_used(records: Sequence[Mapping[str, Any]]) -> dict[str, _Usage]:
    used: dict[str, _Usage] = {}
    for call in (call for record in records for call in record["output"]):
        usage = used.setdefault(call["name"], _Usage())
        usage.calls.append(set(call.get("arguments") or {}))
        for key, value in (call.get("arguments") or {}).items():
            literals = usage.values.setdefault(key, [])
            if isinstance(value, str) and _REF.search(value):
                if not _REF.fullmatch(value):
                    literals.append(value)
            elif not _REF.search(json.dumps(value)):
                literals.append(value)
    return used


def _spec(raw: Mapping[str, Any], used: _Usage) -> _Spec:
    """A NESTFUL spec → JSON schema. Properties say `required` one by one; SGD ones have no
    type and list `allowed_values` (kept in the description: the data does not always keep
    to them). Where the gold plans break the spec, the schema gives way, so the gold plans
    run: an argument they pass but the spec lacks is added, untyped; a type their values
    break is widened (see `admit`); a required argument some gold call omits is optional."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, prop in (raw.get("query_parameters") or {}).items():
        schema: dict[str, Any] = {}
        kind = prop.get("type")
        if kind in _TYPES:
            schema["type"] = kind
        elif isinstance(kind, str) and kind.lower().startswith("date"):
            schema["type"] = "string"
        description = prop.get("description") or ""
        if prop.get("allowed_values"):
            description += f" One of: {', '.join(map(str, prop['allowed_values']))}."
        if description:
            schema["description"] = description.strip()
        properties[param_name(name)] = admit(schema, used.values.get(name, ()))
        if prop.get("required") and all(name in call for call in used.calls):
            required.append(param_name(name))
    for name in sorted(set(used.values) - set(raw.get("query_parameters") or {})):
        properties[param_name(name)] = {}
    parser = raw.get("output_parser")
    return _Spec(
        name=tool_name(raw["name"]),
        description=raw.get("description") or "",
        parameters={"type": "object", "properties": properties, "required": required},
        outputs=raw.get("output_parameters") or {},
        returns_list=isinstance(parser, str) and bool(_LIST_RESULT.search(parser)),
    )


def _describe(spec: _Spec) -> str:
    fields = ", ".join(spec.outputs)
    if not fields:
        return spec.description
    if spec.returns_list:
        return f"{spec.description} Returns a list of results, each with: {fields}."
    return f"{spec.description} Returns: {fields}."


Consumers = dict[str, dict[tuple[str | int, ...], list[Any]]]
"""tool → path read from its result → the annotations of the arguments it is passed to."""


def _consumers(gold: Sequence[Task], models: Mapping[str, type[BaseModel]]) -> Consumers:
    by_idx = {t.idx: t for t in gold}
    found: Consumers = {}

    def visit(value: Any, annotation: Any) -> None:
        if isinstance(value, Ref):
            paths = found.setdefault(by_idx[value.task].tool, {})
            paths.setdefault(value.path, []).append(annotation)
        elif isinstance(value, Template):
            for part in value.parts:
                if isinstance(part, Ref):
                    visit(part, Any)  # formatted into a string: any value will do
        elif isinstance(value, list):
            for item in value:
                visit(item, _item_annotation(annotation))
        elif isinstance(value, dict):
            for item in value.values():
                visit(item, Any)

    for task in gold:
        fields = models[task.tool].model_fields
        for key, value in task.args.items():
            info = fields.get(key)
            visit(value, Any if info is None or info.annotation is None else info.annotation)
    return found


def _item_annotation(annotation: Any) -> Any:
    options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    for option in options:
        if typing.get_origin(option) is list:
            args = typing.get_args(option)
            return args[0] if args else Any
    return Any


def _is_union(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin is typing.Union or origin is types.UnionType


def _stub(spec: _Spec, consumers: Mapping[tuple[str | int, ...], list[Any]]) -> Callable[..., Any]:
    shape = _shape(spec, consumers)

    def stub(**arguments: Any) -> Any:
        item = _materialize(shape, spec.name, arguments, "")
        if spec.returns_list:
            return [item, _materialize(shape, spec.name, arguments, "-2")]
        return item

    stub.__name__ = spec.name
    return stub


def _shape(spec: _Spec, consumers: Mapping[tuple[str | int, ...], list[Any]]) -> dict[str, Any]:
    """The spec's output fields, overridden by what the plans read (and how they use it)."""
    read: dict[str, Any] = {}
    # Longer paths first: a container a longer path needs is never replaced by a leaf.
    for path in sorted(consumers, key=len, reverse=True):
        if path and isinstance(path[0], str):
            _put(read, path, _leaf(".".join(map(str, path)), consumers[path]))
    return _overlay(_from_outputs(spec.outputs, ""), read)


def _overlay(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        below = merged.get(key)
        both = isinstance(below, dict) and isinstance(value, dict)
        merged[key] = _overlay(below, value) if both else value  # type: ignore[arg-type]
    return merged


def _from_outputs(outputs: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    for name, prop in outputs.items():
        path = f"{prefix}{name}"
        kind = prop.get("type") if isinstance(prop, Mapping) else None
        if kind == "object" and isinstance(prop.get("properties"), Mapping):
            shape[name] = _from_outputs(prop["properties"], f"{path}.")
        else:
            shape[name] = _typed(kind, path)
    return shape


def _typed(kind: Any, path: str) -> Any:
    return {
        "number": 2.5,
        "float": 2.5,
        "integer": 2,
        "boolean": True,
        "array": [_Text(path)],
        "object": {},
    }.get(kind, _Text(path))


def _leaf(path: str, annotations: Sequence[Any]) -> Any:
    """The first candidate every consuming argument accepts."""
    candidates: list[Any] = [_Text(path), "2", 2, 2.5, True, [_Text(path)], [2], {}]
    for candidate in candidates:
        sample = _materialize(candidate, "", {}, "")
        if all(_accepts(a, sample) for a in annotations):
            return candidate
    return candidates[0]


def _accepts(annotation: Any, value: Any) -> bool:
    if annotation is Any:
        return True
    try:
        hash(annotation)
    except TypeError:
        adapter = TypeAdapter[Any](annotation)
    else:
        adapter = _adapter(annotation)
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


@functools.lru_cache(maxsize=256)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter[Any](annotation)


def _put(node: Any, path: tuple[str | int, ...], leaf: Any) -> None:
    for item, after in itertools.pairwise(path):
        fresh: Any = [] if isinstance(after, int) else {}
        if isinstance(node, dict):
            child = node.get(item)
            if not isinstance(child, type(fresh)):
                child = node[item] = fresh
        else:
            assert isinstance(item, int)
            while len(node) <= item:
                node.append([] if isinstance(after, int) else {})
            child = node[item]
            if not isinstance(child, type(fresh)):
                child = node[item] = fresh
        node = child
    last = path[-1]
    if isinstance(node, dict):
        if not isinstance(node.get(last), (dict, list)):
            node[last] = leaf
    elif isinstance(last, int):
        while len(node) <= last:
            node.append(leaf)
        if not isinstance(node[last], (dict, list)):
            node[last] = leaf


def _materialize(shape: Any, tool: str, arguments: Mapping[str, Any], suffix: str) -> Any:
    if isinstance(shape, _Text):
        return placeholder(tool, shape.path, arguments) + suffix
    if isinstance(shape, dict):
        return {k: _materialize(v, tool, arguments, suffix) for k, v in shape.items()}
    if isinstance(shape, list):
        return [_materialize(v, tool, arguments, suffix) for v in shape]
    return shape
