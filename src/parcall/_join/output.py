"""Typed answers: `Agent(..., output_type=T)` and `run(q, output_type=T)`.

`T` is `str` (the default: the joiner's text, as it is), a scalar, a list, a pydantic model,
a dataclass, or anything else pydantic's `TypeAdapter` takes. The joiner is told the JSON
shape in its prompt and writes it inside `Finish(...)`; under a grammar the shape is forced
(`schema_grammar`), otherwise the answer is validated and one failure goes back to the joiner
with the error. A typed run's `answer` is the JSON of its `output`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import PydanticSchemaGenerationError, TypeAdapter, ValidationError

from .._core.errors import ParcallError
from .._core.observation import Observation, resolve
from .._core.plan import Plan, Ref
from .._core.tool import validation_message
from .decision import Finish, Replan, parse_decision
from .json_grammar import schema_grammar

__all__ = ["Output", "OutputValidationError", "output_of"]

RETRY_REQUEST = """\
Your answer {answer} does not fit the answer's type: {error}
Reply again with one line: Action: Finish(<{form}>)"""
"""Sent to the joiner once when its answer does not validate."""

STRUCTURED_REPLY = """\
Reply with one JSON object: {{"action": "finish", "answer": <the answer>{rest}}}{replan}"""
"""Appended to the joiner's instructions when structured outputs shape its reply."""

_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.S)
_MAX_DEPTH = 6


class OutputValidationError(ParcallError):
    """The joiner's answer did not fit `output_type`, also when asked again with the error;
    `answer` is its last answer and `result` keeps the run so far."""

    def __init__(self, message: str, answer: str, result: Any = None) -> None:
        super().__init__(message)
        self.answer = answer
        self.result = result


@dataclass(frozen=True, slots=True)
class Output:
    """How a run's answer is read: as text (`str`), or validated as `output_type`."""

    output_type: Any
    adapter: TypeAdapter[Any]
    schema: dict[str, Any]

    @property
    def text(self) -> bool:
        return self.output_type is str

    @property
    def form(self) -> str:
        """What the joiner is told to write inside `Finish(...)`."""
        return f"JSON of the form {describe(self.schema)}"

    def grammar(self) -> str:
        """GBNF rules for the answer: rule `answer`, for `join_grammar(answer_rules=...)`."""
        return schema_grammar(self.schema)

    def parse(self, answer: str) -> Any:
        """The typed value of the joiner's answer; raises `ValidationError`. JSON first; a
        bare word is then tried as a string (`Finish(2024-05-01)` for a date)."""
        text = answer.strip()
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1)
        try:
            return self.adapter.validate_json(text)
        except ValidationError as first:
            try:
                return self.adapter.validate_json(json.dumps(text))
            except ValidationError as second:
                # Broken JSON is worth naming; a bare word, what it should have been.
                raise (first if text[:1] in "{[" else second) from None

    def join_schema(self, *, can_replan: bool, thought: bool) -> dict[str, Any]:
        """A JSON schema for the joiner's whole reply under structured outputs (a server's
        `json_schema`): `{"thought"?, "action": "finish" | "replan", "answer": T | null,
        "reason"?: str | null}`; the type's own definitions move to the top."""
        answer = {k: v for k, v in self.schema.items() if k not in ("$defs", "definitions")}
        props: dict[str, Any] = {"thought": {"type": "string"}} if thought else {}
        props["action"] = {
            "type": "string",
            "enum": ["finish", "replan"] if can_replan else ["finish"],
        }
        props["answer"] = {"anyOf": [answer, {"type": "null"}]}
        if can_replan:
            props["reason"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
        schema: dict[str, Any] = {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }
        for key in ("$defs", "definitions"):
            if key in self.schema:
                schema[key] = self.schema[key]
        return schema

    def structured_reply(self, *, can_replan: bool, thought: bool) -> str:
        """What the joiner is told to write when `join_schema` shapes its reply."""
        return STRUCTURED_REPLY.format(
            rest=', "thought": "<the facts>"' if thought else "",
            replan=' or {"action": "replan", "reason": "<what to search>"}' if can_replan else "",
        )

    def decision(self, text: str) -> Finish | Replan:
        """The joiner's reply under `join_schema`; text that is no such JSON is read as
        `Action: Finish(...)` text."""
        try:
            reply = json.loads(text)
        except ValueError:
            return parse_decision(text)
        if not isinstance(reply, dict) or reply.get("action") not in ("finish", "replan"):
            return parse_decision(text)
        thought = reply.get("thought") if isinstance(reply.get("thought"), str) else None
        if reply["action"] == "replan":
            reason = reply.get("reason") or "the joiner asked for a new plan without saying why"
            return Replan(str(reason), thought)
        return Finish(json.dumps(reply.get("answer"), ensure_ascii=False), thought)

    def dump(self, value: Any) -> str:
        """The JSON text of a typed value: a typed run's `answer`."""
        return self.adapter.dump_json(value).decode()

    def retry_request(self, answer: str, error: ValidationError) -> str:
        shown = json.dumps(answer[:300], ensure_ascii=False)
        return RETRY_REQUEST.format(answer=shown, error=validation_message(error), form=self.form)

    def from_template(
        self, plan: Plan, answer: str, observations: Mapping[int, Observation]
    ) -> Any:
        """The typed value of a plan's `finish(...)` answer, or `NO_VALUE` when it does not
        fit (the joiner then answers): `finish($3)` gives task 3's value as it is."""
        try:
            if isinstance(plan.answer, Ref):
                values = {i: o.value for i, o in observations.items() if o.ok}
                return self.adapter.validate_python(resolve(plan.answer, values, str))
            return self.parse(answer)
        except (ValidationError, KeyError, ParcallError):
            return NO_VALUE


NO_VALUE: Any = object()
"""A template answer that does not fit the output type."""

TEXT = Output(str, TypeAdapter(str), {"type": "string"})


def output_of(output_type: Any, owner: str) -> Output:
    """The `Output` for `output_type`, or a `TypeError` naming the argument."""
    if output_type is str or output_type is None:
        return TEXT
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(output_type)
        schema = getattr(output_type, "__parcall_schema__", None) or adapter.json_schema()
    except (PydanticSchemaGenerationError, TypeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TypeError(
            f"{owner}: output_type {output_type!r} cannot be read as a type with a JSON "
            f"schema (use str, int, float, bool, a list, a pydantic model or a dataclass): "
            f"{first}"
        ) from None
    return Output(output_type, adapter, schema)


def describe(schema: dict[str, Any], node: Any = None, depth: int = 0) -> str:
    """A JSON schema written compactly, the way a small model reads it:
    `{"name": string, "height_m": number, "tags": [string, ...]}`."""
    node = schema if node is None else node
    if not isinstance(node, dict) or depth > _MAX_DEPTH:
        return "any JSON value"
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
        return describe(schema, defs.get(name), depth + 1)  # a model may contain itself
    if "const" in node:
        return json.dumps(node["const"], ensure_ascii=False)
    if "enum" in node:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " | ".join(describe(schema, s, depth) for s in node[key])
    if "allOf" in node and len(node["allOf"]) == 1:
        return describe(schema, node["allOf"][0], depth)
    kind = node.get("type")
    if isinstance(kind, list):
        return " | ".join(describe(schema, {**node, "type": k}, depth) for k in kind)
    if kind == "array":
        return f"[{describe(schema, node.get('items', {}), depth)}, ...]"
    if kind == "object" or "properties" in node:
        props: dict[str, Any] = node.get("properties") or {}
        if not props:
            extra = node.get("additionalProperties")
            value = describe(schema, extra, depth) if isinstance(extra, dict) else "any"
            return f"{{string: {value}, ...}}"
        fields = []
        for name, prop in props.items():
            text = f"{json.dumps(name, ensure_ascii=False)}: {describe(schema, prop, depth)}"
            note = prop.get("description") if isinstance(prop, dict) else None
            fields.append(f"{text} /* {' '.join(str(note).split())} */" if note else text)
        return "{" + ", ".join(fields) + "}"
    if kind in ("string", "integer", "number", "boolean", "null"):
        return str(kind)
    return "any JSON value"
