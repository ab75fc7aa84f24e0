"""Model backends: one small protocol (`Model.stream`), one module per backend.

`LlamaCpp` imports llama-cpp-python only when one is made (`pip install 'parcall[llama]'`).
"""

from ._base import (
    STOP,
    Message,
    Model,
    ModelChunk,
    ModelRequest,
    Prefill,
    TextChunk,
    ToolCallChunk,
    ToolSpec,
    Usage,
    UsageChunk,
)
from ._errors import (
    ModelAuthError,
    ModelCapabilityError,
    ModelConnectionError,
    ModelContextLengthError,
    ModelError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelResponseError,
    ModelServerError,
    ModelStatusError,
    ModelTimeoutError,
)
from ._llamacpp import LlamaCpp
from ._local import list_models, pull, resolve_local
from ._openai import OpenAICompatible, parse_model_spec
from ._resolve import resolve_model
from ._scripted import ScriptedModel

__all__ = [
    "STOP",
    "LlamaCpp",
    "Message",
    "Model",
    "ModelAuthError",
    "ModelCapabilityError",
    "ModelChunk",
    "ModelConnectionError",
    "ModelContextLengthError",
    "ModelError",
    "ModelNotFoundError",
    "ModelRateLimitError",
    "ModelRequest",
    "ModelResponseError",
    "ModelServerError",
    "ModelStatusError",
    "ModelTimeoutError",
    "OpenAICompatible",
    "Prefill",
    "ScriptedModel",
    "TextChunk",
    "ToolCallChunk",
    "ToolSpec",
    "Usage",
    "UsageChunk",
    "list_models",
    "parse_model_spec",
    "pull",
    "resolve_local",
    "resolve_model",
]
