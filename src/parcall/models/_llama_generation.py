"""One llama.cpp completion's token loop, stepped from worker threads: stop sequences held
back until they are decided, UTF-8 decoded across tokens, and a job a cancelled call never
starts."""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable, Iterator
from typing import Generic, Literal, TypeVar

from .._core.usage import Usage
from ._llama_native import LlamaCppError

__all__ = ["Generation", "Job", "stop_prefix_length"]

_T = TypeVar("_T")


class Job(Generic[_T]):
    """A blocking call for a worker thread that never starts once abandoned, so waiting for
    its end cannot hang on a call that was cancelled before a thread picked it up."""

    def __init__(self, call: Callable[[], _T]) -> None:
        self._call = call
        self._lock = threading.Lock()
        self._state: Literal["new", "running", "abandoned"] = "new"
        self._done = threading.Event()

    def __call__(self) -> _T:
        with self._lock:
            if self._state != "new":
                raise RuntimeError("abandoned before it started")  # nobody waits for it
            self._state = "running"
        try:
            return self._call()
        finally:
            self._done.set()

    def abandon(self) -> bool:
        """Stop it from starting; True if it has started (then `wait` for its end)."""
        with self._lock:
            if self._state == "new":
                self._state = "abandoned"
                return False
            return True

    def wait(self) -> None:
        self._done.wait()


class Generation:
    """One completion's token loop, advanced one token per `step` from worker threads."""

    def __init__(
        self,
        *,
        tokens: list[int],
        cached: int,
        stream: Iterator[int],
        detokenize: Callable[[list[int]], bytes],
        is_end: Callable[[int], bool],
        stop: tuple[str, ...],
        max_tokens: int,
        aborted: threading.Event,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._on_close = on_close
        self._prompt_tokens = len(tokens)
        self._cached = cached
        self._tokens = stream
        self._detokenize = detokenize
        self._is_end = is_end
        self._stop = tuple(s for s in stop if s)
        self._max_tokens = max_tokens
        self._aborted = aborted
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""  # text that may be the start of a stop sequence
        self._output_tokens = 0
        self._finished = False
        self.busy = threading.Event()
        self.busy.set()

    def usage(self) -> Usage:
        return Usage(self._prompt_tokens, self._output_tokens, self._cached)

    def step(self) -> str | None:
        """Generate one token; the text now safe to emit, or None when the output is done."""
        try:
            return self._step()
        finally:
            self.busy.set()

    def _step(self) -> str | None:
        if self._finished or self._aborted.is_set():
            return None
        if self._output_tokens >= self._max_tokens:
            return self._finish()
        try:
            token = next(self._tokens)
        except StopIteration:
            return self._finish()
        except RuntimeError as exc:
            if self._aborted.is_set():  # llama_decode returned "aborted"
                return None
            raise LlamaCppError(f"llama.cpp failed: {exc}") from exc
        if self._is_end(token):
            return self._finish()
        self._output_tokens += 1
        text = self._held + self._decoder.decode(bytes(self._detokenize([token])))
        for stop in self._stop:
            at = text.find(stop)
            if at >= 0:
                self._finished = True
                return text[:at]
        keep = stop_prefix_length(text, self._stop)
        self._held = text[len(text) - keep :]
        return text[: len(text) - keep]

    def _finish(self) -> str:
        self._finished = True
        text = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        return text

    def close(self) -> None:
        close: Callable[[], None] | None = getattr(self._tokens, "close", None)
        try:
            if close is not None:
                close()
        finally:
            if self._on_close is not None:
                self._on_close()
                self._on_close = None


def stop_prefix_length(text: str, stops: tuple[str, ...]) -> int:
    """Length of the longest end of `text` that is the beginning of a stop sequence."""
    best = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), best, -1):
            if text.endswith(stop[:n]):
                best = n
                break
    return best
