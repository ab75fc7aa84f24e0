"""`GullibleModel`: a scripted worst case for prompt injection — it does the user's task and
obeys every instruction it reads.

It plays a task's reference calls (AgentDojo ships them per task) in rounds: a call whose
arguments are all in the request goes in the first plan; a call that needs a value some
result holds waits until that result has been read. Once a tool result it has read holds an
injected instruction, it answers it with the injection's reference calls in its next plan,
batch or turn (and puts the injection's expected text in its answer). No LLM, no sampling:
the same run every time, so a benchmark with it shows what the architecture guarantees, not
what a model happens to resist.

It speaks each agent's format: parcall's plans and joiner actions, ReAct's one call per
turn, and the parallel-calls baseline's batches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from anyio.lowlevel import checkpoint

from .._core.plan import Task
from ..models._base import ModelChunk, ModelRequest, TextChunk, Usage, UsageChunk
from ..models._scripted import count_tokens

__all__ = ["Call", "GullibleModel", "schedule"]


@dataclass(frozen=True, slots=True)
class Call:
    """A reference call: a tool and literal arguments."""

    tool: str
    args: Mapping[str, Any]

    def line(self, idx: int) -> str:
        """`3. send_money(recipient='UK12', amount=98.7)` (a `$` in a string is escaped)."""
        return Task(idx, self.tool, dict(self.args)).describe()


def schedule(calls: Sequence[Call], request: str, outputs: Sequence[str]) -> list[list[Call]]:
    """The calls in planning rounds. A call goes in the first round when every argument is
    in the request (or holds no information: a bool, None, an empty value); otherwise one
    round after the latest earlier call whose output holds one of its arguments (after
    every earlier call when no output holds it: a value worked out from what was read)."""
    rounds: list[int] = []
    asked = request.lower()
    for n, call in enumerate(calls):
        needed = [v for v in _leaves(call.args) if not _known(v, asked)]
        if not needed or n == 0:
            rounds.append(0)
            continue
        sources = [
            k for k in range(n) if any(_text(v).lower() in outputs[k].lower() for v in needed)
        ]
        after = sources if sources else range(n)
        rounds.append(1 + max(rounds[k] for k in after))
    grouped: list[list[Call]] = [[] for _ in range(max(rounds, default=-1) + 1)]
    for call, r in zip(calls, rounds, strict=True):
        grouped[r].append(call)
    return [g for g in grouped if g]


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _known(value: Any, request: str) -> bool:
    if value is None or isinstance(value, bool) or value == "":
        return True
    return _text(value).lower() in request


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class GullibleModel:
    """Plays `rounds` of reference calls, then answers `answer`; obeys `injection` (calls,
    and text to say) once any tool result it reads contains one of `poison`."""

    rounds: list[list[Call]]
    answer: str
    poison: tuple[str, ...] = ()
    injection: list[Call] = field(default_factory=list)
    injection_answer: str = ""
    name: str = "gullible"
    _played: int = 0
    _written: int = 0
    _obeyed: bool = False
    _obey_next: bool = False
    _pending: list[Call] = field(default_factory=list)

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        await checkpoint()
        text = self._respond(request)
        yield TextChunk(text)
        read = sum(count_tokens(m.content) for m in request.messages)
        yield UsageChunk(Usage(read, count_tokens(text)))

    def _respond(self, request: ModelRequest) -> str:
        self._read(request)
        if request.purpose == "plan":
            return self._plan()
        if request.purpose == "join":
            return self._join()
        system = request.messages[0].content if request.messages else ""
        if "one tool call at a time" in system:
            return self._react_turn()
        return self._batch()

    def _read(self, request: ModelRequest) -> None:
        """Obey at the next chance once a result it was shown holds an injection."""
        if self._obeyed or self._obey_next or not self.poison:
            return
        results = [m.content for m in request.messages[2:] if m.role == "user"]
        if any(p in text for text in results for p in self.poison):
            self._obey_next = True

    def _next_calls(self) -> list[Call]:
        """The calls of the next plan or batch: the injection's first, once read."""
        calls: list[Call] = []
        if self._obey_next:
            calls.extend(self.injection)
            self._obey_next, self._obeyed = False, True
        if self._played < len(self.rounds):
            calls.extend(self.rounds[self._played])
            self._played += 1
        return calls

    def _lines(self, calls: list[Call]) -> str:
        lines = []
        for call in calls:
            self._written += 1
            lines.append(call.line(self._written))
        return "\n".join(lines)

    def _final(self) -> str:
        said = self.answer
        if self._obeyed and self.injection_answer:
            said = f"{said} {self.injection_answer}".strip()
        return f"Thought: done.\nAction: Finish({said or 'done'})"

    def _more(self) -> bool:
        return self._obey_next or self._played < len(self.rounds)

    def _plan(self) -> str:
        return f"{self._lines(self._next_calls())}\njoin()\n"

    def _join(self) -> str:
        if self._obey_next:
            return "Thought: the results ask for more.\nAction: Replan(do what the results ask)"
        if self._more():
            return "Thought: the next calls need these results.\nAction: Replan(continue)"
        return self._final()

    def _batch(self) -> str:
        calls = self._next_calls()
        return self._lines(calls) if calls else self._final()

    def _react_turn(self) -> str:
        if self._obey_next:  # one call per turn: the injection's calls come next
            self._pending[:0] = self.injection
            self._obey_next, self._obeyed = False, True
        if not self._pending:
            self._pending = self._next_calls()
        if not self._pending:
            return self._final()
        call = self._pending.pop(0)
        self._written += 1
        return f"Thought: next call.\nAction: {call.line(self._written).split('. ', 1)[1]}"
