"""Model specs as strings: what `--model` and `Agent(model="...")` accept."""

from __future__ import annotations

import os

from ._base import Model
from ._openai import OpenAICompatible, parse_model_spec

__all__ = ["is_local_spec", "resolve_model"]


def is_local_spec(spec: str) -> bool:
    """`local`, `local:NAME` or a `.gguf` path: an embedded llama.cpp model."""
    return spec == "local" or spec.startswith("local:") or spec.lower().endswith(".gguf")


def resolve_model(spec: str | Model, **options: object) -> Model:
    """A `Model` from a spec string (models pass through unchanged).

    - `local` (the default embedded model), `local:tiny`, `local:small`, `local:medium`,
      or a path to a `.gguf` file → `LlamaCpp` (needs `pip install 'parcall[llama]'`);
    - `openai:gpt-4o-mini` → OpenAI (key from `OPENAI_API_KEY`);
    - `http://host:port/v1#model` → any OpenAI-compatible server (vLLM, Ollama, llama.cpp).

    `options` go to the backend's constructor.
    """
    if not isinstance(spec, str):
        return spec
    spec = spec.strip()
    if is_local_spec(spec):
        from ._llamacpp import LlamaCpp

        return LlamaCpp(spec, **options)  # type: ignore[arg-type]
    remote = parse_model_spec(spec)
    if remote is not None:
        return OpenAICompatible(**remote, **options)  # type: ignore[arg-type]
    if os.path.exists(spec):
        raise ValueError(f"{spec!r} exists but is not a .gguf file")
    raise ValueError(
        f"unknown model {spec!r}: use 'local', 'local:tiny|small|medium', a .gguf path, "
        "'openai:MODEL' or 'http://HOST:PORT/v1#MODEL'"
    )
