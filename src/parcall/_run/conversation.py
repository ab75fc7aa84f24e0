"""One run's conversation: what the planner and the joiner have been told and have said."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._core.history import Turn
from .._core.plan import Plan
from ..models._base import Message

__all__ = ["Conversation"]


@dataclass
class Conversation:
    """The request, the turns before it, the messages of every model call so far (each
    call extends them), and the plans written."""

    request: str
    history: tuple[Turn, ...] = ()
    messages: list[Message] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)
