"""The joiner's decision: `Finish(answer)` or `Replan(reason)`, read tolerantly."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ._errors import JoinerOutputError

__all__ = ["Finish", "Replan", "parse_decision"]

_ACTION = re.compile(r"\b(finish|replan)\b\s*(\(|:)?", re.IGNORECASE)
_THOUGHT = re.compile(r"^\s*thought\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)
_ACTION_LABEL = re.compile(r"^\s*action\s*:\s*", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Finish:
    answer: str
    thought: str | None = None
    inferred: bool = False
    """True when the joiner wrote no `Finish(...)` and its text was taken as the answer."""
    kind: Literal["finish"] = "finish"


@dataclass(frozen=True, slots=True)
class Replan:
    reason: str
    thought: str | None = None
    kind: Literal["replan"] = "replan"


def parse_decision(text: str) -> Finish | Replan:
    """Read the joiner's output.

    Accepts `Action: Finish(answer)`, `Finish: answer`, `finish("answer")`, a missing closing
    parenthesis, and the same for `Replan`. The last action written wins. Text with no action
    at all is taken as the answer (`inferred=True`); empty output raises `JoinerOutputError`.
    """
    thoughts = _THOUGHT.findall(text)
    thought = thoughts[-1].strip() if thoughts else None
    found = list(_ACTION.finditer(text))
    # An action at the start of a line (or after "Action:") beats one inside a sentence.
    actions = [m for m in found if _at_line_start(text, m)] or [m for m in found if m.group(2)]
    if not actions:
        answer = _ACTION_LABEL.sub("", _THOUGHT.sub("", text)).strip()
        if not answer:
            if thought:
                return Finish(thought, thought, inferred=True)
            raise JoinerOutputError("the joiner wrote nothing: no answer and no reason to replan")
        return Finish(answer, thought, inferred=True)
    match = actions[-1]
    body = text[match.end() :]
    if match.group(2) == "(":
        close = body.rfind(")")
        body = body[:close] if close >= 0 else body
    body = _unquote(body.strip())
    if match.group(1).lower() == "finish":
        return Finish(body, thought)
    return Replan(body or "the joiner asked for a new plan without saying why", thought)


def _at_line_start(text: str, match: re.Match[str]) -> bool:
    start = text.rfind("\n", 0, match.start()) + 1
    prefix = text[start : match.start()].strip().lower()
    return prefix in ("", "action:")


def _unquote(text: str) -> str:
    for quote in ('"""', "'''", '"', "'"):
        if len(text) >= 2 * len(quote) and text.startswith(quote) and text.endswith(quote):
            return text[len(quote) : -len(quote)].strip()
    return text
