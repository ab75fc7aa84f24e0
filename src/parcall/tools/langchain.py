"""LangChain tools as parcall tools (`pip install 'parcall[langchain]'`, langchain-core only).

```python
from langchain_core.tools import tool as lc_tool

@lc_tool
def multiply(a: int, b: int) -> int:
    \"\"\"Multiply two integers.\"\"\"
    return a * b

agent = Agent(model, from_langchain([multiply]))
```

The argument schema is the tool's own (`tool_call_schema`); calls go through `invoke`/`ainvoke`:
sync tools run in a worker thread and async ones (asyncio only) on the event loop. A `ToolException`
or any other error becomes the task's failed observation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from .._core.extras import require
from .._core.tool import Tool

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

__all__ = ["from_langchain", "from_langchain_tool"]

_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def _base_tool() -> type[BaseTool]:
    base: type[BaseTool] = require("langchain_core.tools", needed_for="LangChain tools").BaseTool
    return base


def from_langchain_tool(
    lc_tool: BaseTool,
    *,
    side_effects: bool = False,
    timeout: float | None = None,
    max_concurrency: int | None = None,
) -> Tool:
    """One LangChain `BaseTool` as a parcall `Tool` (names are made identifiers: `a-b` → `a_b`)."""
    base = _base_tool()
    if not isinstance(lc_tool, base):
        raise TypeError(f"{lc_tool!r} is not a LangChain BaseTool")
    raw: Any = lc_tool.tool_call_schema
    schema: Mapping[str, Any] = raw if isinstance(raw, Mapping) else raw.model_json_schema()
    required = set(schema.get("required") or ())
    # `Tool`/`StructuredTool` say whether they wrap a coroutine; a subclass, by its `_arun`.
    native_async = (
        lc_tool.coroutine is not None
        if hasattr(lc_tool, "coroutine")
        else type(lc_tool)._arun is not base._arun
    )

    async def call(**arguments: Any) -> Any:
        # Optional arguments the plan left out are not passed: the tool keeps its defaults.
        given = {k: v for k, v in arguments.items() if v is not None or k in required}
        if native_async:
            return await lc_tool.ainvoke(given)
        # LangChain's async path for a sync tool uses asyncio's executor; a worker thread
        # of anyio's works on every backend.
        return await anyio.to_thread.run_sync(lc_tool.invoke, given, abandon_on_cancel=True)

    return Tool.from_schema(
        _NOT_NAME.sub("_", lc_tool.name),
        schema,
        call,
        description=lc_tool.description or "",
        side_effects=side_effects,
        timeout=timeout,
        max_concurrency=max_concurrency,
    )


def from_langchain(tools: Iterable[BaseTool], **options: Any) -> list[Tool]:
    """LangChain tools as parcall tools; `options` as for `from_langchain_tool`."""
    return [from_langchain_tool(t, **options) for t in tools]
