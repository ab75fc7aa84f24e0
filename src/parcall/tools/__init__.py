"""Built-in tools, so a first run does something real offline.

- `search` / `lookup`: an offline encyclopedia (591 articles from HotpotQA's Wikipedia
  paragraphs, CC BY-SA 4.0; see `data/LICENSE-encyclopedia.md`).
- `calculator`: safe arithmetic (parsed with `ast`, never evaluated as code; bounded).
- `date_diff`, `today`, `convert_units`: dates and units.
- `extract_tool(model)`: a model-backed `extract(question, context)` that turns a passage
  into the short value a later step needs.

`DEMO_TOOLS` is what `parcall run` uses when no `--tools` are given.

Adapters for tools kept elsewhere (each needs its extra, imported only when used):
`mcp_tools` / `MCPToolset` (MCP servers), `openapi_tools` / `OpenAPIToolset` (OpenAPI 3
services), `from_langchain` (LangChain tools). See docs/tools.md.
"""

from .._core.tool import Tool
from ._calculator import CalculatorError
from ._calculator import calculator as _calculator
from ._clock import convert_units as _convert_units
from ._clock import date_diff as _date_diff
from ._clock import today as _today
from ._encyclopedia import lookup as _lookup
from ._encyclopedia import search as _search
from ._extract import extract_tool
from .langchain import from_langchain
from .mcp import MCPToolset, mcp_tools
from .openapi import OpenAPIToolset, openapi_tools

__all__ = [
    "DEMO_TOOLS",
    "CalculatorError",
    "MCPToolset",
    "OpenAPIToolset",
    "calculator",
    "convert_units",
    "date_diff",
    "extract_tool",
    "from_langchain",
    "lookup",
    "mcp_tools",
    "openapi_tools",
    "search",
    "today",
]

# Each answers from its arguments alone (idempotent): a plan's identical calls run once.
search = Tool.from_function(_search, max_concurrency=8, idempotent=True)
lookup = Tool.from_function(_lookup, max_concurrency=8, idempotent=True)
calculator = Tool.from_function(_calculator, idempotent=True)
date_diff = Tool.from_function(_date_diff, idempotent=True)
today = Tool.from_function(_today, idempotent=True)
convert_units = Tool.from_function(_convert_units, idempotent=True)

DEMO_TOOLS: tuple[Tool, ...] = (search, calculator, date_diff)
