"""Tools: typed Python functions (sync or async) with a schema and a run policy."""

from __future__ import annotations

import functools
import inspect
import os
import re
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    TypedDict,
    TypeVar,
    cast,
    get_args,
    get_type_hints,
    overload,
)

import anyio
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model

from .checks import check_int, check_number, check_type
from .context import RunContext, takes_context

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["JournalMode", "Tool", "ToolDescriptionWarning", "ToolPolicy", "tool", "tool_map"]

F = TypeVar("F", bound=Callable[..., Any])
JournalMode = Literal["auto", "json", "pickle", "never"]


class ToolPolicy(TypedDict, total=False):
    """How a tool is run; the keywords of `tool`, `Tool.from_function`, `Tool.from_schema`
    (see `Tool` for each)."""

    max_concurrency: int | None
    timeout: float | None
    retries: int
    retry_delay: float
    side_effects: bool
    trusted: bool
    feeds: Iterable[str]
    idempotent: bool
    batch: Callable[[list[dict[str, Any]]], Any] | None
    inline: bool
    journal: JournalMode


def _policy(policy: ToolPolicy) -> dict[str, Any]:
    """The policy as `Tool`'s fields (`feeds` as a tuple)."""
    fields: dict[str, Any] = dict(policy)
    if "feeds" in fields:
        fields["feeds"] = _names(fields["feeds"])
    return fields


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ToolDescriptionWarning(UserWarning):
    """A tool was made from a function with no docstring and no `description`: the model
    sees only its name and arguments and has to guess what it does."""


@dataclass(frozen=True, eq=False)
class Tool:
    """A callable the planner may use, with its argument schema and policy.

    Build one with `@tool` or `Tool.from_function`. Arguments are validated against the
    schema (pydantic) before the function runs. `max_concurrency` bounds simultaneous calls
    of this tool across every run that uses it; `timeout` bounds one attempt; a failing call
    is retried `retries` times, waiting `retry_delay * 2**attempt` seconds in between.
    `side_effects=True` marks a tool that acts on the world (sends, books, deletes): an
    agent given an `approve` callable asks it before such a task runs. `trusted=False` says
    the tool's output may hold text written by strangers (e-mails, web pages, files): an
    agent with a policy (`Agent(policy="sealed")`) then tracks what is derived from it.

    `feeds` names tools that usually take this tool's result as input: a tool selector that
    picks this tool picks those too (`parcall.select`).

    `idempotent=True` says a call has no effect beyond its result, so the same call with the
    same arguments may run once and be shared, or be served from a cache (see
    `parcall.passes`). `batch` is a batch form of the function: it takes a list of argument
    dicts and returns the list of their results, in order; calls that are ready at about the
    same time may be fused into one batch call. `inline=True` runs a *sync* function in the
    event loop's thread instead of a worker thread: only for CPU-trivial functions that
    never block (it saves a thread hand-off per call; a slow one stalls every run).

    A function whose first parameter is annotated `RunContext` (`ctx: RunContext[D]`) is
    given the run's context with each call (`ctx.deps`, `ctx.usage`, `ctx.run_id`); that
    parameter is not in the schema or the signature the model sees.

    `journal` is how a durable run (`Agent(store=...)`) keeps this tool's results: `"auto"`
    as JSON when it reads back equal, else pickled; `"json"` or `"pickle"` only that way;
    `"never"` not at all (the call runs again when the run is resumed — for results that
    hold a connection or a file handle).
    """

    name: str
    description: str
    function: Callable[..., Any]
    args_model: type[BaseModel]
    max_concurrency: int | None = None
    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 0.5
    side_effects: bool = False
    trusted: bool = True
    feeds: tuple[str, ...] = ()
    idempotent: bool = False
    batch: Callable[[list[dict[str, Any]]], Any] | None = None
    inline: bool = False
    journal: JournalMode = "auto"
    _limiter: list[anyio.CapacityLimiter] = field(default_factory=list, repr=False)
    _field_adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict, repr=False)
    _is_async: list[bool] = field(default_factory=list, repr=False)
    _takes_ctx: list[bool] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        check_type("Tool", "name", self.name, str, "a string")
        if not _NAME.match(self.name):
            raise ValueError(
                f"tool name {self.name!r} is not an identifier "
                "(letters, digits and _, not starting with a digit)"
            )
        owner = f"tool {self.name!r}"
        check_type(owner, "description", self.description, str, "a string")
        _check_function(owner, self.function)
        check_int(owner, "max_concurrency", self.max_concurrency, minimum=1, optional=True)
        check_number(owner, "timeout", self.timeout, positive=True, optional=True)
        check_int(owner, "retries", self.retries, minimum=0)
        check_number(owner, "retry_delay", self.retry_delay, minimum=0)
        if not isinstance(self.feeds, tuple) or not all(isinstance(f, str) for f in self.feeds):
            raise TypeError(f"tool {self.name!r}: feeds must be a tuple of tool names")
        self._is_async.append(inspect.iscoroutinefunction(self.function))
        first = next(iter(_parameters(self.function)), None)
        self._takes_ctx.append(
            first is not None
            and first not in self.args_model.model_fields
            and takes_context(self.function, _hints(self.function))
        )
        if self.batch is not None and not callable(self.batch):
            raise TypeError(f"tool {self.name!r}: batch must be a function of a list of calls")
        check_type(owner, "journal", self.journal, str, "'auto', 'json', 'pickle' or 'never'")
        if self.journal not in get_args(JournalMode):
            raise ValueError(
                f"tool {self.name!r}: journal must be 'auto', 'json', 'pickle' or 'never', "
                f"not {self.journal!r}"
            )
        if self.inline and self._is_async[0]:
            raise ValueError(f"tool {self.name!r}: inline applies to sync functions only")

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        **policy: Unpack[ToolPolicy],
    ) -> Tool:
        _check_function("Tool.from_function", function)
        summary, arg_docs = _parse_docstring(inspect.getdoc(function) or "")
        tool_name = name or _function_name(function)
        made = cls(
            name=tool_name,
            description=description if description is not None else summary,
            function=function,
            args_model=_args_model(function, tool_name, arg_docs),
            **_policy(policy),
        )
        if description is None and not summary:
            warnings.warn(
                f"tool {tool_name!r} has no description, so the model sees only its name and "
                "arguments: give the function a docstring, or tool(description=...)",
                ToolDescriptionWarning,
                stacklevel=_outside_parcall(),
            )
        return made

    @classmethod
    def from_schema(
        cls,
        name: str,
        parameters: Mapping[str, Any],
        function: Callable[..., Any],
        *,
        description: str = "",
        **policy: Unpack[ToolPolicy],
    ) -> Tool:
        """A tool described by a JSON schema of its arguments (MCP, OpenAPI, tool specs);
        `function` is called with the validated arguments as keywords."""
        from .schema import model_from_schema

        return cls(
            name=name,
            description=description,
            function=function,
            args_model=model_from_schema(name, parameters),
            **_policy(policy),
        )

    @property
    def parameters(self) -> tuple[str, ...]:
        """Argument names in signature order (positional plan arguments map onto these)."""
        return tuple(self.args_model.model_fields)

    @property
    def required(self) -> frozenset[str]:
        return frozenset(n for n, f in self.args_model.model_fields.items() if f.is_required())

    @property
    def is_async(self) -> bool:
        return self._is_async[0]

    @property
    def takes_ctx(self) -> bool:
        """Whether the function's first parameter is a `RunContext` (given by the run)."""
        return self._takes_ctx[0]

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments, as chat APIs' native tool calling expects."""
        schema = self.args_model.model_json_schema()
        schema.pop("title", None)
        return schema

    def signature(self) -> str:
        """A one-line signature for prompts, e.g. `search(query: str, k: int = 3) -> str`."""
        params = []
        for pname, info in self.args_model.model_fields.items():
            text = f"{pname}: {_type_name(info.annotation)}"
            if not info.is_required():
                text += f" = {info.default!r}"
            params.append(text)
        hints = _hints(self.function)
        ret = f" -> {_type_name(hints['return'])}" if "return" in hints else ""
        return f"{self.name}({', '.join(params)}){ret}"

    def check_argument(self, name: str, value: Any) -> None:
        """Validate one literal argument at parse time; raises `ValidationError`."""
        adapter = self._field_adapters.get(name)
        if adapter is None:
            info = self.args_model.model_fields[name]
            adapter = TypeAdapter[Any](Any if info.annotation is None else info.annotation)
            self._field_adapters[name] = adapter
        adapter.validate_python(value)

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and coerce a full set of (resolved) arguments; raises `ValidationError`."""
        model = self.args_model.model_validate(dict(arguments))
        # The fields in declaration order (extra arguments, where allowed, are kept apart).
        values: dict[str, Any] = model.__dict__
        return values

    async def call(self, arguments: Mapping[str, Any], ctx: RunContext[Any] | None = None) -> Any:
        """Call the function with validated arguments; sync functions run in a worker thread.
        `ctx` is given to a function that takes a `RunContext` (and to no other).

        A sync function is abandoned (left to finish in its thread) when the call is
        cancelled or times out: Python cannot stop a thread, but the run does not wait for it.
        """
        kwargs = dict(arguments)
        function = self.bound(ctx)
        if self.is_async:
            return await cast(Callable[..., Awaitable[Any]], function)(**kwargs)
        if self.inline:
            return function(**kwargs)
        return await anyio.to_thread.run_sync(lambda: function(**kwargs), abandon_on_cancel=True)

    def bound(self, ctx: RunContext[Any] | None) -> Callable[..., Any]:
        """The function to call with the arguments as keywords: with `ctx` in front for a
        tool that takes a `RunContext`."""
        if not self.takes_ctx:
            return self.function
        if ctx is None:
            raise TypeError(
                f"tool {self.name!r} takes a RunContext: run it in an agent, or call it with ctx="
            )
        return functools.partial(self.function, ctx)

    def limiter(self) -> anyio.CapacityLimiter | None:
        if self.max_concurrency is None:
            return None
        if not self._limiter:
            self._limiter.append(anyio.CapacityLimiter(self.max_concurrency))
        return self._limiter[0]


def tool_map(tools: Iterable[Tool | Callable[..., Any]], owner: str = "") -> dict[str, Tool]:
    """Tools by name; plain functions are wrapped with `Tool.from_function`. What is not a
    list of tools and functions is a TypeError naming `tools` (and the `owner`, e.g. Agent)."""
    where = f"{owner}: tools" if owner else "tools"
    items = _tool_list(where, tools)
    found: dict[str, Tool] = {}
    for i, item in enumerate(items):
        if isinstance(item, str):
            raise TypeError(
                f"{where}[{i}] is the string {item!r}, and a string is not a tool: "
                "give the function (or Tool) itself, without quotes"
            )
        if not isinstance(item, Tool) and not callable(item):
            raise TypeError(f"{where}[{i}] is {_shown(item)}, neither a Tool nor a function")
        wrapped = item if isinstance(item, Tool) else Tool.from_function(item)
        if wrapped.name in found:
            raise ValueError(f"two tools are named {wrapped.name!r}")
        found[wrapped.name] = wrapped
    return found


@overload
def tool(function: F, /) -> Tool: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    **policy: Unpack[ToolPolicy],
) -> Callable[[F], Tool]: ...
def tool(
    function: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    **policy: Unpack[ToolPolicy],
) -> Tool | Callable[[F], Tool]:
    """Turn a typed function into a `Tool`: `@tool` or `@tool(timeout=5, retries=2)`;
    `@tool(side_effects=True)` for one that acts (see `Agent(approve=...)`);
    `@tool(trusted=False)` for one whose output strangers may write (see `Agent(policy=...)`);
    `@tool(idempotent=True)`, `@tool(batch=search_many)`, `@tool(inline=True)` (see `Tool`)."""

    def wrap(fn: F) -> Tool:
        return Tool.from_function(
            fn,
            name=name,
            description=description,
            **policy,
        )

    return wrap(function) if function is not None else wrap


def _tool_list(where: str, tools: Any) -> list[Any]:
    """`tools` as a list, or a TypeError saying how to write it."""
    fix = "give a list of tools or functions, e.g. tools=[search, add]"
    if isinstance(tools, Tool) or (callable(tools) and not isinstance(tools, type)):
        name = tools.name if isinstance(tools, Tool) else getattr(tools, "__name__", "f")
        what = "Tool" if isinstance(tools, Tool) else "function"
        raise TypeError(
            f"{where} must be a list, not a single {what} ({name!r}): write tools=[{name}]"
        )
    if isinstance(tools, str):
        raise TypeError(
            f"{where} must be a list of tools or functions, not the string {tools!r}: "
            f"a string is not a tool; {fix}"
        )
    if isinstance(tools, (bytes, Mapping)) or not isinstance(tools, Iterable):
        raise TypeError(f"{where} must be a list of tools or functions, not {_shown(tools)}: {fix}")
    return list(tools)


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{text[:60]}… ({type(value).__name__})" if len(text) > 60 else text


def _function_name(function: Callable[..., Any]) -> str:
    """The function's name as a tool name; naming how to give one when it is not usable
    (a lambda, a `functools.partial`)."""
    name = getattr(function, "__name__", None)
    if isinstance(name, str) and _NAME.match(name):
        return name
    what = f"its name {name!r} is not an identifier" if name else "it has no name"
    raise ValueError(
        f"cannot name a tool after {function!r}: {what}; give one with "
        "tool(name=...) or Tool.from_function(function, name=...)"
    )


def _outside_parcall() -> int:
    """The `stacklevel` of the first frame outside the parcall package (a warning then
    points at the user's line, however deep inside parcall it was raised)."""
    package = os.path.dirname(os.path.dirname(__file__)) + os.sep
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _check_function(owner: str, function: Any) -> None:
    if not callable(function):
        raise TypeError(f"{owner}: function must be callable, not {type(function).__name__}")


def _names(feeds: Iterable[str]) -> tuple[str, ...]:
    # A bare string would otherwise become a tuple of its letters.
    return (feeds,) if isinstance(feeds, str) else tuple(feeds)


def _parameters(function: Callable[..., Any]) -> list[str]:
    try:
        return list(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # a builtin without a signature
        return []


def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return get_type_hints(function)
    except (NameError, TypeError):
        return dict(getattr(function, "__annotations__", {}))


def _args_model(
    function: Callable[..., Any], tool_name: str, arg_docs: Mapping[str, str]
) -> type[BaseModel]:
    hints = _hints(function)
    fields: dict[str, Any] = {}
    params = list(inspect.signature(function).parameters.values())
    if params and takes_context(function, hints):
        params = params[1:]  # the run gives it; the model never writes it
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise TypeError(f"tool {tool_name!r}: *args/**kwargs cannot be described to a model")
        annotation = hints.get(param.name, Any)
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (
            annotation,
            _field(default, arg_docs.get(param.name)),
        )
    model: type[BaseModel] = create_model(
        f"{tool_name}_arguments",
        __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
        **fields,
    )
    return model


def _field(default: Any, description: str | None) -> Any:
    from pydantic import Field

    return Field(default, description=description)


_SECTION = re.compile(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?):$")
_ARG = re.compile(r"^(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its summary and per-argument descriptions."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    arg_indent: int | None = None
    current: str | None = None
    for line in doc.splitlines():
        stripped = line.strip()
        if _SECTION.match(stripped):
            section, arg_indent, current = stripped.rstrip(":"), None, None
            continue
        if section is None:
            summary.append(line)
            continue
        if section not in ("Args", "Arguments", "Parameters") or not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG.match(stripped)
        if match and (arg_indent is None or indent <= arg_indent):
            arg_indent = indent
            current = match.group(1).lstrip("*")
            args[current] = match.group(2).strip()
        elif current is not None:
            args[current] = f"{args[current]} {stripped}".strip()
    return "\n".join(summary).strip(), args


def _type_name(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def validation_message(error: ValidationError) -> str:
    """A short, model-readable summary of a pydantic validation error."""
    parts = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"])
        parts.append(f"{loc}: {item['msg']}" if loc else item["msg"])
    return "; ".join(parts)
