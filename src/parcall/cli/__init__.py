"""The `parcall` command: thin, flags in and library calls out."""

from ._app import app, main

__all__ = ["app", "main"]
