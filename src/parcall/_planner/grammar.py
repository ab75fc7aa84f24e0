"""Constraints that keep a small model's plan parseable, generated from the tool set.

- `plan_grammar(tools)`: a GBNF grammar (llama.cpp) for LLMCompiler text plans.
- `plan_json_schema(tools)`: a JSON schema (OpenAI structured outputs) for JSON plans.

Strings, lists and plans are bounded so a model cannot loop to its token limit. Neither can
say that `$N` must point backwards: the parser still judges every plan.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from .._core.tool import Tool

__all__ = [
    "JOIN_THOUGHTS",
    "Thought",
    "join_grammar",
    "plan_grammar",
    "plan_json_schema",
    "tool_call_parameters",
]

Thought = Literal["short", "restate", "none"]
"""What the joiner writes before its action: a short thought, one that first restates the
question, or none."""
JOIN_THOUGHTS: dict[Thought, tuple[str, int]] = {
    "short": ("The results say ", 160),
    "restate": ("The question asks for ", 300),
}
"""How a constrained joiner's thought starts, and its most characters after that start."""

MAX_TASKS = 20
MAX_STRING = 160
MAX_ITEMS = 16

_COMMON = rf"""
ref ::= "$" [1-9] [0-9]{{0,2}} refpath{{0,4}}
refpath ::= "." [A-Za-z] [A-Za-z0-9_]{{0,30}} | "[" [0-9]{{1,3}} "]"
str ::= "\"" strchar{{0,{MAX_STRING}}} "\""
strchar ::= [^"\\\n] | "\\" ["\\nt]
int ::= "-"? [0-9]{{1,12}}
num ::= "-"? [0-9]{{1,12}} ("." [0-9]{{1,8}})?
bool ::= "True" | "False"
any ::= str | num | ref | bool | "None" | list | dict
list ::= "[" ( any (", " any){{0,{MAX_ITEMS - 1}}} )? "]"
dict ::= "{{" ( str ": " any (", " str ": " any){{0,{MAX_ITEMS - 1}}} )? "}}"
thought ::= "Thought: " [^\n]{{1,200}} "\n"
"""


def plan_grammar(tools: Iterable[Tool], *, max_tasks: int = MAX_TASKS) -> str:
    """A GBNF grammar for `N. tool(arg=value, ...)` lines with optional thoughts, then
    `join()` or an answer template `finish("... $N ...")` / `finish($N)`. Arguments are
    keywords in signature order (the first may be positional), typed from the schema."""
    tools = list(tools)
    if not tools:
        raise ValueError("a plan grammar needs at least one tool")
    ending = '"join()"'
    if all(t.name != "finish" for t in tools):
        ending = '("join()" | "finish(" (str | ref) ")")'
    lines = [
        f"root ::= step{{1,{max_tasks}}} {ending}",
        'step ::= thought? idx ". " call "\\n"',
        "idx ::= [1-9] [0-9]{0,2}",
        "call ::= " + " | ".join(_rule(t.name) + "-call" for t in tools),
    ]
    for tool in tools:
        lines.append(f'{_rule(tool.name)}-call ::= {_quote(tool.name + "(")} {_args(tool)} ")"')
    return "\n".join(lines) + _COMMON


def _args(tool: Tool) -> str:
    schema = tool.json_schema()
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    parts: list[str] = []
    first = True
    for n, (name, prop) in enumerate(props.items()):
        sep = "" if first else ", "
        label = _quote(sep + name + "=")
        if n == 0 and name in required:
            label += "?"  # the first argument may be positional: `search("x")`, fewer tokens
        piece = f"{label} ({_value(prop)})"
        if name in required:
            parts.append(piece)
            first = False
        else:
            parts.append(f"({piece})?")
    return " ".join(parts) if parts else '""'


def _value(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return (
            " | ".join(_quote(json.dumps(v)) for v in prop["enum"] if isinstance(v, str)) + " | ref"
        )
    kind = prop.get("type")
    if kind == "string":
        return "str | ref"
    if kind == "integer":
        return "int | ref"
    if kind == "number":
        return "num | ref"
    if kind == "boolean":
        return "bool | ref"
    if kind == "array":
        return "list | ref"
    return "any"


def _rule(name: str) -> str:
    return "t-" + name.replace("_", "-").lower()


def _quote(text: str) -> str:
    return json.dumps(text)


def plan_json_schema(tools: Iterable[Tool], *, max_tasks: int = MAX_TASKS) -> dict[str, Any]:
    """A strict JSON schema for `{"tasks": [{"id": 1, "tool": "...", "args": {...}}],
    "finish": null}`; `"finish"` may instead hold an answer template such as `"A is $3"`.

    Every argument also accepts a reference string `"$N"`. Optional arguments are required
    but nullable, as strict structured outputs demand; the parser drops their nulls.
    """
    variants = []
    for tool in tools:
        schema = tool.json_schema()
        props = {
            name: _with_ref(prop, nullable=name not in schema.get("required", []))
            for name, prop in schema.get("properties", {}).items()
        }
        variants.append(
            {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "tool": {"type": "string", "enum": [tool.name]},
                    "args": {
                        "type": "object",
                        "properties": props,
                        "required": list(props),
                        "additionalProperties": False,
                    },
                },
                "required": ["id", "tool", "args"],
                "additionalProperties": False,
            }
        )
    return {
        "type": "object",
        "properties": {
            "tasks": {"type": "array", "items": {"anyOf": variants}, "maxItems": max_tasks},
            "finish": {"anyOf": [{"type": "string", "maxLength": MAX_STRING}, {"type": "null"}]},
        },
        "required": ["tasks", "finish"],
        "additionalProperties": False,
    }


def tool_call_parameters(tool: Tool) -> dict[str, Any]:
    """The tool's JSON schema for native tool calls, where every argument may also be a
    reference `"$N"` to an earlier call's result. A server that constrains calls to the
    schema (llama.cpp's) could otherwise not write `"$1"` for a number."""
    schema = tool.json_schema()
    props = schema.get("properties", {})
    schema["properties"] = {name: _or_ref(prop) for name, prop in props.items()}
    return schema


def _or_ref(prop: dict[str, Any]) -> dict[str, Any]:
    if prop.get("type") == "string":
        return prop  # "$N" is a string already
    described: dict[str, Any] = {k: prop[k] for k in ("title", "description") if k in prop}
    inner = {k: v for k, v in prop.items() if k not in ("title", "description", "default")}
    ref = {"type": "string", "pattern": r"^\$[0-9]+$"}
    return {**described, "anyOf": [inner, ref]}


def _with_ref(prop: dict[str, Any], *, nullable: bool) -> dict[str, Any]:
    prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
    if prop.get("type") == "string":
        prop.setdefault("maxLength", MAX_STRING)
    options = [prop, {"type": "string", "pattern": r"^\$[0-9]+$"}]
    if nullable:
        options.append({"type": "null"})
    return {"anyOf": options}


def join_grammar(
    max_chars: int = 300,
    *,
    can_replan: bool = True,
    answers: Iterable[str] = (),
    thought: Thought = "short",
    answer_rules: str | None = None,
) -> str:
    """A GBNF grammar for the joiner: a `Thought: ` line as `JOIN_THOUGHTS[thought]` says
    (none for `"none"`), then `Action: Finish(...)` or `Action: Replan(...)`, each bounded.
    On the last round only `Finish` is allowed, so a constrained run always ends with an
    answer. `answers`, when given, are the only texts `Finish(...)` may hold (yes/no, or the
    options a question names). A free answer or reason may not start with a space, `.` or
    `<`: a small model otherwise copies the prompt's placeholders (`Finish(...)`,
    `Finish(<only the answer ...>)`) instead of answering. `answer_rules` (GBNF defining
    the rule `answer`, see `schema_grammar`) is what `Finish(...)` holds instead."""
    choices = [a for a in dict.fromkeys(answers) if a and "\n" not in a]
    answer = f"({' | '.join(_quote(a) for a in choices)})" if choices else "line"
    if answer_rules is not None:
        answer = "answer"
    finish = f'"Finish(" {answer} ")"'
    actions = f'({finish} | "Replan(" line ")")' if can_replan else finish
    line = f"line ::= [^\\n.< ] [^\\n]{{0,{max_chars - 1}}}\n"
    if answer_rules is not None:
        line += answer_rules + "\n"
    if thought == "none":
        return f'root ::= "Action: " {actions}\n{line}'
    start, chars = JOIN_THOUGHTS[thought]
    return (
        f'root ::= {_quote("Thought: " + start)} thought "\\n" "Action: " {actions}\n'
        f"thought ::= [^\\n]{{1,{chars}}}\n{line}"
    )
