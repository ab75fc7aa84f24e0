"""The answer as the joiner writes it: the text inside `Finish(...)`, piece by piece.

Nothing is sent before `Finish(` is written at the start of a line (a `Replan(...)` sends
nothing). What could still turn out not to be the answer waits: a closing `)`, a closing
quote, trailing spaces, and everything after a `)` that ends a line; a quoted answer
comes whole at the end. With `hold_numbers`, so does everything from the first digit on: a
number is checked against the results before it is shown (`check_finish`). When the decision
is made, `finish(answer)` sends the rest, so the pieces joined are the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..models._base import TextChunk, ToolCallChunk

__all__ = ["AnswerStream"]

_FINISH = re.compile(r"^[ \t]*(?:action[ \t]*:[ \t]*)?finish[ \t]*\(", re.I | re.M)
_ENDED = re.compile(r"\)[ \t]*\r?\n")
_HELD = " \t\r\n)\"'"
_DIGIT = re.compile(r"\d")


class AnswerStream:
    """Turns the joiner's streamed text into answer pieces for `send`. With `live=False`
    nothing is sent until `finish`, which then sends the whole answer; with `hold_numbers`,
    nothing from the answer's first digit on."""

    def __init__(
        self, send: Callable[[str], None], *, live: bool = True, hold_numbers: bool = False
    ) -> None:
        self._send = send
        self._live = live
        self._hold_numbers = hold_numbers
        self._text = ""
        self._start: int | None = None
        self._ended = False
        self.sent = ""

    def feed(self, piece: str) -> None:
        if not self._live or self._ended:
            return
        self._text += piece
        if self._start is None:
            found = _FINISH.search(self._text)
            if found is None:
                return
            self._start = found.end()
        body = self._text[self._start :]
        ended = _ENDED.search(body)
        if ended is not None:  # `Finish(x)` and a new line: the answer is over
            self._ended = True
            body = body[: ended.start()]
        body = body.lstrip()
        if body[:1] in ("'", '"'):  # unquoted only if the quote closes: wait for the end
            self._ended = True
            return
        if self._hold_numbers and (digit := _DIGIT.search(body)) is not None:
            self._ended = True  # the rest waits for the check
            body = body[: digit.start()]
        body = body.rstrip(_HELD)
        if body.startswith(self.sent) and len(body) > len(self.sent):
            self._emit(body[len(self.sent) :])

    def on_chunk(self, chunk: TextChunk | ToolCallChunk) -> bool:
        """For `call_model(on_chunk=...)`: reads text, never ends the output early."""
        if isinstance(chunk, TextChunk):
            self.feed(chunk.text)
        return False

    def finish(self, answer: str) -> None:
        """The answer is decided: send what of it was not sent yet."""
        if answer.startswith(self.sent) and len(answer) > len(self.sent):
            self._emit(answer[len(self.sent) :])

    def _emit(self, text: str) -> None:
        self.sent += text
        self._send(text)
