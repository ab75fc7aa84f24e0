"""The LLMCompiler plan parser: streamed chunks in, tasks out, one line at a time.

A plan is text like

    Thought: both heights are needed.
    1. search(query="Eiffel Tower height")
    2. search("Statue of Liberty height")
    3. calculator(expression="$1 + ${2}")
    4. join()

A plan may end with `finish("A is $3 m taller")` (or `finish($3)`) instead of `join()`: an
answer template the agent fills in from the results, with no joiner call, when every task
succeeded (unless a tool is itself named `finish`).

Each task line is parsed with `ast` as a call expression whose arguments are literals and
`$N` references; nothing the model writes is ever evaluated. Feeding the text in chunks of
any size gives the same tasks as feeding it whole.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from .._core.errors import (
    CyclicPlanError,
    DuplicateTaskError,
    ForwardReferenceError,
    InvalidArgumentsError,
    PlanError,
    PlanSyntaxError,
    UnknownReferenceError,
    UnknownToolError,
)
from .._core.observation import format_value
from .._core.plan import Plan, Ref, Task, Template, iter_refs
from .._core.pyast import parse_expression
from .._core.tool import Tool, validation_message

__all__ = [
    "FINISH",
    "DeferredReference",
    "PlanParser",
    "build_task",
    "finish_answer",
    "parse_call",
    "parse_plan",
    "template",
]

MAX_LINE_CHARS = 20_000
MAX_TASK_LINES = 50
MAX_NESTING = 40

_TASK = re.compile(r"(\d{1,9})\s*[.):]\s*(.*)", re.DOTALL)
_THOUGHT = re.compile(r"(?:thought|reasoning)\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)
_JOIN = re.compile(r"join\s*\(\s*\)", re.IGNORECASE)
_FINISH = re.compile(r"finish\s*\(", re.IGNORECASE)
FINISH = "finish"
_BARE_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")
_REF_NAME = re.compile(r"__parcall_ref_(\d{1,9})__")
_CODE_REF = re.compile(r"\$(?:\{(\d{1,9})\}|(\d{1,9}))(?!\d)")
_STRING_REF = re.compile(
    r"\$\$|\$\{(\d{1,9})((?:\.[A-Za-z_]\w*|\[\d{1,9}\]|\[\"[^\"\]]*\"\]|\['[^'\]]*'\])*)\}"
    r"|\$(\d{1,9})(?!\d)"
)
_PATH_ITEM = re.compile(r"\.([A-Za-z_]\w*)|\[(\d{1,9})\]|\[\"([^\"\]]*)\"\]|\['([^'\]]*)'\]")
_LITERAL_NAMES: dict[str, Any] = {"true": True, "false": False, "null": None, "none": None}
_END_MARKERS = ("<END_OF_PLAN>", "<end_of_plan>")


class PlanParser:
    """Incremental parser: `feed` text as it streams, then `close` at end of stream.

    `known` holds indices of tasks from earlier plans of the same run, which new tasks may
    reference and must not reuse. Errors are `PlanError` subclasses naming the line.
    """

    def __init__(self, tools: Mapping[str, Tool], *, known: Collection[int] = ()) -> None:
        self._tools = tools
        self._known = set(known)
        self._buffer = ""
        self._pending: list[tuple[int, str]] = []  # lines of a task still open
        self._line_no = 0
        self._thought: str | None = None
        self._thoughts: list[str] = []
        self._text: list[str] = []
        self.tasks: list[Task] = []
        self.answer: str | Ref | Template | None = None
        self.joined = False
        self.closed = False
        self._deferred = DeferredReference()
        self._finishing = False

    @property
    def tools(self) -> Mapping[str, Tool]:
        """The tools a task may call."""
        return self._tools

    @property
    def text(self) -> str:
        return "".join(self._text)

    def feed(self, chunk: str) -> list[Task]:
        """Add streamed text; returns the tasks completed by it (possibly none)."""
        if self.joined or self.closed:
            return []
        self._text.append(chunk)
        self._buffer += chunk
        if "\n" not in chunk:
            return []
        *lines, self._buffer = self._buffer.split("\n")
        found: list[Task] = []
        for line in lines:
            self._line_no += 1
            task = self._line(self._line_no, line)
            if task is not None:
                found.append(task)
            if self.joined:
                break
        return found

    def close(self) -> list[Task]:
        """End of stream: parse a last unterminated line, fail on a task left open."""
        if self.closed:
            return []
        found: list[Task] = []
        if not self.joined:
            rest, self._buffer = self._buffer, ""
            if rest:
                self._line_no += 1
                task = self._line(self._line_no, rest)
                if task is not None:
                    found.append(task)
        self.closed = True
        self._deferred.end()
        if self._pending and not self.joined:
            line, text = self._pending[0][0], "\n".join(t for _, t in self._pending)
            self._pending = []
            parse_call(text, line)  # raises the precise syntax error
            raise PlanSyntaxError("task is not complete", line=line, text=text)
        return found

    def plan(self) -> Plan:
        return Plan(tuple(self.tasks), self.text, self.joined, tuple(self._thoughts), self.answer)

    def end(self) -> None:
        """End the plan after the tasks parsed so far, as if `join()` came next (the model
        started repeating itself); what is still buffered is dropped."""
        self.joined = True
        self._buffer = ""
        self._pending = []

    def _line(self, line_no: int, raw: str) -> Task | None:
        if self._deferred.error is not None:
            self._after_error(line_no, raw)
            return None
        if self._pending:
            self._pending.append((line_no, raw))
            return self._try_pending()
        line = _clean(raw)
        if not line:
            return None
        if line.startswith(_END_MARKERS):
            self.joined = True
            return None
        thought = _THOUGHT.fullmatch(line)
        if thought:
            self._thought = thought.group(1).strip()
            self._thoughts.append(self._thought)
            return None
        if _JOIN.match(line):
            self.joined = True
            return None
        if self._is_finish(line):
            return self._open_finish(line_no, line)
        match = _TASK.fullmatch(line)
        if match is None:
            call = _BARE_CALL.match(line)
            if call and call.group(1) in self._tools:
                raise PlanSyntaxError(
                    "task has no index (write `N. tool(...)`)", line=line_no, text=raw
                )
            return None  # prose between tasks is allowed and kept in the plan text
        if _JOIN.match(match.group(2)):
            self.joined = True
            return None
        if self._is_finish(match.group(2)):
            return self._open_finish(line_no, match.group(2))
        self._pending = [(line_no, match.group(2))]
        self._pending_idx = int(match.group(1))
        return self._try_pending()

    def _after_error(self, line_no: int, raw: str) -> None:
        """Past a reference to an undefined task: only look for its definition or the end."""
        line = _clean(raw)
        match = _TASK.fullmatch(line)
        call = match.group(2) if match else line
        if line.startswith(_END_MARKERS) or _JOIN.match(call):
            self.joined = True
            self._deferred.end()
        if match:
            self._deferred.defines(int(match.group(1)), line_no)

    def _try_pending(self) -> Task | None:
        line = self._pending[0][0]
        text = "\n".join(t for _, t in self._pending)
        if len(text) > MAX_LINE_CHARS:
            raise PlanSyntaxError(
                f"task is longer than {MAX_LINE_CHARS} characters", line=line, text=text[:200]
            )
        depth, open_string = _balance(text)
        if (depth > 0 or open_string) and len(self._pending) < MAX_TASK_LINES:
            return None  # an argument spans lines: wait for the rest
        self._pending = []
        name, args, kwargs = parse_call(text, line)
        if self._finishing:
            self.answer = finish_answer(args, kwargs, self._known, line=line, text=text)
            self.joined = True
            return None
        try:
            task = build_task(
                self._pending_idx,
                name,
                args,
                kwargs,
                self._tools,
                defined=self._known,
                line=line,
                text=text,
                thought=self._thought,
            )
        except UnknownReferenceError as exc:
            self._deferred.hold(exc)
            return None
        self._thought = None
        self._known.add(task.idx)
        self.tasks.append(task)
        return task

    def _is_finish(self, text: str) -> bool:
        return FINISH not in self._tools and _FINISH.match(text) is not None

    def _open_finish(self, line_no: int, text: str) -> Task | None:
        self._finishing = True
        self._pending = [(line_no, text)]
        return self._try_pending()


def finish_answer(
    args: list[Any],
    kwargs: dict[str, Any],
    defined: Collection[int],
    *,
    line: int | None = None,
    text: str = "",
) -> str | Ref | Template:
    """The template of `finish(...)`: one value (positional or `answer=`), whose references
    name tasks of the plan (shared by every plan format)."""
    where: dict[str, Any] = {"line": line, "text": text}
    values = [*args, *kwargs.values()]
    if len(values) != 1 or set(kwargs) - {"answer"}:
        raise InvalidArgumentsError(
            'finish takes one answer template, e.g. finish("A is $3 m taller") or finish($3)',
            **where,
        )
    value = values[0]
    for ref in iter_refs(value):
        if ref.task not in defined:
            raise UnknownReferenceError(
                f"finish refers to ${ref.task}, which no task of the plan defines", **where
            )
    if isinstance(value, (str, Ref, Template)):
        return value
    if isinstance(value, (list, dict)):
        raise InvalidArgumentsError(
            "finish takes a string or a single $N, not a list or dict", **where
        )
    return format_value(value)


def parse_plan(
    text: str, tools: Mapping[str, Tool] | Iterable[Tool], *, known: Collection[int] = ()
) -> Plan:
    """Parse a whole plan text; the same code as streaming, fed in one chunk."""
    parser = PlanParser(_tool_map(tools), known=known)
    parser.feed(text)
    parser.close()
    return parser.plan()


def build_task(
    idx: int,
    tool_name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    tools: Mapping[str, Tool],
    *,
    defined: Collection[int],
    line: int | None = None,
    text: str = "",
    thought: str | None = None,
) -> Task:
    """Check one call against the tool set and earlier tasks; shared by every plan format."""
    where: dict[str, Any] = {"line": line, "text": text}
    if idx in defined:
        raise DuplicateTaskError(f"task {idx} is defined twice (continue the numbering)", **where)
    tool = tools.get(tool_name)
    if tool is None:
        known = ", ".join(sorted(tools)) or "none"
        raise UnknownToolError(f"unknown tool {tool_name!r} (available: {known})", **where)
    params = tool.parameters
    if len(args) > len(params):
        raise InvalidArgumentsError(
            f"{tool_name} takes {len(params)} argument(s) but {len(args)} were given", **where
        )
    arguments = dict(zip(params, args))
    for key, value in kwargs.items():
        if key not in params:
            raise InvalidArgumentsError(
                f"{tool_name} has no argument {key!r} (it takes: {', '.join(params)})", **where
            )
        if key in arguments:
            raise InvalidArgumentsError(f"{tool_name} got argument {key!r} twice", **where)
        arguments[key] = value
    missing = [p for p in params if p in tool.required and p not in arguments]
    if missing:
        raise InvalidArgumentsError(
            f"{tool_name} is missing required argument(s): {', '.join(missing)}", **where
        )
    deps: list[int] = []
    for key, value in arguments.items():
        refs = list(iter_refs(value))
        for ref in refs:
            _check_ref(ref.task, idx, defined, where)
            if ref.task not in deps:
                deps.append(ref.task)
        if not refs:
            try:
                tool.check_argument(key, value)
            except ValidationError as exc:
                raise InvalidArgumentsError(
                    f"{tool_name}: bad value for {key!r}: {validation_message(exc)}", **where
                ) from None
    return Task(idx, tool_name, arguments, tuple(sorted(deps)), thought, line)


def _check_ref(target: int, idx: int, defined: Collection[int], where: dict[str, Any]) -> None:
    if target == idx:
        raise CyclicPlanError(f"task {idx} refers to its own result ${target}", **where)
    if target in defined:
        return
    # The plan parsers hold this error back until the plan ends, and report a later line
    # that defines the task as a forward reference instead (`DeferredReference`).
    raise UnknownReferenceError(
        f"task {idx} refers to ${target}, but there is no task {target} in the plan",
        task=idx,
        target=target,
        **where,
    )


class DeferredReference:
    """A reference to a task no line above defines is an error either way, but which one
    depends on the rest of the plan: a later line may define it (a forward reference) or
    none does (no such task). The plan parsers keep the error here, run nothing more, read
    on for task indices only, and raise the right one — at that line, or at the plan's end.
    """

    def __init__(self) -> None:
        self.error: UnknownReferenceError | None = None

    def hold(self, error: UnknownReferenceError) -> None:
        self.error = error

    def defines(self, idx: int, line: int | None) -> None:
        """A later task `idx` (at `line`): raise `ForwardReferenceError` if it is the one."""
        error = self.error
        if error is not None and idx == error.target:
            where = f" (line {line})" if line is not None else ""
            raise ForwardReferenceError(
                f"task {error.task} refers to ${error.target}, which comes later{where}; "
                "a task may only use results of tasks above it",
                line=error.line,
                text=error.text,
            )

    def end(self) -> None:
        """The plan ended: no line defined the task."""
        if self.error is not None:
            raise self.error


def _tool_map(tools: Mapping[str, Tool] | Iterable[Tool]) -> Mapping[str, Tool]:
    if isinstance(tools, Mapping):
        return tools
    return {t.name: t for t in tools}


def _clean(raw: str) -> str:
    """Drop what models wrap plans in: whitespace, markdown bullets, bold and code fences."""
    line = raw.strip()
    if line.startswith("```"):
        return ""
    line = line.lstrip("-*> ").replace("**", "")
    return line.strip()


def _balance(text: str) -> tuple[int, bool]:
    """Open bracket depth outside strings, and whether a string is still open at the end."""
    depth = 0
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote is not None:
            if ch == "\\":
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            if ch == "\n" and len(quote) == 1:
                quote = None  # an unterminated one-line string: let ast report it
        elif ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            i += len(quote)
            continue
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        i += 1
    return depth, quote is not None and len(quote) == 3


def _sanitise(text: str) -> str:
    """Replace `$N` / `${N}` outside string literals with identifiers `ast` accepts."""
    out: list[str] = []
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote is not None:
            if ch == "\\" and i + 1 < n:
                out.append(text[i : i + 2])
                i += 2
                continue
            if text.startswith(quote, i):
                out.append(quote)
                i += len(quote)
                quote = None
                continue
            out.append(ch)
        elif ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            out.append(quote)
            i += len(quote)
            continue
        elif ch == "$":
            match = _CODE_REF.match(text, i)
            if match is None:
                out.append(ch)
            else:
                out.append(f"__parcall_ref_{match.group(1) or match.group(2)}__")
                i = match.end()
                continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def parse_call(text: str, line: int) -> tuple[str, list[Any], dict[str, Any]]:
    """`tool(a, k=v)` → ("tool", [a], {"k": v}) with literals and Refs; never evaluates."""
    source = _sanitise(text.strip())
    for marker in _END_MARKERS:
        source = source.replace(marker, "")
    depth, _ = _balance(source)
    if (
        source.count("(") + source.count("[") + source.count("{") > MAX_NESTING * 4
        or depth > MAX_NESTING
    ):
        raise PlanSyntaxError("arguments are nested too deeply", line=line, text=text)
    try:
        # warnings such as "invalid escape sequence" are dropped: the text is kept as written
        node = parse_expression(source.strip() or "()")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc) or type(exc).__name__
        raise PlanSyntaxError(f"not a tool call: {detail}", line=line, text=text) from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise PlanSyntaxError("expected a call like `tool(arg=value)`", line=line, text=text)
    convert = _Literal(line, text)
    args = [convert(a) for a in node.args]
    kwargs: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise PlanSyntaxError("`**` arguments are not allowed", line=line, text=text)
        if keyword.arg in kwargs:
            raise InvalidArgumentsError(
                f"argument {keyword.arg!r} is given twice", line=line, text=text
            )
        kwargs[keyword.arg] = convert(keyword.value)
    return node.func.id, args, kwargs


class _Literal:
    """Turns an argument's AST into Python values, `Ref`s and `Template`s; nothing else."""

    def __init__(self, line: int, text: str) -> None:
        self.line, self.text = line, text
        self.depth = 0

    def fail(self, message: str) -> PlanError:
        return PlanSyntaxError(message, line=self.line, text=self.text)

    def __call__(self, node: ast.expr) -> Any:
        # Brackets are bounded before parsing; this also bounds chains like `------1`.
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise self.fail("arguments are nested too deeply")
            return self.convert(node)
        finally:
            self.depth -= 1

    def convert(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str):
                return template(value)
            if value is None or isinstance(value, (bool, int, float)):
                return value
            raise self.fail(f"unsupported literal {value!r}")
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            result: dict[Any, Any] = {}
            for key_node, value_node in zip(node.keys, node.values):
                if key_node is None:
                    raise self.fail("`**` inside a dict is not allowed")
                key = self(key_node)
                if isinstance(key, (Ref, Template, list, dict)):
                    raise self.fail("dict keys must be plain strings or numbers")
                result[key] = self(value_node)
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self(node.operand)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
            raise self.fail("a sign applies to numbers only")
        if isinstance(node, ast.Name):
            ref = _REF_NAME.fullmatch(node.id)
            if ref:
                return Ref(int(ref.group(1)))
            if node.id.lower() in _LITERAL_NAMES:
                return _LITERAL_NAMES[node.id.lower()]
            raise self.fail(f"bare name {node.id!r}: quote strings, refer to results as $N")
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self.path(node)
        raise self.fail(
            f"{type(node).__name__} is not allowed; arguments must be literals "
            "(expressions are not evaluated)"
        )

    def path(self, node: ast.expr) -> Ref:
        """`$1.rows[0]["name"]` → Ref(1, ("rows", 0, "name"))."""
        items: list[str | int] = []
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute):
                if node.attr.startswith("_"):
                    raise self.fail(f"private attribute {node.attr!r} cannot be referenced")
                items.append(node.attr)
            else:
                index = node.slice
                if not (
                    isinstance(index, ast.Constant)
                    and isinstance(index.value, (str, int))
                    and not isinstance(index.value, bool)
                ):
                    raise self.fail("an index into a result must be a number or a string")
                items.append(index.value)
            node = node.value
        if isinstance(node, ast.Name):
            ref = _REF_NAME.fullmatch(node.id)
            if ref:
                return Ref(int(ref.group(1)), tuple(reversed(items)))
        raise self.fail("attribute access and indexing apply to results ($N) only")


def template(value: str) -> str | Ref | Template:
    """A string with `$N` / `${N}` inside becomes a Template; `$$` is a literal dollar.

    Inside braces a reference may look into the result: `${1.id}`, `${1[0].name}`,
    `${1["Exchange Rate"]}`.
    """
    if "$" not in value:
        return value
    parts: list[str | Ref] = []
    last = 0
    buffer = ""
    for match in _STRING_REF.finditer(value):
        buffer += value[last : match.start()]
        last = match.end()
        if match.group(0) == "$$":
            buffer += "$"
            continue
        if buffer:
            parts.append(buffer)
            buffer = ""
        if match.group(1) is not None:
            parts.append(Ref(int(match.group(1)), _string_path(match.group(2))))
        else:
            parts.append(Ref(int(match.group(3))))
    buffer += value[last:]
    if buffer:
        parts.append(buffer)
    if not any(isinstance(p, Ref) for p in parts):
        return "".join(p for p in parts if isinstance(p, str))
    if len(parts) == 1 and isinstance(parts[0], Ref):
        return parts[0]  # "$1" alone passes the typed value, like $1 unquoted
    return Template(tuple(parts))


def _string_path(text: str) -> tuple[str | int, ...]:
    items: list[str | int] = []
    for match in _PATH_ITEM.finditer(text):
        attr, index, double, single = match.groups()
        if index is not None:
            items.append(int(index))
        else:
            items.append(attr if attr is not None else double if double is not None else single)
    return tuple(items)
