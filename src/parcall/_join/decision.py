"""The joiner's decision: `Finish(answer)` or `Replan(reason)`, read tolerantly."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from .._core.errors import JoinerOutputError, ParcallError
from .._core.observation import Observation, format_value, resolve
from .._core.plan import Plan, Ref, Template, iter_refs

__all__ = ["Finish", "Replan", "parse_decision", "template_answer"]

_ACTION = re.compile(r"\b(finish|replan)\b\s*(\(|:)?", re.IGNORECASE)
_THOUGHT = re.compile(r"^\s*thought\s*:\s*(.*)$", re.IGNORECASE | re.MULTILINE)
_ACTION_LABEL = re.compile(r"^\s*action\s*:\s*", re.IGNORECASE | re.MULTILINE)
_NUMBER_GOES_ON = re.compile(r"[.,]?\d")
_UNIT = re.compile(r"\s+([A-Za-z]{2,})\b(?!\s+\w)")
_NOT_UNITS = {"and", "or", "but", "the", "of", "in", "on", "at", "to", "for", "with", "by"}
_NOT_UNITS |= {"from", "is", "was", "are", "were", "than", "as"}
CALCULATOR = "calculator"
"""The built-in calculator's name (`parcall.tools.calculator`, offered by default)."""


@dataclass(frozen=True, slots=True)
class Finish:
    answer: str
    thought: str | None = None
    inferred: bool = False
    """True when the joiner wrote no `Finish(...)` and its text was taken as the answer."""
    unknown: tuple[str, ...] = ()
    """Numbers the answer stated that no result holds, marked `(unknown)` in `answer`."""
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


def template_answer(
    plan: Plan,
    plan_error: str | None,
    observations: Mapping[int, Observation],
    request: str = "",
) -> str | None:
    """The answer of a plan that ended with `finish(...)`, filled in from the results, or None
    when the joiner must decide: no template, no task, a broken plan, or a task that failed."""
    if plan.answer is None or plan_error is not None or not plan.tasks:
        return None
    if not all(observations[t.idx].ok for t in plan.tasks):
        return None
    if _reads_as_a_number(plan.answer) or _leaves_unused(plan):
        return None
    if request and _unit_from_nowhere(plan.answer, request, observations):
        return None
    values = {i: o.value for i, o in observations.items() if o.ok}
    try:
        answer = resolve(plan.answer, values, _in_full)
    except (KeyError, ParcallError):  # a ref to a failed task of an earlier round, or a bad path
        return None
    return answer if isinstance(answer, str) else _in_full(answer)


def _leaves_unused(plan: Plan) -> bool:
    """True when the answer names results but leaves a calculation unused: a `calculator`
    task whose result reaches neither the answer nor another task (`finish("$1 days")`
    after four readings and their sum). The template was wired wrong, so the joiner reads
    the results instead. (Other unused results are allowed: an answer taken from trusted
    results only stays so.)"""
    named = [r.task for r in iter_refs(plan.answer)]
    if not named:  # a fixed text ("Booked."): nothing to wire
        return False
    used = {d for t in plan.tasks for d in t.deps} | set(named)
    return any(t.tool == CALCULATOR and t.idx not in used for t in plan.tasks)


def _unit_from_nowhere(
    template: str | Ref | Template, request: str, observations: Mapping[int, Observation]
) -> bool:
    """True when the word right after a result (its unit: `"$1 days"`) is in neither the
    request nor any result: a unit copied from an example ("48 days" for an average
    temperature), so the joiner reads the results instead."""
    if not isinstance(template, Template):
        return False
    units = [
        m.group(1).casefold()
        for part, after in pairwise(template.parts)
        if isinstance(part, Ref) and isinstance(after, str)
        for m in [_UNIT.match(after)]
        if m is not None and m.group(1).casefold() not in _NOT_UNITS
    ]
    if not units:
        return False
    seen = request.casefold() + " ".join(
        format_value(o.value, sys.maxsize).casefold() for o in observations.values() if o.ok
    )
    return any(re.search(rf"\b{re.escape(unit)}", seen) is None for unit in units)


def _reads_as_a_number(template: str | Ref | Template) -> bool:
    """True when a reference runs straight into digits, as in `"$2,357"` (`$2` + `",357"`):
    the model most likely wrote an amount of money, not a result, so the joiner reads the
    results instead of answering with a number glued to a result."""
    if not isinstance(template, Template):
        return False
    parts = template.parts
    return any(
        isinstance(part, Ref) and isinstance(after, str) and _NUMBER_GOES_ON.match(after)
        for part, after in pairwise(parts)
    )


def _in_full(value: object) -> str:
    return format_value(value, limit=sys.maxsize)  # the answer itself is never truncated
