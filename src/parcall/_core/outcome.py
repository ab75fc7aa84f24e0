"""How a run ended: answered in full, with results missing, or with actions not made.

A task that failed, or an action that approval refused or a dry run only showed, leaves
no value. The result says so (`RunResult.status`, `.failed`); the joiner is told so by name
and its answer checked against it (`parcall._join.finish_check`).

The statuses, most serious first:

- `"refused"`: approval refused an action (`Reject`, an approver that failed, no terminal
  to ask); it was not done.
- `"dry_run"`: actions were only shown (`Reject(dry_run=True)`, `parcall run --dry-run`);
  none was made.
- `"partial"`: a task failed (an error, a timeout, bad arguments, an input that failed) and
  no later round made up for it; the answer rests on the results there are. Also an answer
  that stated a number no result holds, now marked `(unknown)` (`RunResult.unknown`).
- `"answered"`: every task succeeded, or each one that did not was made good by a later
  round (the same tool called again, successfully).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from .observation import Observation
from .plan import Plan, Task

__all__ = [
    "BAD_ARGUMENTS",
    "Status",
    "describe_missing",
    "failures",
    "how_missing",
    "missing_notice",
    "status_of",
]

Status = Literal["answered", "partial", "refused", "dry_run"]

BAD_ARGUMENTS = "bad arguments for "
"""How the error of a task whose arguments its tool does not take begins."""

_REFUSED = frozenset({"ActionRejectedError", "PolicyDeniedError"})
_DRY_RUN = frozenset({"DryRunError"})


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


def status_of(failed: Iterable[Observation], *, unknown: bool = False) -> Status:
    """The run's status from the tasks that `failures` lists (and whether the answer has
    a number marked `(unknown)`)."""
    kinds = {how_missing(o) for o in failed}
    if "refused" in kinds:
        return "refused"
    if "dry_run" in kinds:
        return "dry_run"
    return "partial" if kinds or unknown else "answered"


def missing_notice(
    tasks: Sequence[Task], observations: Mapping[int, Observation], *, can_replan: bool
) -> str | None:
    """The joiner's line naming each result that is missing, or None when none is."""
    missing = [observations[t.idx] for t in tasks if not observations[t.idx].ok]
    if not missing:
        return None
    named = "; ".join(describe_missing(o) for o in missing)
    then = (
        "answer with what the results hold and say what is missing, or Replan"
        if can_replan
        else "answer with what the results hold and say what is missing"
    )
    return (
        f"Missing: {named}. No value exists for these: do not state one and do not say an "
        f"action was done that was not; {then}."
    )


def describe_missing(obs: Observation) -> str:
    """What became of a task with no value: failed, refused or not made (a dry run)."""
    how = how_missing(obs)
    if how == "dry_run":
        return f"task {obs.idx} {obs.tool} was not made (dry run)"
    if how == "refused":
        return f"task {obs.idx} {obs.tool} was refused ({_short(obs.error)}) and not done"
    return f"task {obs.idx} {obs.tool} failed ({_short(obs.error)})"


def _short(text: str | None, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else f"{text[:limit]}…"
