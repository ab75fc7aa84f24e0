"""Where parcall keeps the files it writes for the user (run logs, journals)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_file"]


def data_file(variable: str, name: str) -> Path:
    """`$variable` if set, else `name` in `$XDG_DATA_HOME/parcall` (`~/.local/share/parcall`)."""
    if path := os.environ.get(variable):
        return Path(path)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "parcall" / name
