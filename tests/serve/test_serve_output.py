"""`parcall serve` with `response_format` (typed answers) and answers streamed as written,
through the official `openai` client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from conftest import make_search
from parcall import Agent, ModelRequest, ScriptedModel
from parcall.serve import create_app, running_server

openai = pytest.importorskip("openai", reason="the serve tests use the official openai client")

PLAN = '1. search("Paris")\n2. search("Lyon")\njoin()\n'


class City(BaseModel):
    name: str
    people: int


def joiner(request: ModelRequest) -> str:
    """Writes JSON when the prompt asks for it, a bad answer first when the question says
    `sloppy`, text otherwise."""
    if request.purpose == "plan":
        return PLAN
    prompt = request.messages[-1].content
    question = request.messages[1].content
    if "does not fit" in prompt:
        return 'Action: Finish({"name": "Paris", "people": 2100000})'
    if "JSON of the form" not in prompt:
        return "Thought: both found.\nAction: Finish(Paris is bigger than Lyon)"
    if "sloppy" in question:
        return 'Action: Finish({"name": "Paris", "people": "many"})'
    if '"people": integer' in prompt:
        return 'Action: Finish({"name": "Paris", "people": 2100000})'
    return 'Action: Finish({"biggest": "Paris"})'


@pytest.fixture
def url() -> Iterator[str]:
    model = ScriptedModel([joiner], cycle=True)
    with running_server(create_app(Agent(model, [make_search()]))) as base:
        yield base


def client(url: str) -> Any:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=30)


CITY_SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "city", "schema": City.model_json_schema(), "strict": True},
}


def ask(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def test_a_json_schema_response_format_makes_the_content_that_json(url: str) -> None:
    with client(url) as c:
        reply = c.chat.completions.create(
            model="parcall", messages=ask("Which city is bigger?"), response_format=CITY_SCHEMA
        )
    assert json.loads(reply.choices[0].message.content) == {"name": "Paris", "people": 2100000}


def test_the_openai_clients_parse_reads_a_pydantic_model(url: str) -> None:
    with client(url) as c:
        reply = c.chat.completions.parse(
            model="parcall", messages=ask("Which city is bigger?"), response_format=City
        )
    assert reply.choices[0].message.parsed == City(name="Paris", people=2100000)


def test_an_answer_that_breaks_the_schema_is_asked_for_again(url: str) -> None:
    with client(url) as c:
        reply = c.chat.completions.create(
            model="parcall", messages=ask("A sloppy question"), response_format=CITY_SCHEMA
        )
    assert json.loads(reply.choices[0].message.content)["people"] == 2100000


def test_json_object_asks_for_any_json_object(url: str) -> None:
    with client(url) as c:
        reply = c.chat.completions.create(
            model="parcall",
            messages=ask("Which city is bigger?"),
            response_format={"type": "json_object"},
        )
    assert json.loads(reply.choices[0].message.content) == {"biggest": "Paris"}


def test_a_streamed_typed_answer_is_the_json(url: str) -> None:
    with client(url) as c:
        chunks = list(
            c.chat.completions.create(
                model="parcall",
                messages=ask("Which city is bigger?"),
                response_format=CITY_SCHEMA,
                stream=True,
            )
        )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert City.model_validate_json(text) == City(name="Paris", people=2100000)


def test_a_text_answer_streams_while_the_joiner_writes_it(url: str) -> None:
    with client(url) as c:
        chunks = list(
            c.chat.completions.create(
                model="parcall", messages=ask("Which city is bigger?"), stream=True
            )
        )
    kinds = {
        i: ch.model_extra["parcall_event"]["kind"]
        for i, ch in enumerate(chunks)
        if ch.model_extra and "parcall_event" in ch.model_extra
    }
    content = [i for i, ch in enumerate(chunks) if ch.choices and ch.choices[0].delta.content]
    join_ended = next(
        i
        for i, kind in kinds.items()
        if kind == "model_call_finished"
        and chunks[i].model_extra["parcall_event"]["purpose"] == "join"
    )
    assert len(content) > 2 and min(content) < join_ended
    text = "".join(chunks[i].choices[0].delta.content for i in content)
    assert text == "Paris is bigger than Lyon"


@pytest.mark.parametrize(
    ("response_format", "message"),
    [
        ({"type": "xml"}, "response_format.type"),
        ({"type": "json_schema"}, 'needs "json_schema"'),
        ({"type": "json_schema", "json_schema": {"schema": "x"}}, "schema"),
    ],
)
def test_a_bad_response_format_is_a_400_naming_it(
    url: str, response_format: dict[str, Any], message: str
) -> None:
    body = {"model": "parcall", "messages": ask("q"), "response_format": response_format}
    reply = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    assert reply.status_code == 400
    assert message in reply.json()["error"]["message"]
