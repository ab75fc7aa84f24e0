"""A GBNF grammar (llama.cpp) for JSON that fits a JSON schema: a typed answer's shape.

Written here rather than taken from llama-cpp-python so that a llama.cpp server
(`OpenAICompatible(supports_grammar=True)`) gets the same grammar without the package.
The layout is fixed (`{"a": 1, "b": [2, 3]}`: `": "` and `", "`), which leaves a small model
fewer choices. Every property is written, optional ones too, in the schema's order.
Strings and lists are bounded so a model cannot loop to its token limit. Keywords the
grammar cannot say (`minimum`, `pattern`, `maxLength` beyond the bound) are left to
validation.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["schema_grammar"]

MAX_STRING = 200
MAX_ITEMS = 32

_BASE = rf"""
j-str ::= "\"" j-char{{0,{MAX_STRING}}} "\""
j-char ::= [^"\\\x00-\x1f] | "\\" ["\\/bfnrt]
j-int ::= "-"? ([0-9] | [1-9] [0-9]{{1,15}})
j-num ::= j-int ("." [0-9]{{1,12}})?
j-bool ::= "true" | "false"
j-any ::= j-str | j-num | j-bool | "null" | j-list | j-dict
j-list ::= "[" (j-any (", " j-any){{0,{MAX_ITEMS - 1}}})? "]"
j-dict ::= "{{" (j-str ": " j-any (", " j-str ": " j-any){{0,{MAX_ITEMS - 1}}})? "}}"
"""


def schema_grammar(schema: dict[str, Any], root: str = "answer") -> str:
    """GBNF rules whose rule `root` matches JSON fitting `schema` (rule names start `j-`,
    so they can join another grammar)."""
    return _Rules(schema).build(root)


class _Rules:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.defs: dict[str, Any] = {**schema.get("definitions", {}), **schema.get("$defs", {})}
        self.rules: dict[str, str] = {}
        self.def_rules: dict[str, str] = {}

    def build(self, root: str) -> str:
        body = self.value(self.schema)
        lines = [f"{root} ::= {body}", *(f"{n} ::= {r}" for n, r in self.rules.items())]
        return "\n".join(lines) + _BASE

    def rule(self, hint: str, body: str) -> str:
        name = f"j-{re.sub(r'[^a-z0-9]+', '-', hint.lower()).strip('-') or 'r'}-{len(self.rules)}"
        self.rules[name] = body
        return name

    def value(self, schema: Any) -> str:
        """A GBNF expression for one JSON value fitting `schema`."""
        if not isinstance(schema, dict) or not schema:
            return "j-any"
        if "$ref" in schema:
            return self.ref(str(schema["$ref"]))
        if "const" in schema:
            return _literal(schema["const"])
        if "enum" in schema:
            return "(" + " | ".join(_literal(v) for v in schema["enum"]) + ")"
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return "(" + " | ".join(self.value(s) for s in schema[key]) + ")"
        if "allOf" in schema and len(schema["allOf"]) == 1:
            return self.value(schema["allOf"][0])
        kind = schema.get("type")
        if isinstance(kind, list):
            return "(" + " | ".join(self.value({**schema, "type": k}) for k in kind) + ")"
        if kind == "string":
            return "j-str"
        if kind == "integer":
            return "j-int"
        if kind == "number":
            return "j-num"
        if kind == "boolean":
            return "j-bool"
        if kind == "null":
            return '"null"'
        if kind == "array":
            return self.array(schema)
        if kind == "object" or "properties" in schema:
            return self.object(schema)
        return "j-any"

    def ref(self, ref: str) -> str:
        name = ref.rsplit("/", 1)[-1]
        if name not in self.defs:
            return "j-any"  # a reference outside the schema: validation judges the value
        if name not in self.def_rules:
            rule = self.def_rules[name] = self.rule(name, "")
            self.rules[rule] = self.value(self.defs[name])  # may refer to itself: a tree
        return self.def_rules[name]

    def array(self, schema: dict[str, Any]) -> str:
        item = self.value(schema.get("items", {}))
        low = int(schema.get("minItems", 0))
        high = max(low, int(schema.get("maxItems", max(MAX_ITEMS, low))))
        if high == 0:
            return '"[]"'
        rest = f'(", " {item}){{{max(low - 1, 0)},{high - 1}}}'
        items = f"{item} {rest}"
        return f'"[" {items} "]"' if low > 0 else f'"[" ({items})? "]"'

    def object(self, schema: dict[str, Any]) -> str:
        props: dict[str, Any] = schema.get("properties") or {}
        if not props:
            extra = schema.get("additionalProperties", {})
            value = self.value(extra if isinstance(extra, dict) else {})
            pair = f'j-str ": " {value}'
            return f'"{{" ({pair} (", " {pair}){{0,{MAX_ITEMS - 1}}})? "}}"'
        parts = [
            f"{_text(('' if n == 0 else ', ') + json.dumps(name) + ': ')} {self.value(prop)}"
            for n, (name, prop) in enumerate(props.items())
        ]
        return self.rule(str(schema.get("title", "object")), '"{" ' + " ".join(parts) + ' "}"')


def _text(text: str) -> str:
    """A GBNF literal for `text` (GBNF escapes its strings as JSON does)."""
    return json.dumps(text)


def _literal(value: Any) -> str:
    """A GBNF literal for the JSON text of `value`."""
    return _text(json.dumps(value))
