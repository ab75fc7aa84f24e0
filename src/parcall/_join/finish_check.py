"""The joiner told what is missing, and its answer checked against it.

An answer that states a number no result, argument or the request holds is not passed off
as an answer (`check_finish`): it is sent back once as a reason to replan, then the number is
marked `(unknown)`. While a task failed, such a number stands in for the missing value;
with nothing failed, it is a sum worked out in the model's head (with a calculator at hand,
it is sent back to be computed) or a value from the model's memory. An answer that writes a
sum out without working it out (`48210 + 130575 + 9870`) is sent back to be computed too.
So is an answer that is the plan's own `finish("...")` text, written before any task ran
(a small joiner copies "Bob's account deleted" when the deletion failed).

While a task failed, the answer says so: one that names no failure gets what failed added,
and one that gives the input of a failed computation as its answer (the price in dollars,
when the conversion to euros failed) is sent back, then marked. A task that failed for bad
arguments (a plan's mistake, such as a whole record where its `id` was meant) is sent back
to be called again with the arguments fixed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .._core.observation import Observation
from .._core.outcome import BAD_ARGUMENTS, describe_missing, failures, how_missing
from .._core.plan import Plan, Task
from .decision import Finish, Replan
from .expressions import unworked
from .numbers import NUMBER, inputs_stated, invented_numbers, plain

__all__ = ["check_finish", "invented_numbers", "may_revise"]

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
    all_numbers: bool = True,
    text: bool = True,
) -> Finish | Replan:
    """`decision` as it is, unless its answer states a number that no result, error,
    argument or the request holds, or copies a plan's `finish("...")` text while a task
    failed. Such an answer becomes a `Replan` saying why (when `can_replan`), else its
    numbers are marked `(unknown)` and the answer says why:

    - a task failed: the replan names the number and the failure; the marked answer ends
      with what failed, `(incomplete: ...)`;
    - nothing failed: the replan asks to compute the number with a calculator task from the
      results (when the run has a `calculator`; a small model adds looked-up numbers in its
      head, often wrongly) or to look it up; the marked answer ends `(not in the results)`.
      With `all_numbers=False` (`JoinPolicy(check_numbers=False)`), only a replan, only
      while the run has a calculator and two or more results are numbers.

    A text answer (`text`) that writes a sum out without working it out is sent back for
    a calculator task (with a `calculator`, while `can_replan`). One that names no failure
    while a task failed is sent back when it gives an input of the failed computation as
    its answer (then that number is marked), and gets `(incomplete: ...)` added. A task
    that failed for bad arguments is sent back first, while `can_replan`, to be called
    again: the reason names the call with the path its error gave (`$1.id`).
    """
    failed = failures(observations.values(), plans)
    tasks = {t.idx: t for plan in plans for t in plan.tasks}
    fixable = [o for o in failed if how_missing(o) == "failed" and _bad_arguments(o)]
    if fixable and can_replan:
        named = "; ".join(describe_missing(o) for o in fixable)
        fixed = [c for o in fixable if (c := _fixed_call(tasks.get(o.idx), o.error or ""))]
        how = f"as {'; '.join(fixed)}" if fixed else "with the arguments fixed"
        return Replan(f"{named}: call it again {how}", decision.thought)
    if failed and _copies_the_plans_finish(decision.answer, plans):
        named = _named(failed)
        if can_replan:
            return Replan(
                f"the answer is the plan's finish text, written before the tasks ran, while "
                f"{named}: get what is missing, or answer with what the results hold",
                decision.thought,
            )
        return Finish(f"{UNKNOWN} (incomplete: {named})", decision.thought, decision.inferred)
    named = _named(failed)
    sums = calculator and can_replan and _numbers_computed_from(observations)
    if NUMBER.search(decision.answer) and (failed or all_numbers or sums):
        invented = invented_numbers(decision.answer, request, observations.values(), tasks)
        if invented and can_replan:
            return Replan(_why(", ".join(invented), named, calculator), decision.thought)
        if invented:
            said = f"incomplete: {named}" if failed else "not in the results"
            answer = _marked(decision.answer, invented)
            return Finish(f"{answer} ({said})", decision.thought, decision.inferred, invented)
    to_compute = text and calculator and can_replan and all_numbers
    if to_compute and (written := unworked(decision.answer)):
        return Replan(
            f"the answer writes out {'; '.join(written)} without working it out: add a "
            "calculator task that computes it from the results ($N)",
            decision.thought,
        )
    if not failed or not text or says_what_failed(decision.answer, failed):
        return decision
    stated = inputs_stated(decision.answer, failed, observations, tasks)
    if stated and can_replan:
        return Replan(
            f"the answer gives {', '.join(stated)}, an input of a computation that did not "
            f"run, as if it were its result, while {named}: get what is missing, or answer "
            "with what the results hold and say what is missing",
            decision.thought,
        )
    answer = _marked(decision.answer, stated)
    return Finish(f"{answer} (incomplete: {named})", decision.thought, decision.inferred, stated)


def _named(failed: Sequence[Observation]) -> str:
    """What failed, in words: the tasks that failed of themselves (a task not run because
    its input failed is named through that input), each with its error."""
    roots = [o for o in failed if o.error_type != "DependencyFailedError"] or failed
    return "; ".join(describe_missing(o) for o in roots)


def _marked(answer: str, numbers: Sequence[str]) -> str:
    """`answer` with each of `numbers` written as `(unknown)`."""
    if not numbers:
        return answer
    marked = {plain(n) for n in numbers}
    return NUMBER.sub(lambda m: UNKNOWN if plain(m.group()) in marked else m.group(), answer)


_SAYS_MISSING = re.compile(
    r"\b(?:fail\w*|errors?|unknown|unavailable|not available|missing|incomplete|"
    r"could ?n[o']t|cannot|can't|unable|timed? ?out|time-?out|down|offline|refused|"
    r"rejected|denied|not (?:done|made|run|sent|found|booked|deleted)|dry run|"
    r"no (?:value|result|data))\b",
    re.IGNORECASE,
)


def says_what_failed(answer: str, failed: Sequence[Observation]) -> bool:
    """Whether `answer` says that something is missing: a word for a failure, or the name
    of a tool that failed (`shipping_cost` or "shipping cost")."""
    if _SAYS_MISSING.search(answer):
        return True
    names = {n for o in failed for n in (o.tool, o.tool.replace("_", " "))}
    return any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", answer, re.IGNORECASE) for n in names)


_PATH_HINT = re.compile(r"\((\$\d+) is a (?:record|list)[^()]*?: write (\$\d+(?:\.\w+|\[\d+\])+)")


def _fixed_call(task: Task | None, error: str) -> str | None:
    """The call of `task` with the path its error names put in (`delete_account(user_id=$1)`
    with `write $1.id` → `delete_account(user_id=$1.id)`), or None without such a hint."""
    hint = _PATH_HINT.search(error)
    if task is None or hint is None:
        return None
    call = task.describe().split(". ", 1)[1]
    return re.sub(rf"{re.escape(hint.group(1))}(?![\w.\[])", hint.group(2), call)


def _bad_arguments(obs: Observation) -> bool:
    """Whether a task failed because the plan gave it arguments its tool does not take."""
    return (obs.error or "").startswith(BAD_ARGUMENTS)


def _why(numbers: str, named: str, calculator: bool) -> str:
    """The replan's reason for an answer stating `numbers` that no result holds."""
    if named:
        return (
            f"the answer states {numbers}, which no result holds, while {named}: "
            "get what is missing, or answer without it"
        )
    if calculator:
        return (
            f"the answer states {numbers}, which no result holds: add a calculator task "
            "that computes it from the results ($N), or a task that looks it up"
        )
    return (
        f"the answer states {numbers}, which no result holds: add a task that looks it up, "
        "or answer with what the results hold"
    )


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
