"""Errors a model backend raises, so callers can tell a bad key from a flaky network."""

from __future__ import annotations

from .._core.errors import ParcallError

__all__ = [
    "ModelAuthError",
    "ModelCapabilityError",
    "ModelConnectionError",
    "ModelContextLengthError",
    "ModelError",
    "ModelNotFoundError",
    "ModelRateLimitError",
    "ModelResponseError",
    "ModelServerError",
    "ModelStatusError",
    "ModelTimeoutError",
]


class ModelError(ParcallError):
    """Base of every error a model backend raises."""


class ModelCapabilityError(ModelError):
    """The request asks for something this backend was not configured to do (e.g. a grammar)."""


class ModelConnectionError(ModelError):
    """The server could not be reached, or the connection broke while streaming."""


class ModelTimeoutError(ModelConnectionError):
    """Connecting, sending or waiting for the next chunk took longer than the timeout."""


class ModelResponseError(ModelError):
    """The server answered, but not with a response we can read (bad SSE, bad JSON, an error
    object inside a 200 stream). The message includes a short excerpt of what was received."""


class ModelStatusError(ModelError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, *, status_code: int, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class ModelContextLengthError(ModelStatusError):
    """The prompt does not fit the model's context. From a server, `status_code` is the
    status it answered with (400); from a model in this process it is 0 (nothing was sent).
    `limit` is the context's size in tokens when it is known."""

    def __init__(
        self, message: str, *, status_code: int = 0, body: str = "", limit: int | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.limit = limit


class ModelAuthError(ModelStatusError):
    """401/403, or no API key where one is needed (then `status_code` is 0: nothing was sent)."""


class ModelNotFoundError(ModelStatusError):
    """404: the model name or the endpoint does not exist at this base URL."""


class ModelRateLimitError(ModelStatusError):
    """429 still returned after every retry."""

    def __init__(
        self, message: str, *, status_code: int, body: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code, body=body)
        self.retry_after = retry_after
        """The last `Retry-After` the server asked for, in seconds, if it sent one."""


class ModelServerError(ModelStatusError):
    """A 5xx status still returned after every retry."""
