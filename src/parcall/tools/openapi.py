"""Tools from an OpenAPI 3 document: one tool per operation, called over httpx.

```python
async with openapi_tools("https://api.example.com/openapi.json", headers=auth) as tools:
    result = await Agent(model, tools).run("Which pets are cats?")
```

An operation's path, query and header parameters and its JSON body's properties become the
tool's arguments (a body that is not an object, or whose names clash, is one `body`
argument); `operationId` names the tool (else method and path). Every tool of a document
shares one `httpx.AsyncClient`, closed with the block. GET, HEAD and OPTIONS read, and are
`idempotent` (a plan's identical reads are made once); other methods act (see
`Agent(approve=...)`) unless `side_effects` says otherwise. A response
with an error status is a `ToolError` naming the status; JSON responses come back as data,
others as text. `$ref`s inside the document are resolved (`pip install 'parcall[openapi]'`).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Container, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import anyio
import httpx

from .._core.errors import ToolError, ToolsetError
from .._core.extras import require
from .._core.tool import Tool

__all__ = ["OpenAPIToolset", "openapi_tools"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_READS = frozenset({"get", "head", "options"})
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True, slots=True)
class _Arg:
    where: str  # "path", "query", "header", "body" (one property) or "json" (the whole body)
    name: str  # the name in the request


class OpenAPIToolset:
    """The operations of an OpenAPI 3 document as tools (a `Toolset`).

    `document` is the parsed document, a path to a JSON or YAML file, or an http(s) URL to
    fetch when opened. `base_url` defaults to the document's first server (relative to the
    document's URL). `headers` go with every request; `operations` keeps only those
    operationIds/tool names; `prefix` is put before every tool name; `side_effects` is
    None (by method), a bool, or a set of names. `trusted` says whether the responses are
    trusted (see `Agent(policy=...)`); by default they are not. So is `idempotent` (None:
    GET, HEAD and OPTIONS operations are idempotent, so identical calls of them in a run are
    made once).
    `transport` replaces the network (e.g. `httpx.MockTransport` in tests).
    """

    def __init__(
        self,
        document: Mapping[str, Any] | str | Path,
        *,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        operations: Container[str] | None = None,
        timeout: float | None = 30.0,
        max_concurrency: int | None = None,
        prefix: str = "",
        side_effects: bool | Container[str] | None = None,
        trusted: bool = False,
        idempotent: bool | Container[str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive (or None)")
        self.document = document
        self.base_url = base_url
        self.headers = dict(headers or {})
        self.operations = operations
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.prefix = prefix
        self.side_effects = side_effects
        self.trusted = trusted
        self.idempotent = idempotent
        self.transport = transport

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Sequence[Tool]]:
        """Read the document, make one tool per operation, and share one HTTP client."""
        async with httpx.AsyncClient(
            headers=self.headers, timeout=self.timeout, transport=self.transport
        ) as client:
            doc, doc_url = await self._load(client)
            tools = self._tools(doc, client)
            client.base_url = httpx.URL(self.base_url or _server_url(doc, doc_url))
            yield tools

    async def _load(self, client: httpx.AsyncClient) -> tuple[dict[str, Any], str | None]:
        source = self.document
        url: str | None = None
        try:
            if isinstance(source, Mapping):
                raw: Any = dict(source)
            elif isinstance(source, str) and source.startswith(("http://", "https://")):
                url = source
                response = await client.get(source)
                response.raise_for_status()
                raw = _parse(response.text, source)
            else:
                text = await anyio.Path(source).read_text(encoding="utf-8")
                raw = _parse(text, str(source))
        except (OSError, httpx.HTTPError, ValueError) as exc:
            raise ToolsetError(f"cannot read the OpenAPI document {source!s:.80}: {exc}") from exc
        if not isinstance(raw, Mapping) or not str(raw.get("openapi", "")).startswith("3"):
            raise ToolsetError(
                f"{source!s:.80} is not an OpenAPI 3 document (no `openapi: 3.x` field)"
            )
        if not isinstance(raw.get("paths"), Mapping):
            raise ToolsetError(f"the OpenAPI document {source!s:.80} has no `paths`")
        return _resolve_refs(raw), url

    def _tools(self, doc: Mapping[str, Any], client: httpx.AsyncClient) -> list[Tool]:
        tools: dict[str, Tool] = {}
        for path, item in doc["paths"].items():
            if not isinstance(item, Mapping):
                continue
            for method in _METHODS:
                operation = item.get(method)
                if not isinstance(operation, Mapping):
                    continue
                given = operation.get("operationId")
                name = self.prefix + (
                    _tool_name(given)
                    if given
                    else "_".join([method, *re.findall(r"[A-Za-z0-9]+", path)])
                )
                if self.operations is not None and not (
                    name in self.operations or operation.get("operationId") in self.operations
                ):
                    continue
                if name in tools:
                    raise ToolsetError(f"two OpenAPI operations make a tool named {name!r}")
                tools[name] = self._tool(name, method, path, item, operation, client)
        if not tools:
            raise ToolsetError("the OpenAPI document has no operations to make tools of")
        return list(tools.values())

    def _acts(self, name: str, method: str) -> bool:
        if isinstance(self.side_effects, bool):
            return self.side_effects
        if self.side_effects is not None:
            return name in self.side_effects
        return method not in _READS

    def _idempotent(self, name: str, method: str) -> bool:
        if isinstance(self.idempotent, bool):
            return self.idempotent
        if self.idempotent is not None:
            return name in self.idempotent
        return method in _READS

    def _tool(
        self,
        name: str,
        method: str,
        path: str,
        item: Mapping[str, Any],
        operation: Mapping[str, Any],
        client: httpx.AsyncClient,
    ) -> Tool:
        properties: dict[str, Any] = {}
        required: list[str] = []
        routes: dict[str, _Arg] = {}
        params = {(p.get("in"), p.get("name")): p for p in item.get("parameters", ())}
        params.update({(p.get("in"), p.get("name")): p for p in operation.get("parameters", ())})
        for (where, original), param in params.items():
            if where not in ("path", "query", "header") or not isinstance(original, str):
                continue  # cookies are left to `headers`
            arg = _arg_name(original, routes)
            schema = dict(param.get("schema") or {})
            if param.get("description"):
                schema["description"] = param["description"]
            properties[arg] = schema
            routes[arg] = _Arg(where, original)
            if param.get("required") or where == "path":
                required.append(arg)
        body = _json_body(operation)
        if body is not None:
            schema, body_required = body
            fields = schema.get("properties")
            names = {_arg_name(k, {}) for k in fields} if isinstance(fields, Mapping) else set()
            if schema.get("type", "object") == "object" and fields and not names & set(routes):
                for original, spec in fields.items():
                    arg = _arg_name(original, routes)
                    properties[arg] = spec
                    routes[arg] = _Arg("body", original)
                    if body_required and original in (schema.get("required") or ()):
                        required.append(arg)
            else:
                arg = _arg_name("body", routes)
                properties[arg] = schema
                routes[arg] = _Arg("json", "body")
                if body_required:
                    required.append(arg)
        summary = " ".join(
            str(operation[k]).strip() for k in ("summary", "description") if operation.get(k)
        )
        call = _Call(client, method.upper(), path, routes, frozenset(required))
        return Tool.from_schema(
            name,
            {"type": "object", "properties": properties, "required": required},
            call.send,
            description=summary or f"{method.upper()} {path}",
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
            side_effects=self._acts(name, method),
            trusted=self.trusted,
            idempotent=self._idempotent(name, method),
        )


class _Call:
    """Builds and sends one operation's request from a tool call's arguments."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        routes: Mapping[str, _Arg],
        required: frozenset[str],
    ) -> None:
        self.client = client
        self.method = method
        self.path = path
        self.routes = routes
        self.required = required

    async def send(self, **arguments: Any) -> Any:
        path_values: dict[str, str] = {}
        query: dict[str, Any] = {}
        headers: dict[str, str] = {}
        body: dict[str, Any] = {}
        whole: Any = None
        for arg, value in arguments.items():
            if value is None and arg not in self.required:
                continue  # left out by the plan: the service's default applies
            route = self.routes[arg]
            if route.where == "path":
                path_values[route.name] = quote(str(value), safe="")
            elif route.where == "query":
                query[route.name] = value
            elif route.where == "header":
                headers[route.name] = str(value)
            elif route.where == "body":
                body[route.name] = value
            else:
                whole = value
        url = self.path.format_map(path_values).lstrip("/")
        payload = whole if whole is not None else (body or None)
        request = f"{self.method} {self.path}"
        try:
            response = await self.client.request(
                self.method, url, params=query or None, headers=headers or None, json=payload
            )
        except httpx.HTTPError as exc:
            raise ToolError(f"{request}: {type(exc).__name__}: {exc}") from exc
        if response.is_error:
            detail = response.text.strip()[:500]
            raise ToolError(f"{request}: HTTP {response.status_code}: {detail}")
        if not response.content:
            return None
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text


def openapi_tools(
    document: Mapping[str, Any] | str | Path, **options: Any
) -> AbstractAsyncContextManager[Sequence[Tool]]:
    """`async with openapi_tools(document, base_url=...) as tools:` — see `OpenAPIToolset`."""
    return OpenAPIToolset(document, **options).open()


def _parse(text: str, where: str) -> Any:
    if where.endswith((".yaml", ".yml")) or not text.lstrip().startswith(("{", "[")):
        yaml = require("yaml", needed_for="a YAML OpenAPI document")
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:  # a ValueError on one line, as json's errors are
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise ValueError(f"it is neither JSON nor YAML ({problem}{at})") from exc
    return json.loads(text)


def _resolve_refs(doc: Mapping[str, Any]) -> dict[str, Any]:
    jsonref = require("jsonref", needed_for="OpenAPI tools ($refs)")
    try:
        resolved = jsonref.replace_refs(doc, proxies=False, lazy_load=False)
    except (jsonref.JsonRefError, RecursionError) as exc:
        raise ToolsetError(f"cannot resolve the OpenAPI document's $refs: {exc}") from exc
    return dict(resolved)


def _server_url(doc: Mapping[str, Any], doc_url: str | None) -> str:
    servers = doc.get("servers") or ()
    url = servers[0].get("url") if servers and isinstance(servers[0], Mapping) else None
    if url and "://" in str(url):
        return str(url)
    if doc_url is not None:
        return urljoin(doc_url, str(url or "/"))
    raise ToolsetError("the OpenAPI document names no absolute server URL: pass base_url=...")


def _json_body(operation: Mapping[str, Any]) -> tuple[dict[str, Any], bool] | None:
    body = operation.get("requestBody")
    if not isinstance(body, Mapping):
        return None
    content = body.get("content") or {}
    for media, spec in content.items():
        if "json" in media and isinstance(spec, Mapping):
            return dict(spec.get("schema") or {}), bool(body.get("required"))
    return None


def _tool_name(text: str) -> str:
    name = _NOT_NAME.sub("_", text).strip("_") or "operation"
    return f"op_{name}" if name[0].isdigit() else name


def _arg_name(original: str, taken: Mapping[str, _Arg]) -> str:
    arg = _tool_name(original)
    while arg in taken:
        arg += "_"
    return arg
