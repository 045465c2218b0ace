"""The HTTP edge of ``hub serve``: yolodeck's errors in the Hub's shape, and bounded bodies.

One exception handler maps errors to the Hub's status codes, ``X-Error-Code`` and ``{"error": ...}``
bodies; :class:`Gate` routes on the raw path and refuses bodies past :class:`~hub.server.commit_body.Limits`
(413), announced or streamed, with :class:`BodyLimit`, which the detection service uses too.
"""

from collections.abc import Callable
from urllib.parse import quote, unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.base.errors import (
    ConcurrentPushError,
    EntryNotFoundError,
    InvalidRepoIdError,
    RepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
    StorageFullError,
    YolodeckError,
)
from hub.server.commit_body import HttpError, Limits

HANDLED = (YolodeckError, HttpError, RequestValidationError, ValidationError)
# error -> (status, X-Error-Code), most specific first
_STATUS: list[tuple[type[Exception], int, str | None]] = [
    (RepositoryNotFoundError, 404, "RepoNotFound"), (RevisionNotFoundError, 404, "RevisionNotFound"),
    (EntryNotFoundError, 404, "EntryNotFound"), (InvalidRepoIdError, 400, None), (ConcurrentPushError, 412, None),
    (StorageFullError, 507, None), (RepoError, 409, None), (YolodeckError, 400, None),
]


def error_response(status: int, message: str, code: str | None = None, **headers: str) -> JSONResponse:
    """The Hub's error shape: a JSON ``error`` and the same message (and code) in headers."""
    head = {"X-Error-Message": message.encode("ascii", "replace").decode()[:500], **headers}
    if code:
        head["X-Error-Code"] = code
    return JSONResponse({"error": message}, status_code=status, headers=head)


async def on_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, HttpError):
        return error_response(exc.status, exc.message, exc.code)
    if isinstance(exc, RequestValidationError | ValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return error_response(400, f"bad request: {where}: {first.get('msg', 'invalid')}")
    status, code = next((s, c) for kind, s, c in _STATUS if isinstance(exc, kind))
    return error_response(status, str(exc), code)


class BodyLimit:
    """ASGI: refuse a body over ``limit`` bytes (413) before a handler reads it, announced by its
    ``Content-Length`` or counted as it streams (then ``exceeded(message)`` is raised for the app's
    own error handler). ``limit`` may be a function of the request path."""

    def __init__(self, app: ASGIApp, limit: int | Callable[[str], int], *,
                 exceeded: Callable[[str], Exception] = lambda message: HttpError(413, message)) -> None:
        self.app, self.limit, self.exceeded = app, limit, exceeded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"]) if callable(self.limit) else self.limit
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if length.isdigit() and int(length) > limit:
            message = f"request body of {int(length)} bytes is over the limit of {limit} bytes"
            await error_response(413, message)(scope, receive, send)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise self.exceeded(f"request body is over the limit of {limit} bytes")
            return message

        await self.app(scope, bounded, send)


class Gate:
    """Before routing: route on the raw path, one segment per ``/`` the client sent (a revision
    ``feature%2Fx`` stays one segment; Starlette would decode it into two; handlers unquote the
    parameters), then bound the body by :class:`Limits` (a commit's limit, or a JSON body's)."""

    def __init__(self, app: FastAPI, limits: Limits) -> None:
        self.limits = limits
        self.bounded = BodyLimit(app, self._limit)

    def _limit(self, path: str) -> int:
        return self.limits.max_commit_bytes if "/commit/" in path else self.limits.max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?")[0]
            path = "/".join(quote(unquote(s), safe="") for s in raw.split("/"))
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.bounded(scope, receive, send)
