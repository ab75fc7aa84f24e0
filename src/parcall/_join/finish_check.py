"""The joiner told what is missing, and its answer checked against it.

An answer that states a number no result holds while something failed is not passed off as
an answer (`check_finish`): it is sent back once as a reason to replan, then marked. So is an
answer that is the plan's own `finish("...")` text, written before any task ran (a small
joiner copies "Bob's account deleted" when the deletion failed). With nothing failed, such a
number is a sum worked out in the model's head: with a calculator at hand, it is sent back
once to be computed.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .._core.observation import Observation, format_value
from .._core.outcome import describe_missing, failures
from .._core.plan import Plan
from .decision import Finish, Replan

__all__ = ["check_finish", "invented_numbers", "may_revise"]

_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
UNKNOWN = "(unknown)"
"""What stands in an answer for a number that no result holds."""


def check_finish(
    decision: Finish,
    request: str,
    observations: Mapping[int, Observation],
    plans: Sequence[Plan],
    *,
    can_replan: bool,
    calculator: bool = False,
) -> Finish | Replan:
    """`decision` as it is, unless its answer states a number that no result, error,
    argument or the request holds:

    - a task failed: a `Replan` naming the number and the failure (when `can_replan`), else
      the answer with each such number replaced by `(unknown)` and what failed said after it;
      the same when the answer is a plan's `finish("...")` text (it assumed every task
      would succeed): a `Replan`, else `(unknown)` and what failed;
    - nothing failed, the run has a `calculator` and two or more results are numbers: a
      `Replan` asking to compute it with one (when `can_replan`; a small model adds
      looked-up numbers in its head, often wrongly).
    """
    failed = failures(observations.values(), plans)
    if failed and _copies_the_plans_finish(decision.answer, plans):
        named = "; ".join(describe_missing(o) for o in failed)
        if can_replan:
            return Replan(
                f"the answer is the plan's finish text, written before the tasks ran, while "
                f"{named}: get what is missing, or answer with what the results hold",
                decision.thought,
            )
        return Finish(f"{UNKNOWN} (incomplete: {named})", decision.thought, decision.inferred)
    if not _NUMBER.search(decision.answer):
        return decision
    if not failed and not (calculator and can_replan and _numbers_computed_from(observations)):
        return decision
    invented = invented_numbers(decision.answer, request, observations.values())
    if not invented:
        return decision
    numbers = ", ".join(invented)
    if not failed:
        return Replan(
            f"the answer states {numbers}, which no result holds: add a calculator task "
            "that computes it from the results ($N)",
            decision.thought,
        )
    named = "; ".join(describe_missing(o) for o in failed)
    if can_replan:
        return Replan(
            f"the answer states {numbers}, which no result holds, while {named}: "
            "get what is missing, or answer without it",
            decision.thought,
        )
    answer = _NUMBER.sub(
        lambda m: UNKNOWN if _plain(m.group()) in {_plain(n) for n in invented} else m.group(),
        decision.answer,
    )
    return Finish(f"{answer} (incomplete: {named})", decision.thought, decision.inferred)


def _copies_the_plans_finish(answer: str, plans: Sequence[Plan]) -> bool:
    """Whether `answer` is a plan's `finish("...")` text, a literal with no result in it (a
    template with `$N` is filled in from results, so it is not a copy). Any plan of the run
    counts: a replan without `finish` leaves the first one's text in the joiner's view."""
    said = " ".join(answer.split()).casefold()
    return any(
        isinstance(plan.answer, str) and " ".join(plan.answer.split()).casefold() == said
        for plan in plans
    )


def may_revise(
    observations: Mapping[int, Observation], plans: Sequence[Plan], *, calculator: bool
) -> bool:
    """Whether `check_finish` could turn an answer down or change it: a task failed, or
    the run has a calculator and numbers to compute from. Such an answer is not streamed
    while it is written (it may still become a replan)."""
    if failures(observations.values(), plans):
        return True
    return calculator and _numbers_computed_from(observations)


def _numbers_computed_from(observations: Mapping[int, Observation]) -> bool:
    """Whether two or more results are numbers: an answer's other number is then most
    likely computed from them."""
    numeric = [
        o
        for o in observations.values()
        if o.ok and isinstance(o.value, (int, float)) and not isinstance(o.value, bool)
    ]
    return len(numeric) >= 2


def invented_numbers(
    answer: str, request: str, observations: Iterable[Observation]
) -> tuple[str, ...]:
    """The numbers in `answer` that no result, error, argument or task number holds, and
    the request does not either (`8.4` is held by `8.399999999999999`)."""
    texts = [request]
    for o in observations:
        texts.append(str(o.idx))
        texts.append(format_value(o.args, sys.maxsize))
        texts.append(format_value(o.value, sys.maxsize) if o.ok else (o.error or ""))
    held = [n for text in texts for n in _numbers(text)]
    found: list[str] = []
    for match in _NUMBER.finditer(answer):
        number = _decimal(match.group())
        if number is None or any(_same(number, h) for h in held):
            continue
        if match.group() not in found:
            found.append(match.group())
    return tuple(found)


def _numbers(text: str) -> list[Decimal]:
    return [d for d in (_decimal(m.group()) for m in _NUMBER.finditer(text)) if d is not None]


def _plain(text: str) -> str:
    return text.replace(",", "")


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(_plain(text))
    except InvalidOperation:
        return None


def _same(stated: Decimal, held: Decimal) -> bool:
    """Whether `held`, rounded to the decimals `stated` is written with, is `stated` (signs
    aside: "5 below zero" is held by -5)."""
    stated, held = abs(stated), abs(held)
    if stated == held:
        return True
    exponent = stated.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    try:
        return held.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) == stated
    except InvalidOperation:  # more digits than a Decimal holds
        return False
