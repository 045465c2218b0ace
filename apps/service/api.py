"""The HTTP API: takes images, queues them, answers with detections (or a job to poll). OpenAPI at ``/docs``.

Every route is a plain (threaded) handler: the work is a few Redis calls and one blocking wait on the
job's ``done`` list. Images are checked here with the runtime's own reader before they are queued,
so a bad upload is a 422/413 at once and never reaches a worker.
"""

import base64
import binascii
import time
from typing import Annotated, Any

import redis
from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from apps.service import roboflow, schemas, stream_routes, uploads, videos
from apps.service.errors import (
    STATUSES,
    NotServedError,
    NoWorkersError,
    QueueFullError,
    ServiceError,
    service_error,
)
from apps.service.jobs import JobQueue
from apps.service.metrics import ServiceMetrics
from apps.service.served import Served
from apps.service.streams import SourcePolicy, StreamBoard
from hub.runtime.images import MAX_BYTES, read_image
from hub.server.gate import BodyLimit
from hub.server.tokens import TokenStore

MAX_BODY = MAX_BYTES * 4 // 3 + 2**20  # an image at the runtime's limit, base64-encoded, and the fields


def _problem(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error body: ``error``, and the same text as ``message``, where Roboflow's clients read it."""
    return JSONResponse({"error": message, "message": message}, status_code=status, headers=headers)


def accepted(job: str, status: str = "queued") -> JSONResponse:
    """202: the job to poll, in the body and in ``Location``."""
    return JSONResponse({"id": job, "status": status, "location": f"/v1/jobs/{job}"}, status_code=202,
                        headers={"Location": f"/v1/jobs/{job}"})


def create_app(queue: JobQueue, *, tokens: TokenStore | None = None, sources: SourcePolicy | None = None) -> FastAPI:
    """The API over ``queue``; with ``tokens`` (a hub root's, made by ``hub token create``) every
    request but the probes needs one of them that covers the served deck's namespace, even before any
    exists (asking for keys and having none is not an open service). ``sources``: which live sources
    ``/v1/streams`` may name."""
    app = FastAPI(title="yolodeck service", version="1",
                  description="Object detection on yolodeck decks, queued on Redis, run by model workers.")
    board = StreamBoard(queue)
    metrics = ServiceMetrics(queue, board)
    cache: dict[str, Any] = {"at": 0.0, "served": Served([])}

    def served() -> Served:
        if time.monotonic() - cache["at"] > 0.5:
            cache.update(at=time.monotonic(), served=Served(queue.workers()))
        return cache["served"]

    async def _service_error(_: Request, exc: Exception) -> JSONResponse:
        error = service_error(exc)
        return _problem(error.status, error.message, error.headers)

    for kind in (ServiceError, *STATUSES):  # one table from errors to statuses (apps.service.errors)
        app.add_exception_handler(kind, _service_error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return _problem(422, f"{where or 'request'}: {first.get('msg', 'invalid')}")

    @app.exception_handler(ValidationError)
    async def _invalid(_: Request, exc: ValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        return _problem(422, f"{where or 'body'}: {first.get('msg', 'invalid')}")

    def given_key(authorization: Annotated[str | None, Header()] = None,
                  x_api_key: Annotated[str | None, Header()] = None,
                  api_key: Annotated[str | None, Query(max_length=256)] = None) -> str | None:
        """The key a request carries in a header or the query (Roboflow's clients may also send it in the body)."""
        return x_api_key or api_key or (authorization or "").removeprefix("Bearer ").strip() or None

    def authorize(given: str | None) -> None:
        if tokens is None:
            return
        token = tokens.find(given) if given else None  # hashes only, compared in constant time: the hub's tokens
        if token is None:
            problem = ("the API key is not valid (or was revoked)" if given else
                       "an API key is required (Authorization: Bearer KEY, X-API-Key or ?api_key=)")
            if not tokens.entries():
                problem += f"; no key exists yet: make one with `hub token create --root {tokens.path.parent}`"
            raise ServiceError(401, problem, {"WWW-Authenticate": "Bearer"})
        repo = served().deck.get("repo")
        if repo and not token.covers(repo):
            raise ServiceError(403, f"key '{token.name}' covers {token.namespace}/, not the served deck {repo}")

    def caller(given: Annotated[str | None, Depends(given_key)]) -> None:
        authorize(given)

    guarded = [Depends(caller)]

    def submit(data: bytes, opts: schemas.DetectOptions, idempotency_key: str | None) -> tuple[str, str]:
        now = served()
        try:
            variant = now.choose(variant=opts.variant, backend=opts.backend, precision=opts.precision,
                                 revision=opts.revision)
            classes = now.class_ids(opts.classes)
        except (NoWorkersError, NotServedError):
            raise
        except ValueError as exc:  # an unknown class name
            raise ServiceError(422, str(exc)) from exc
        if opts.analysis == "shelf" and "empty" not in now.deck.get("classes", []):
            raise ServiceError(422, f"analysis=shelf needs a deck that detects empty facings (an 'empty' class); "
                                    f"this one knows {', '.join(now.deck.get('classes', [])[:10])}")
        read_image(data, fit=64)  # the runtime's checks (413, 422) before it is queued; JPEGs read at 1/8 scale
        params = {"conf": opts.conf, "iou": opts.iou, "classes": classes, "max_det": opts.max_det,
                  "tiles": opts.tiles, "analysis": opts.analysis}
        try:
            job, _ = queue.submit(variant, data, params, idempotency_key=idempotency_key)
        except QueueFullError:
            metrics.outcome("rejected")
            raise
        return job, variant

    async def parse(request: Request) -> tuple[bytes, schemas.DetectOptions]:
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            upload, form = await uploads.form_file(request, ("image", "file"))
            data = await upload.read()
            fields: dict[str, Any] = {k: v for k, v in form.items() if k not in ("image", "file")}
            if "classes" in fields:
                fields["classes"] = [int(c) if c.strip().isdigit() else c.strip()
                                     for c in str(fields["classes"]).split(",") if c.strip()]
            return data, schemas.DetectOptions.model_validate(fields)
        if kind.startswith("application/json"):
            body = schemas.DetectJson.model_validate_json(await request.body())
            try:
                data = base64.b64decode(body.image, validate=True)
            except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII characters
                raise ServiceError(422, f"image: not valid base64 ({exc})") from exc
            return data, schemas.DetectOptions.model_validate(body.model_dump(exclude={"image"}))
        raise ServiceError(415, f"send multipart/form-data (field 'image') or application/json, not {kind!r}")

    body_doc = {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
            "image": {"type": "string", "format": "binary"}, **schemas.DetectOptions.model_json_schema()["properties"]}}},
        "application/json": {"schema": schemas.DetectJson.model_json_schema()}}}}

    def answer(job: str, state: dict[str, Any] | None, arrived: float) -> dict[str, Any] | JSONResponse:
        if state is None:
            raise ServiceError(404, f"no such job {job!r} (unknown, or its result expired)")
        if state["status"] == "failed":
            metrics.outcome("failed")
            raise ServiceError(500, f"job {job} {state.get('error') or 'failed'}")
        if state["status"] != "done":
            metrics.outcome("pending")
            return accepted(job, state["status"])
        result = {"id": job, **state["result"]}
        result["timing_ms"]["service"] = round((time.perf_counter() - arrived) * 1000, 3)
        metrics.done(result)
        return result

    @app.post("/v1/detect", dependencies=guarded, openapi_extra=body_doc, tags=["detect"],
              responses={200: {"model": schemas.DetectResult}, 202: {"model": schemas.Accepted},
                         404: {"model": schemas.Problem}, 413: {"model": schemas.Problem},
                         422: {"model": schemas.Problem}, 503: {"model": schemas.Problem}})
    async def detect(request: Request, idempotency_key: Annotated[str | None, Header(max_length=128)] = None):
        """Detect objects in one image; waits up to ``timeout`` s, else answers 202 with the job to poll."""
        arrived = time.perf_counter()
        data, opts = await parse(request)
        job, _ = await run_in_threadpool(submit, data, opts, idempotency_key)
        state = await run_in_threadpool(queue.wait, job, opts.timeout)
        return answer(job, state, arrived)

    @app.post("/v1/jobs", dependencies=guarded, openapi_extra=body_doc, status_code=202, tags=["jobs"],
              response_model=schemas.Accepted)
    async def create_job(request: Request, idempotency_key: Annotated[str | None, Header(max_length=128)] = None):
        """Queue one image; poll ``Location`` for the result."""
        data, opts = await parse(request)
        job, _ = await run_in_threadpool(submit, data, opts, idempotency_key)
        return accepted(job)

    @app.get("/v1/jobs/{job}", dependencies=guarded, response_model=schemas.JobState, tags=["jobs"])
    def read_job(job: str) -> dict[str, Any]:
        """A job's state: queued, running, done (with its result) or failed (with its error)."""
        state = queue.job(job) if job.isalnum() and len(job) <= 64 else None
        if state is None:
            raise ServiceError(404, f"no such job {job[:64]!r} (unknown, or its result expired)")
        out = {"id": job, "status": state["status"], "variant": state.get("variant"), "tries": state["tries"],
               "error": state.get("error") if state["status"] == "failed" else None}
        if state["status"] == "done":
            out["result"] = {"id": job, **state["result"]}
        return out

    roboflow_api = roboflow.Service(served=served, submit=submit, wait=queue.wait, answer=answer, authorize=authorize,
                                    given_key=given_key)
    roboflow.add_routes(app, roboflow_api)

    @app.post("/v1/videos", dependencies=guarded, status_code=202, response_model=schemas.Accepted, tags=["jobs"],
              openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["video"], "properties": {
                      "video": {"type": "string", "format": "binary"},
                      "line": {"type": "string", "description": "x1,y1,x2,y2 (repeatable); default: the middle"},
                      "every": {"type": "integer", "minimum": 1, "maximum": 10},
                      "conf": {"type": "number", "minimum": 0, "maximum": 1},
                      "iou": {"type": "number", "minimum": 0, "maximum": 1},
                      "variant": {"type": "string"}}}}}}})
    async def create_video_job(request: Request,
                               idempotency_key: Annotated[str | None, Header(max_length=128)] = None):
        """Queue a clip to track and count (an async job: poll ``Location``; the result links its files)."""
        data, fields = await videos.parse(request)
        spec = await run_in_threadpool(videos.check, data, fields)
        variant = served().choose(variant=fields.get("variant") or None)
        job, _ = await run_in_threadpool(queue.submit, variant, data, spec, idempotency_key=idempotency_key)
        return accepted(job)

    stream_routes.add_routes(app, board, sources or SourcePolicy(), guarded)

    @app.get("/v1/jobs/{job}/{name}", dependencies=guarded, tags=["jobs"],
             responses={200: {"content": {"video/mp4": {}, "text/csv": {}}}})
    def job_file(job: str, name: str) -> Response:
        """A video job's files: ``video.mp4`` (annotated) and ``counts.csv`` (one row per frame)."""
        kinds = {"video.mp4": "video/mp4", "counts.csv": "text/csv"}
        data = queue.file(job, name) if name in kinds and job.isalnum() and len(job) <= 64 else None
        if data is None:
            raise ServiceError(404, f"no file {name[:40]!r} for job {job[:64]!r} (not a finished video job, or it "
                                    "expired)")
        return Response(data, media_type=kinds[name])

    @app.get("/v1/models", response_model=schemas.Models, dependencies=guarded, tags=["service"])
    def models() -> dict[str, Any]:
        """The deck's variants, and how many live workers serve each."""
        now = Served(queue.workers())
        counts, deck = now.counts, now.deck
        listed = {v["id"]: v for v in deck.get("deck", [])}
        for w in now.workers:  # a variant served by an older deck's worker is listed too
            listed.setdefault(w["variant"], {"id": w["variant"], "backend": w.get("backend", "?"),
                                             "precision": w.get("precision", "?")})
        return {"repo": deck.get("repo"), "commit": deck.get("commit"), "classes": deck.get("classes", []),
                "default": now.default, "variants": [{**v, "workers": counts.get(v["id"], 0)} for v in listed.values()]}

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """The API process is up (it does not look at Redis)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["service"])
    def readyz() -> JSONResponse:
        """Redis answers and at least one live worker serves the default variant."""
        try:
            queue.r.ping()
            now = Served(queue.workers())
        except redis.RedisError as exc:
            return _problem(503, f"Redis is unreachable: {exc}")
        if not now.workers:
            return _problem(503, "no live worker")
        return JSONResponse({"status": "ready", "default": now.default, "workers": len(now.workers)})

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    def prometheus() -> PlainTextResponse:
        """Prometheus text: queue depth, jobs by outcome, per-stage latency, live workers."""
        body, kind = metrics.render()
        return PlainTextResponse(body, media_type=kind)

    roboflow.add_legacy_route(app, roboflow_api)  # POST /{project}/{version}: after every fixed route
    app.add_middleware(BodyLimit, limit=MAX_BODY, exceeded=lambda message: ServiceError(413, message))
    return app
