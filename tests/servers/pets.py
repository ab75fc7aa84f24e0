"""A small pets service with its OpenAPI document, and a uvicorn server on 127.0.0.1 for it."""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

PET = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "species": {"type": "string", "enum": ["cat", "dog"]},
    },
    "required": ["name", "species"],
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Pets", "version": "1"},
    "servers": [{"url": "/api"}],
    "components": {"schemas": {"Pet": PET}},
    "paths": {
        "/pets": {
            "get": {
                "operationId": "listPets",
                "summary": "List pets.",
                "parameters": [
                    {
                        "name": "species",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "only this species",
                    },
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 10}},
                ],
            },
            "post": {
                "operationId": "addPet",
                "summary": "Add a pet.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}
                    },
                },
            },
        },
        "/pets/{petId}": {
            "parameters": [{"name": "petId", "in": "path", "schema": {"type": "integer"}}],
            "get": {"operationId": "getPet", "summary": "One pet by id."},
            "delete": {"operationId": "deletePet", "summary": "Remove a pet."},
        },
        "/whoami": {
            "get": {
                "summary": "The caller's key, as the service sees it.",
                "parameters": [
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                ],
            }
        },
    },
}


class Pets:
    """The service's state; `writes` counts requests that changed it."""

    def __init__(self) -> None:
        self.pets: dict[int, dict[str, Any]] = {
            1: {"id": 1, "name": "Tom", "species": "cat"},
            2: {"id": 2, "name": "Rex", "species": "dog"},
            3: {"id": 3, "name": "Kit", "species": "cat"},
        }
        self.writes = 0

    def app(self) -> Starlette:
        async def list_pets(request: Request) -> Response:
            species = request.query_params.get("species")
            limit = int(request.query_params.get("limit", "10"))
            found = [p for p in self.pets.values() if species in (None, p["species"])]
            return JSONResponse(found[:limit])

        async def add_pet(request: Request) -> Response:
            data = await request.json()
            self.writes += 1
            pet = {"id": max(self.pets) + 1, "name": data["name"], "species": data["species"]}
            self.pets[pet["id"]] = pet
            return JSONResponse(pet, status_code=201)

        async def get_pet(request: Request) -> Response:
            pet = self.pets.get(int(request.path_params["pet_id"]))
            if pet is None:
                return JSONResponse({"detail": "no such pet"}, status_code=404)
            return JSONResponse(pet)

        async def delete_pet(request: Request) -> Response:
            self.writes += 1
            self.pets.pop(int(request.path_params["pet_id"]), None)
            return Response(status_code=204)

        async def whoami(request: Request) -> Response:
            key = request.headers.get("x-api-key", "nobody")
            trace = request.headers.get("x-trace", "")
            return PlainTextResponse(f"{key} {trace}".strip())

        async def document(request: Request) -> Response:
            return JSONResponse(DOCUMENT)

        return Starlette(
            routes=[
                Route("/openapi.json", document),
                Route("/api/pets", list_pets, methods=["GET"]),
                Route("/api/pets", add_pet, methods=["POST"]),
                Route("/api/pets/{pet_id:int}", get_pet, methods=["GET"]),
                Route("/api/pets/{pet_id:int}", delete_pet, methods=["DELETE"]),
                Route("/api/whoami", whoami),
            ]
        )


class LocalServer:
    """uvicorn serving an app on 127.0.0.1 (a free port) in a thread, until `stop()`."""

    def __init__(self, app: Starlette) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._sock = sock
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
        self._sock.close()
