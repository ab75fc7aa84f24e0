"""Plans as JSON: native tool calls, and structured-output plans, streamed like text plans.

Both formats reuse `build_task`, so the checks (unknown tool, arguments, forward refs,
duplicates) and the errors are the same as for LLMCompiler text. In JSON, a string that is
exactly `"$N"` (or an object `{"$ref": N}`) passes task N's typed result; `$N` / `${N}`
inside a longer string formats the result into it.

The answer template of text plans (`finish("A is $3")`) is, in a JSON plan, a top-level
`"finish": "A is $3"` next to `"tasks"`, and, as native tool calls, a last call
`finish({"answer": "A is $3"})` (when no tool is named `finish`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from .._core.errors import InvalidArgumentsError, PlanSyntaxError, UnknownReferenceError
from .._core.plan import Plan, Ref, Task, Template
from .._core.tool import Tool
from ..models._base import ToolCallChunk
from .text import (
    FINISH,
    MAX_LINE_CHARS,
    DeferredReference,
    build_task,
    finish_answer,
    template,
)

__all__ = ["JsonPlanParser", "ToolCallPlanParser", "from_json"]

JOIN_TOOL = "join"


def from_json(value: Any) -> Any:
    """JSON arguments → plan values: `"$1"` and `{"$ref": 1}` become Refs, strings templates."""
    if isinstance(value, str):
        return template(value)
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$ref"} and isinstance(value["$ref"], int):
            return Ref(value["$ref"])
        return {k: from_json(v) for k, v in value.items()}
    return value


class _TaskBuilder:
    def __init__(self, tools: Mapping[str, Tool], known: Collection[int]) -> None:
        self.tools = tools
        self.known = set(known)
        self.tasks: list[Task] = []
        self.answer: str | Ref | Template | None = None
        self.joined = False
        self.closed = False
        self.deferred = DeferredReference()

    def add(self, idx: int, name: str, args: Any, *, line: int | None, text: str) -> None:
        if name == JOIN_TOOL:
            self.joined = True
            self.deferred.end()
            return
        if self.deferred.error is not None:
            self.deferred.defines(idx, line)
            return
        if not isinstance(args, dict):
            raise InvalidArgumentsError("arguments must be a JSON object", line=line, text=text)
        if name == FINISH and FINISH not in self.tools:
            self.finish(args.get("answer"), line=line, text=text)
            return
        tool = self.tools.get(name)
        optional = set(tool.parameters) - tool.required if tool else set()
        # Strict structured outputs send optional arguments as null: leave them out instead.
        kwargs = {
            str(k): from_json(v) for k, v in args.items() if not (v is None and k in optional)
        }
        try:
            task = build_task(
                idx, name, [], kwargs, self.tools, defined=self.known, line=line, text=text
            )
        except UnknownReferenceError as exc:
            self.deferred.hold(exc)
            return
        self.known.add(task.idx)
        self.tasks.append(task)

    def finish(self, value: Any, *, line: int | None, text: str) -> None:
        if not isinstance(value, str):
            raise InvalidArgumentsError(
                'finish needs an answer string, e.g. "A is $3 m taller" or "$3"',
                line=line,
                text=text,
            )
        self.answer = finish_answer([from_json(value)], {}, self.known, line=line, text=text)
        self.joined = True

    def plan(self) -> Plan:
        return Plan(tuple(self.tasks), self.text, self.joined, answer=self.answer)

    @property
    def text(self) -> str:
        raise NotImplementedError

    def next_index(self) -> int:
        return max(self.known, default=0) + 1


_TEXT_CALL = re.compile(r'\{\s*"name"\s*:')


class ToolCallPlanParser(_TaskBuilder):
    """Native tool calls: the k-th call of the response is task `first + k`.

    A call is complete when the next call begins or the stream ends, so each one is
    dispatched while the model is still writing the rest. `line` in errors is the call's
    position (1-based) in the response.

    A small model may write its calls as text instead, as JSON objects
    `{"name": ..., "arguments": {...}}` (Qwen2.5 copies its chat template's doubled braces
    and leaves out the `<tool_call>` tags, so the server does not recognise them): while no
    native call has arrived, such objects in the text (`feed_text`) are calls too.
    """

    def __init__(self, tools: Mapping[str, Tool], *, known: Collection[int] = ()) -> None:
        super().__init__(tools, known)
        self._first = self.next_index()
        self._calls = 0
        self._current: int | None = None
        self._name = ""
        self._args: list[str] = []
        self._text: list[str] = []
        self._native = False
        self._content = ""
        self._scanned = 0

    @property
    def text(self) -> str:
        return "".join(self._text)

    def feed_text(self, text: str) -> None:
        """Text the model wrote beside (or instead of) native calls."""
        if self.joined or self.closed or self._native:
            return
        self._content += text
        decoder = json.JSONDecoder()
        while (start := _TEXT_CALL.search(self._content, self._scanned)) is not None:
            try:
                call, end = decoder.raw_decode(self._content, start.start())
            except ValueError:
                return  # not complete yet (or not JSON: `close` says so)
            self._scanned = end
            name, args = call.get("name"), call.get("arguments", {})
            if isinstance(name, str):
                raw = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
                self._take(name, raw)
            if self.joined:
                return

    def feed(self, chunk: ToolCallChunk) -> None:
        if self.joined or self.closed:
            return
        self._native = True
        if self._current is not None and chunk.index != self._current:
            self._finish()
        if self._current is None or chunk.index != self._current:
            self._current, self._name, self._args = chunk.index, "", []
        if chunk.name:
            self._name += chunk.name
        self._args.append(chunk.arguments)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._current is not None:
                self._finish()
            elif not self._native and not self.joined:
                rest = _TEXT_CALL.search(self._content, self._scanned)
                if rest is not None:
                    raise PlanSyntaxError(
                        "a tool call written as text is not complete JSON",
                        line=self._calls + 1,
                        text=self._content[rest.start() :][:MAX_LINE_CHARS],
                    )
            self.deferred.end()

    def _finish(self) -> None:
        self._current = None
        self._take(self._name, "".join(self._args))

    def _take(self, name: str, raw: str) -> None:
        self._calls += 1
        position = self._calls
        text = f"{name}({raw})"
        self._text.append(f"{self._first + position - 1}. {text}\n")
        try:
            args = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise PlanSyntaxError(
                f"tool call arguments are not JSON: {exc}", line=position, text=text
            ) from None
        self.add(self._first + position - 1, name, args, line=position, text=text)


class JsonPlanParser(_TaskBuilder):
    """A structured-output plan `{"tasks": [{"id": 1, "tool": "...", "args": {...}}, ...]}`.

    Streamed: each task object is parsed the moment its closing brace arrives. `line` in
    errors is the task's position (1-based) in the array.
    """

    def __init__(self, tools: Mapping[str, Tool], *, known: Collection[int] = ()) -> None:
        super().__init__(tools, known)
        self._chunks: list[str] = []
        self._depth = 0
        self._in_string = False
        self._escape = False
        self._start: int | None = None
        self._object: list[str] = []
        self._position = 0

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    def feed(self, chunk: str) -> None:
        if self.joined or self.closed:
            return
        self._chunks.append(chunk)
        for ch in chunk:
            if self._depth >= 2:
                self._object.append(ch)
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif ch == "\\":
                    self._escape = True
                elif ch == '"':
                    self._in_string = False
                continue
            if ch == '"':
                self._in_string = True
            elif ch in "{[":
                self._depth += 1
                if self._depth == 3 and ch == "{":
                    self._object = [ch]
            elif ch in "}]":
                self._depth -= 1
                if self._depth == 2 and ch == "}":
                    self._task("".join(self._object))
                elif self._depth == 0:
                    self.joined = True
                    self.deferred.end()
                    self._top_level_finish()
                    return
            if len(self._object) > MAX_LINE_CHARS:
                raise PlanSyntaxError("task is too long", line=self._position + 1)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.deferred.end()
        if not self.joined and self._depth > 0:
            try:
                json.loads(self.text)
            except ValueError as exc:
                raise PlanSyntaxError(
                    f"plan is not complete JSON: {exc}", line=self._position + 1
                ) from None

    def _top_level_finish(self) -> None:
        text = self.text
        try:
            whole, _ = json.JSONDecoder().raw_decode(text, max(text.find("{"), 0))
        except ValueError:
            return  # not one JSON object; its tasks were taken one by one already
        if isinstance(whole, dict) and whole.get(FINISH) is not None:
            self.finish(whole[FINISH], line=self._position + 1, text=json.dumps(whole[FINISH]))

    def _task(self, text: str) -> None:
        self._position += 1
        try:
            item = json.loads(text)
        except ValueError as exc:
            raise PlanSyntaxError(
                f"task is not JSON: {exc}", line=self._position, text=text
            ) from None
        if not isinstance(item, dict) or not isinstance(item.get("tool"), str):
            raise PlanSyntaxError('a task needs "tool" and "args"', line=self._position, text=text)
        idx = item.get("id", self.next_index())
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise PlanSyntaxError('"id" must be an integer', line=self._position, text=text)
        self.add(idx, item["tool"], item.get("args", {}), line=self._position, text=text)
