"""Plan passes: make a plan do less work, and the right work first.

Give any of them to `Agent(passes=[...])`; each is decided per task as the plan streams
(never waiting for the whole plan), and each says what it did with a `PassApplied` event.

- `CommonSubexpressions`: the same call of an `idempotent` tool runs once per run.
- `ResultCache`: results of `idempotent` tools kept across runs (memory, SQLite, Redis).
- `Fusion`: calls of a tool with a `batch` form that are ready together go as one call.
- `CriticalPath`: when a limit binds, the call with the longest remaining path goes first.
- `DeadTasks`: when a limit binds, calls whose results nothing uses go last.
- `PlanCache` (opt-in): the same request with the same tools reuses its plan.

None of them changes an answer: calls of tools not marked idempotent are never merged or
cached, a failed shared call is retried on its own, and no task is ever skipped.
"""

from .._core.call_key import call_key
from ._caches import PlanCache, ResultCache
from ._cse import CommonSubexpressions
from ._fusion import Fusion
from ._priority import PriorityLimiter
from ._schedule import CriticalPath, DeadTasks

__all__ = [
    "CommonSubexpressions",
    "CriticalPath",
    "DeadTasks",
    "Fusion",
    "PlanCache",
    "PriorityLimiter",
    "ResultCache",
    "call_key",
]
