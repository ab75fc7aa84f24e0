"""`response_format` of a chat request: the run's `output_type`.

`{"type": "json_object"}` asks for any JSON object, `{"type": "json_schema", "json_schema":
{"name": ..., "schema": {...}}}` for JSON that fits the schema (a `StructuredDict`), and
`{"type": "text"}` (or none) for the agent's own answer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._core.json_check import StructuredDict

__all__ = ["ResponseFormat", "output_type_of"]


class JsonSchemaFormat(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str = "response"
    description: str | None = None
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError('response_format of type "json_schema" needs "json_schema": {...}')
        return self


def output_type_of(response_format: ResponseFormat | None) -> Any:
    """The run's `output_type` for `response_format`; None: the agent's own."""
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_object" or response_format.json_schema is None:
        return dict[str, Any]
    spec = response_format.json_schema
    return StructuredDict(spec.schema_, spec.name, spec.description)
