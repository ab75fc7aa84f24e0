"""Model backends: one small protocol (`Model.stream`), one module per backend."""

from ._base import (
    Message,
    Model,
    ModelChunk,
    ModelRequest,
    TextChunk,
    ToolCallChunk,
    ToolSpec,
    Usage,
    UsageChunk,
)
from ._scripted import ScriptedModel

__all__ = [
    "Message",
    "Model",
    "ModelChunk",
    "ModelRequest",
    "ScriptedModel",
    "TextChunk",
    "ToolCallChunk",
    "ToolSpec",
    "Usage",
    "UsageChunk",
]
