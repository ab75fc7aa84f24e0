"""How a run ended: answered in full, with results missing, or with actions not made.

A task that failed, or an action that approval refused or a dry run only showed, leaves
no value. The joiner is told so by name (`missing_notice`), the result says so
(`RunResult.status`, `.failed`), and an answer that states a number no result holds while
something failed is not passed off as an answer (`check_finish`): it is sent back once as
a reason to replan, then marked. With nothing failed, such a number is a sum worked out in
the model's head: with a calculator at hand, it is sent back once to be computed.

The statuses, most serious first:

- `"refused"`: approval refused an action (`Reject`, an approver that failed, no terminal
  to ask); it was not done.
- `"dry_run"`: actions were only shown (`Reject(dry_run=True)`, `parcall run --dry-run`);
  none was made.
- `"partial"`: a task failed (an error, a timeout, bad arguments, an input that failed) and
  no later round made up for it; the answer rests on the results there are.
- `"answered"`: every task succeeded, or each one that did not was made good by a later
  round (the same tool called again, successfully).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from .._join.decision import Finish, Replan
from .observation import Observation, format_value
from .plan import Plan, Task

if TYPE_CHECKING:
    from .result import RunResult

__all__ = [
    "Status",
    "check_finish",
    "failures",
    "how_missing",
    "invented_numbers",
    "may_revise",
    "missing_notice",
    "outcome_fields",
    "status_of",
]

Status = Literal["answered", "partial", "refused", "dry_run"]

_REFUSED = frozenset({"ActionRejectedError", "PolicyDeniedError"})
_DRY_RUN = frozenset({"DryRunError"})
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w])")
UNKNOWN = "(unknown)"
"""What stands in an answer for a number that no result holds."""


def how_missing(obs: Observation) -> Literal["failed", "refused", "dry_run"]:
    """Why a task that did not succeed has no value."""
    if obs.error_type in _DRY_RUN:
        return "dry_run"
    if obs.error_type in _REFUSED:
        return "refused"
    return "failed"


def failures(observations: Iterable[Observation], plans: Sequence[Plan]) -> tuple[Observation, ...]:
    """The tasks without a value that nothing made good: one counts unless a later round
    called the same tool successfully (a replan that got what was missing)."""
    obs = sorted(observations, key=lambda o: o.idx)
    rounds = {t.idx: n for n, plan in enumerate(plans) for t in plan.tasks}

    def round_of(o: Observation) -> int:
        return rounds.get(o.idx, len(plans) + o.idx)  # tasks of no plan: in index order

    last_ok: dict[str, int] = {}  # the last round in which each tool succeeded
    for o in obs:
        if o.ok:
            last_ok[o.tool] = max(last_ok.get(o.tool, -1), round_of(o))
    return tuple(o for o in obs if not o.ok and last_ok.get(o.tool, -1) <= round_of(o))


def status_of(failed: Iterable[Observation]) -> Status:
    """The run's status from the tasks that `failures` lists."""
    kinds = {how_missing(o) for o in failed}
    if "refused" in kinds:
        return "refused"
    if "dry_run" in kinds:
        return "dry_run"
    return "partial" if kinds else "answered"


def outcome_fields(result: RunResult) -> dict[str, Any]:
    """The status, the tasks the answer rests on and those it lacks, as JSON-able data
    (`parcall run --json`, the `parcall` field of a `serve` response)."""
    return {
        "status": result.status,
        "rests_on": list(result.rests_on),
        "failed": [
            {"idx": o.idx, "tool": o.tool, "how": how_missing(o), "error": o.error}
            for o in result.failed
        ],
    }


def missing_notice(
    tasks: Sequence[Task], observations: Mapping[int, Observation], *, can_replan: bool
) -> str | None:
    """The joiner's line naming each result that is missing, or None when none is."""
    missing = [observations[t.idx] for t in tasks if not observations[t.idx].ok]
    if not missing:
        return None
    named = "; ".join(_describe(o) for o in missing)
    then = (
        "answer with what the results hold and say what is missing, or Replan"
        if can_replan
        else "answer with what the results hold and say what is missing"
    )
    return (
        f"Missing: {named}. No value exists for these: do not state one and do not say an "
        f"action was done that was not; {then}."
    )


def _describe(obs: Observation) -> str:
    how = how_missing(obs)
    if how == "dry_run":
        return f"task {obs.idx} {obs.tool} was not made (dry run)"
    if how == "refused":
        return f"task {obs.idx} {obs.tool} was refused ({_short(obs.error)}) and not done"
    return f"task {obs.idx} {obs.tool} failed ({_short(obs.error)})"


def _short(text: str | None, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else f"{text[:limit]}…"


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
    - nothing failed, the run has a `calculator` and two or more results are numbers: a
      `Replan` asking to compute it with one (when `can_replan`; a small model adds
      looked-up numbers in its head, often wrongly).
    """
    if not _NUMBER.search(decision.answer):
        return decision
    failed = failures(observations.values(), plans)
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
    named = "; ".join(_describe(o) for o in failed)
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
