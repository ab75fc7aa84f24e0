"""Model specs as strings: what `--model` and `Agent(model="...")` accept."""

from __future__ import annotations

import os

from ._base import Model
from ._local import LocalModelNotFoundError, check_local_name
from ._openai import OpenAICompatible, parse_model_spec

__all__ = ["SPECS", "is_local_spec", "model_argument", "resolve_model"]


def is_local_spec(spec: str) -> bool:
    """`local`, `local:NAME` or a `.gguf` path: an embedded llama.cpp model.

    An http(s) spec is a server, even when its model name (after `#`) ends in `.gguf`, as
    llama.cpp's server names a model by its file path."""
    if spec.startswith(("http://", "https://")):
        return False
    return spec == "local" or spec.startswith("local:") or spec.lower().endswith(".gguf")


SPECS = "'local', 'local:tiny|small|medium', a .gguf path, 'openai:MODEL' or 'http://HOST:PORT/v1#MODEL'"


def resolve_model(spec: str | Model, **options: object) -> Model:
    """A `Model` from a spec string (models pass through unchanged).

    - `local` (the default embedded model), `local:tiny`, `local:small`, `local:medium`,
      or a path to a `.gguf` file → `LlamaCpp` (needs `pip install 'parcall[llama]'`);
    - `openai:gpt-4o-mini` → OpenAI (key from `OPENAI_API_KEY`);
    - `http://host:port/v1#model` → any OpenAI-compatible server (vLLM, Ollama, llama.cpp).

    `options` go to the backend's constructor. A spec that names no model — an unknown
    form, an unknown local name, a `.gguf` path with no file — is a `ValueError` raised
    here, before anything is downloaded or loaded.
    """
    if not isinstance(spec, str):
        return spec
    spec = spec.strip()
    if is_local_spec(spec):
        _check_local(spec)
        from ._llamacpp import LlamaCpp

        return LlamaCpp(spec, **options)  # type: ignore[arg-type]
    remote = parse_model_spec(spec)
    if remote is not None:
        return OpenAICompatible(**remote, **options)  # type: ignore[arg-type]
    if os.path.exists(spec):
        raise ValueError(f"{spec!r} exists but is not a .gguf file")
    raise ValueError(f"unknown model {spec!r}: use {SPECS}")


def _check_local(spec: str) -> None:
    if spec.lower().endswith(".gguf"):
        if not os.path.isfile(os.path.expanduser(spec)):
            raise ValueError(f"no model file at {spec!r}: use {SPECS}")
        return
    try:
        check_local_name(spec)
    except LocalModelNotFoundError:
        raise ValueError(f"unknown model {spec!r}: use {SPECS}") from None


def model_argument(owner: str, model: object) -> Model:
    """What an agent's `model` argument stands for: a `Model`, or a spec string resolved by
    `resolve_model`; anything else is a `TypeError` naming what is expected."""
    if isinstance(model, str):
        return resolve_model(model)
    if not callable(getattr(model, "stream", None)):
        raise TypeError(
            f"{owner}: model must be a Model (an object with a `stream` method, such as "
            f"LlamaCpp, OpenAICompatible or ScriptedModel) or a model spec string ({SPECS}), "
            f"not {type(model).__name__}"
        )
    return model  # type: ignore[return-value]
