"""The one service object every route stands on, and the dependencies that hand it to them.

:class:`DetectionService` holds the queue, the API keys, the live workers (read from their heartbeats at most
twice a second), the stream board, the source policy and the metrics; it checks a key, submits an image and
turns a job's state into an answer. The routes (``api``, ``roboflow``, ``stream_routes``) are module functions
that receive it through :data:`Svc` and raise the domain's errors; ``api.create_app`` makes it and maps the
errors to statuses (``errors.STATUSES``).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from apps.service import schemas
from apps.service.errors import QueueFullError, ServiceError
from apps.service.jobs import JobQueue
from apps.service.metrics import ServiceMetrics
from apps.service.served import Served
from apps.service.streams import SourcePolicy, StreamBoard
from hub.runtime.images import read_image
from hub.server.tokens import TokenStore

SERVED_FOR_S = 0.5  # how long one read of the workers' heartbeats answers "what is served"


def accepted(job: str, status: str = "queued") -> JSONResponse:
    """202: the job to poll, in the body and in ``Location``."""
    return JSONResponse({"id": job, "status": status, "location": f"/v1/jobs/{job}"}, status_code=202,
                        headers={"Location": f"/v1/jobs/{job}"})


class DetectionService:
    """The queue, the keys, the live workers, the streams and the metrics, and what the routes do with them.

    With ``tokens`` (a hub root's, made by ``hub token create``) every request but the probes needs one of
    them that covers the served deck's namespace, even before any exists (asking for keys and having none is
    not an open service). ``sources``: which live sources ``/v1/streams`` may name.
    """

    def __init__(self, queue: JobQueue, *, tokens: TokenStore | None = None,
                 sources: SourcePolicy | None = None) -> None:
        self.queue, self.tokens, self.sources = queue, tokens, sources or SourcePolicy()
        self.board = StreamBoard(queue)
        self.metrics = ServiceMetrics(queue, self.board)
        self._served, self._served_at = Served([]), 0.0

    def served(self) -> Served:
        """The live workers, as their heartbeats say (read again after :data:`SERVED_FOR_S`)."""
        if time.monotonic() - self._served_at > SERVED_FOR_S:
            self._served, self._served_at = Served(self.queue.workers()), time.monotonic()
        return self._served

    def authorize(self, given: str | None) -> None:
        """Raises ServiceError 401 for a missing or unknown key, 403 for one that does not cover the deck."""
        if self.tokens is None:
            return
        token = self.tokens.find(given) if given else None  # hashes only, compared in constant time
        if token is None:
            problem = ("the API key is not valid (or was revoked)" if given else
                       "an API key is required (Authorization: Bearer KEY, X-API-Key or ?api_key=)")
            if not self.tokens.entries():
                problem += f"; no key exists yet: make one with `hub token create --root {self.tokens.path.parent}`"
            raise ServiceError(401, problem, {"WWW-Authenticate": "Bearer"})
        repo = self.served().deck.get("repo")
        if repo and not token.covers(repo):
            raise ServiceError(403, f"key '{token.name}' covers {token.namespace}/, not the served deck {repo}")

    def submit(self, data: bytes, opts: schemas.DetectOptions, idempotency_key: str | None) -> tuple[str, str]:
        """Queue one image after the runtime's own checks (413, 422); return (job, variant)."""
        now = self.served()
        variant = now.choose(variant=opts.variant, backend=opts.backend, precision=opts.precision,
                             revision=opts.revision)
        try:
            classes = now.class_ids(opts.classes)
        except ValueError as exc:  # an unknown class name
            raise ServiceError(422, str(exc)) from exc
        if opts.analysis == "shelf" and "empty" not in now.deck.get("classes", []):
            raise ServiceError(422, f"analysis=shelf needs a deck that detects empty facings (an 'empty' class); "
                                    f"this one knows {', '.join(now.deck.get('classes', [])[:10])}")
        read_image(data, fit=64)  # JPEGs read at 1/8 scale: the checks, not the pixels
        params = {"conf": opts.conf, "iou": opts.iou, "classes": classes, "max_det": opts.max_det,
                  "tiles": opts.tiles, "analysis": opts.analysis}
        try:
            job, _ = self.queue.submit(variant, data, params, idempotency_key=idempotency_key)
        except QueueFullError:
            self.metrics.outcome("rejected")
            raise
        return job, variant

    def answer(self, job: str, state: dict[str, Any] | None, arrived: float) -> dict[str, Any] | JSONResponse:
        """A waited-on job's answer: its result (200), or the job to poll (202); a failed job is a 500."""
        if state is None:
            raise ServiceError(404, f"no such job {job!r} (unknown, or its result expired)")
        if state["status"] == "failed":
            self.metrics.outcome("failed")
            raise ServiceError(500, f"job {job} {state.get('error') or 'failed'}")
        if state["status"] != "done":
            self.metrics.outcome("pending")
            return accepted(job, state["status"])
        result = {"id": job, **state["result"]}
        result["timing_ms"]["service"] = round((time.perf_counter() - arrived) * 1000, 3)
        self.metrics.done(result)
        return result


def service(request: Request) -> DetectionService:
    """The app's one service object (``app.state.service``)."""
    return request.app.state.service


def given_key(authorization: Annotated[str | None, Header()] = None,
              x_api_key: Annotated[str | None, Header()] = None,
              api_key: Annotated[str | None, Query(max_length=256)] = None) -> str | None:
    """The key a request carries in a header or the query (Roboflow's clients may also send it in the body)."""
    return x_api_key or api_key or (authorization or "").removeprefix("Bearer ").strip() or None


Svc = Annotated[DetectionService, Depends(service)]
Key = Annotated[str | None, Depends(given_key)]


def caller(svc: Svc, key: Key) -> None:
    svc.authorize(key)


GUARDED = [Depends(caller)]  # the dependencies of every route that needs a key
