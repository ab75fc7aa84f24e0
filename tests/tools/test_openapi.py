"""Tools from an OpenAPI 3 document, against a small pets service on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import FINISH, plan
from parcall import Agent, ApprovalRequest, Reject, ScriptedModel, ToolsetError

pytest.importorskip("jsonref", reason="needs the openapi extra: pip install -e '.[openapi]'")
pytest.importorskip("uvicorn", reason="needs the serve extra: pip install -e '.[serve]'")
psutil = pytest.importorskip("psutil", reason="needs the dev extra: pip install -e '.[dev]'")

from parcall.tools.openapi import OpenAPIToolset, openapi_tools  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1] / "servers"))
from pets import DOCUMENT, LocalServer, Pets  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture
def pets() -> Iterator[tuple[Pets, LocalServer]]:
    service = Pets()
    server = LocalServer(service.app())
    try:
        yield service, server
    finally:
        server.stop()


def connections_to(port: int) -> list[Any]:
    return [
        c for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port == port
    ]


async def test_operations_become_tools_with_arguments_and_policies(
    pets: tuple[Pets, LocalServer],
) -> None:
    _, server = pets
    async with openapi_tools(DOCUMENT, base_url=f"{server.url}/api") as tools:
        by_name = {t.name: t for t in tools}
    assert set(by_name) == {"listPets", "addPet", "getPet", "deletePet", "get_whoami"}
    assert by_name["listPets"].parameters == ("species", "limit")
    assert by_name["listPets"].required == frozenset()
    assert by_name["getPet"].required == {"petId"}
    assert by_name["addPet"].parameters == ("id", "name", "species")  # the $ref'd body
    assert by_name["addPet"].required == {"name", "species"}
    assert by_name["listPets"].description == "List pets."
    acting = {name for name, t in by_name.items() if t.side_effects}
    assert acting == {"addPet", "deletePet"}


async def test_a_plan_reads_and_writes_the_service(pets: tuple[Pets, LocalServer]) -> None:
    service, server = pets
    model = ScriptedModel(
        [
            plan(
                '1. listPets(species="cat", limit=1)',
                "2. getPet(petId=$1[0].id)",
                '3. addPet(name="Bo", species="dog")',
                "4. getPet(petId=99)",
            ),
            FINISH,
        ]
    )
    toolset = OpenAPIToolset(DOCUMENT, base_url=f"{server.url}/api")
    result = await Agent(model, [], toolsets=[toolset]).run("q")
    assert result.values[1] == [{"id": 1, "name": "Tom", "species": "cat"}]
    assert result.values[2]["name"] == "Tom"
    assert result.values[3] == {"id": 4, "name": "Bo", "species": "dog"}
    missing = result.observations[3]
    assert missing.error_type == "ToolError"
    assert "HTTP 404" in (missing.error or "") and "no such pet" in (missing.error or "")
    assert service.pets[4]["name"] == "Bo"
    assert connections_to(server.port) == []  # the client closed with the run


async def test_a_rejected_write_never_reaches_the_service(pets: tuple[Pets, LocalServer]) -> None:
    service, server = pets
    asked: list[str] = []

    def approve(request: ApprovalRequest) -> Reject:
        asked.extend(c.describe() for c in request.asked)
        return Reject("deleting is not allowed")

    model = ScriptedModel([plan("1. deletePet(petId=2)", '2. listPets(species="dog")'), FINISH])
    toolset = OpenAPIToolset(DOCUMENT, base_url=f"{server.url}/api")
    result = await Agent(model, [], toolsets=[toolset], approve=approve).run("q")
    assert service.writes == 0 and 2 in service.pets  # the service's own record
    assert asked == ["1. deletePet(petId=2)"]
    assert result.values == {2: [{"id": 2, "name": "Rex", "species": "dog"}]}


async def test_the_document_is_fetched_and_its_server_url_used(
    pets: tuple[Pets, LocalServer],
) -> None:
    _, server = pets
    async with openapi_tools(f"{server.url}/openapi.json", headers={"X-Api-Key": "k1"}) as tools:
        whoami = next(t for t in tools if t.name == "get_whoami")
        assert await whoami.call(whoami.validate({"X_Trace": "t7"})) == "k1 t7"


async def test_a_yaml_file_works_too(pets: tuple[Pets, LocalServer], tmp_path: Path) -> None:
    yaml = pytest.importorskip(
        "yaml", reason="needs the openapi extra: pip install -e '.[openapi]'"
    )
    _, server = pets
    path = tmp_path / "pets.yaml"
    path.write_text(yaml.safe_dump(DOCUMENT), encoding="utf-8")
    async with openapi_tools(path, base_url=f"{server.url}/api", operations={"getPet"}) as tools:
        (get_pet,) = tools
        assert (await get_pet.call({"petId": 3}))["name"] == "Kit"


async def test_a_body_that_is_not_an_object_is_one_body_argument() -> None:
    seen: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.raw_path, json.loads(request.content)))
        return httpx.Response(200, json={"ok": True})

    document = {
        "openapi": "3.1.0",
        "paths": {
            "/tags/{tag name}": {
                "put": {
                    "parameters": [{"name": "tag name", "in": "path", "required": True}],
                    "requestBody": {
                        "content": {"application/json": {"schema": {"type": "array", "items": {}}}}
                    },
                }
            }
        },
    }
    transport = httpx.MockTransport(handler)
    async with openapi_tools(document, base_url="http://svc", transport=transport) as tools:
        (put,) = tools
        assert put.name == "put_tags_tag_name"
        assert put.parameters == ("tag_name", "body")
        assert await put.call(put.validate({"tag_name": "a/b", "body": [1, 2]})) == {"ok": True}
    assert seen == [("PUT", b"/tags/a%2Fb", [1, 2])]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"swagger": "2.0", "paths": {}}, "not an OpenAPI 3 document"),
        ({"openapi": "3.0.0"}, "has no `paths`"),
        ({"openapi": "3.0.0", "paths": {}}, "no operations"),
        ({"openapi": "3.0.0", "paths": {"/x": {"get": {}}}}, "pass base_url"),
        (
            {"openapi": "3.0.0", "paths": {"/x": {"get": {"$ref": "#/nowhere"}}}},
            "cannot resolve",
        ),
    ],
)
async def test_bad_documents_are_clear_errors(document: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolsetError, match=message):
        async with openapi_tools(document):
            pass


async def test_an_unreachable_document_url_is_a_clear_error(
    pets: tuple[Pets, LocalServer],
) -> None:
    _, server = pets
    with pytest.raises(ToolsetError, match="cannot read the OpenAPI document"):
        async with openapi_tools(f"{server.url}/missing.json"):
            pass
