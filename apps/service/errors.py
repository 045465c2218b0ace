"""The service's errors: one type for an HTTP answer, and one table from the domain's errors to statuses.

Routes and adapters raise the domain's own errors (the runtime's, the queue's, the served set's) or a
:class:`ServiceError` for a problem only HTTP has (a wrong content type, a missing key); the app turns each
into the same JSON body through :data:`STATUSES` (as Roboflow inference's ``error_handlers.py`` does).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from hub.base.errors import ImageTooLargeError, InvalidImageError, YolodeckError


class QueueFullError(YolodeckError):
    """The variant's queue holds ``max_queue`` unfinished jobs: come back later."""


class NotServedError(YolodeckError, LookupError):
    """No live worker serves what was asked for; ``served`` lists what is."""

    def __init__(self, message: str, served: list[str]) -> None:
        super().__init__(message)
        self.served = served


class NoWorkersError(YolodeckError, RuntimeError):
    """No worker is alive at all."""


class ServiceError(YolodeckError):
    """A problem only HTTP has: its status, message and headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Status:
    code: int
    message: str = "{exc}"  # the body's message, from the error's own text
    retry_after: int | None = None  # seconds, for an error that passes


STATUSES: dict[type[Exception], Status] = {
    ImageTooLargeError: Status(413),
    InvalidImageError: Status(422),
    NotServedError: Status(404),
    NoWorkersError: Status(503, retry_after=5),
    QueueFullError: Status(503, "{exc}: retry later", retry_after=1),
    redis.RedisError: Status(503, "the queue (Redis) is unreachable: {exc}", retry_after=2),
}


def service_error(exc: Exception) -> ServiceError:
    """``exc`` as the service answers it: its row of :data:`STATUSES` (the nearest class), else a 500."""
    if isinstance(exc, ServiceError):
        return exc
    for kind in type(exc).__mro__:
        if kind in STATUSES:
            row = STATUSES[kind]
            headers = {"Retry-After": str(row.retry_after)} if row.retry_after else None
            return ServiceError(row.code, row.message.format(exc=exc), headers)
    return ServiceError(500, f"{type(exc).__name__}: {exc}")
