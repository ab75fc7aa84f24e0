"""Optional dependencies: each is imported lazily, by the one module that needs it, through
`require`, which names the extra to install when it is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ParcallError

__all__ = ["EXTRAS", "MissingExtraError", "require"]

EXTRAS: dict[str, tuple[str, str]] = {
    "agentdojo": ("agentdojo", "agentdojo"),
    "llama_cpp": ("llama", "llama-cpp-python"),
    "matplotlib": ("bench", "matplotlib"),
    "psycopg": ("postgres", "psycopg"),
}
"""Top-level module → (the extra that installs it, its PyPI name)."""


class MissingExtraError(ParcallError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


def require(module: str, *, needed_for: str) -> ModuleType:
    """Import `module` (one of `EXTRAS`, or a submodule of one), or raise `MissingExtraError`
    saying that `needed_for` needs it and which extra installs it."""
    extra, package = EXTRAS[module.split(".")[0]]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{needed_for} needs {package}: pip install 'parcall[{extra}]'", extra=extra
        ) from exc
