"""Results shown once: the lines of a result that an earlier result already showed are left out.

A small planner often looks a thing up twice (`search(query="X")` and `lookup(term="X")`,
or one call twice), and the joiner would read the same sentences again; on a CPU every
prompt token costs time. A line counts as shown when its text, without a leading
`Title: ` and a trailing `…` (how the built-in tools write and cut them), is part of an
earlier result's text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["SHOWN_ABOVE", "unseen_lines"]

SHOWN_ABOVE = "(nothing new: the results above show this)"
MIN_CHARS = 20
"""Shorter lines ("yes", "0", "Not found.") are kept: they repeat by chance, not by a lookup."""
_TITLE = re.compile(r"^[^:\n]{1,120}:\s+")


def unseen_lines(text: str, shown: Sequence[str]) -> str:
    """`text` without the lines whose content is in one of the `shown` texts;
    `SHOWN_ABOVE` when every line is."""
    if not shown:
        return text
    kept = [line for line in text.split("\n") if not _shown(line, shown)]
    if not kept:
        return SHOWN_ABOVE
    return "\n".join(kept)


def _shown(line: str, shown: Sequence[str]) -> bool:
    body = _TITLE.sub("", line.strip(), count=1).rstrip("…").strip()
    if len(body) < MIN_CHARS:
        return False
    return any(body in earlier for earlier in shown)
