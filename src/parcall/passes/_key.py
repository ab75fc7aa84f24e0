"""The key under which a pass may merge or cache a call."""

from __future__ import annotations

from .._core.call_key import call_key, mergeable
from .._run.plan_pass import Call

__all__ = ["idempotent_key"]


def idempotent_key(call: Call) -> str | None:
    """The call's key if its tool is `mergeable` (else None: never merge or cache it)."""
    return call_key(call.tool.name, call.arguments) if mergeable(call.tool) else None
