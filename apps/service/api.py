"""The HTTP API: takes images, queues them, answers with detections (or a job to poll). OpenAPI at ``/docs``.

Every route is a module function over the one service object (:class:`~apps.service.detection.DetectionService`,
handed in by :data:`~apps.service.detection.Svc`) and raises the domain's errors, which :func:`create_app` maps to
statuses through one table (``errors.STATUSES``). The work is a few Redis calls and one blocking wait on the
job's ``done`` list. Images are checked with the runtime's own reader before they are queued, so a bad upload is
a 422/413 at once and never reaches a worker.
"""

import base64
import binascii
import time
from typing import Annotated, Any

import redis
from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from apps.service import roboflow, schemas, stream_routes, uploads, videos
from apps.service.detection import GUARDED, DetectionService, Svc, accepted
from apps.service.errors import STATUSES, ServiceError, service_error
from apps.service.jobs import JobQueue
from apps.service.served import Served
from apps.service.streams import SourcePolicy
from hub.runtime.images import MAX_BYTES
from hub.server.gate import BodyLimit
from hub.server.tokens import TokenStore

MAX_BODY = MAX_BYTES * 4 // 3 + 2**20  # an image at the runtime's limit, base64-encoded, and the fields
IdempotencyKey = Annotated[str | None, Header(max_length=128)]
router = APIRouter()


def _problem(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error body: ``error``, and the same text as ``message``, where Roboflow's clients read it."""
    return JSONResponse({"error": message, "message": message}, status_code=status, headers=headers)


async def parse(request: Request) -> tuple[bytes, schemas.DetectOptions]:
    """The image and the options of a detect request: a multipart form (field ``image``) or JSON (base64)."""
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


BODY_DOC = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
        "image": {"type": "string", "format": "binary"}, **schemas.DetectOptions.model_json_schema()["properties"]}}},
    "application/json": {"schema": schemas.DetectJson.model_json_schema()}}}}
VIDEO_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["video"], "properties": {
        "video": {"type": "string", "format": "binary"},
        "line": {"type": "string", "description": "x1,y1,x2,y2 (repeatable); default: the middle"},
        "every": {"type": "integer", "minimum": 1, "maximum": 10},
        "conf": {"type": "number", "minimum": 0, "maximum": 1},
        "iou": {"type": "number", "minimum": 0, "maximum": 1},
        "variant": {"type": "string"}}}}}}}
PROBLEMS = {status: {"model": schemas.Problem} for status in (404, 413, 422, 503)}


@router.post("/v1/detect", dependencies=GUARDED, openapi_extra=BODY_DOC, tags=["detect"],
             responses={200: {"model": schemas.DetectResult}, 202: {"model": schemas.Accepted}, **PROBLEMS})
async def detect(svc: Svc, request: Request, idempotency_key: IdempotencyKey = None):
    """Detect objects in one image; waits up to ``timeout`` s, else answers 202 with the job to poll."""
    arrived = time.perf_counter()
    data, opts = await parse(request)
    job, _ = await run_in_threadpool(svc.submit, data, opts, idempotency_key)
    state = await run_in_threadpool(svc.queue.wait, job, opts.timeout)
    return svc.answer(job, state, arrived)


@router.post("/v1/jobs", dependencies=GUARDED, openapi_extra=BODY_DOC, status_code=202, tags=["jobs"],
             response_model=schemas.Accepted)
async def create_job(svc: Svc, request: Request, idempotency_key: IdempotencyKey = None):
    """Queue one image; poll ``Location`` for the result."""
    data, opts = await parse(request)
    job, _ = await run_in_threadpool(svc.submit, data, opts, idempotency_key)
    return accepted(job)


@router.get("/v1/jobs/{job}", dependencies=GUARDED, response_model=schemas.JobState, tags=["jobs"])
def read_job(svc: Svc, job: str) -> dict[str, Any]:
    """A job's state: queued, running, done (with its result) or failed (with its error)."""
    state = svc.queue.job(job) if job.isalnum() and len(job) <= 64 else None
    if state is None:
        raise ServiceError(404, f"no such job {job[:64]!r} (unknown, or its result expired)")
    out = {"id": job, "status": state["status"], "variant": state.get("variant"), "tries": state["tries"],
           "error": state.get("error") if state["status"] == "failed" else None}
    if state["status"] == "done":
        out["result"] = {"id": job, **state["result"]}
    return out


@router.post("/v1/videos", dependencies=GUARDED, status_code=202, response_model=schemas.Accepted, tags=["jobs"],
             openapi_extra=VIDEO_DOC)
async def create_video_job(svc: Svc, request: Request, idempotency_key: IdempotencyKey = None):
    """Queue a clip to track and count (an async job: poll ``Location``; the result links its files)."""
    data, fields = await videos.parse(request)
    spec = await run_in_threadpool(videos.check, data, fields)
    variant = svc.served().choose(variant=fields.get("variant") or None)
    job, _ = await run_in_threadpool(svc.queue.submit, variant, data, spec, idempotency_key=idempotency_key)
    return accepted(job)


@router.get("/v1/jobs/{job}/{name}", dependencies=GUARDED, tags=["jobs"],
            responses={200: {"content": {"video/mp4": {}, "text/csv": {}}}})
def job_file(svc: Svc, job: str, name: str) -> Response:
    """A video job's files: ``video.mp4`` (annotated) and ``counts.csv`` (one row per frame)."""
    kinds = {"video.mp4": "video/mp4", "counts.csv": "text/csv"}
    data = svc.queue.file(job, name) if name in kinds and job.isalnum() and len(job) <= 64 else None
    if data is None:
        raise ServiceError(404, f"no file {name[:40]!r} for job {job[:64]!r} (not a finished video job, or it "
                                "expired)")
    return Response(data, media_type=kinds[name])


@router.get("/v1/models", response_model=schemas.Models, dependencies=GUARDED, tags=["service"])
def models(svc: Svc) -> dict[str, Any]:
    """The deck's variants, and how many live workers serve each."""
    now = Served(svc.queue.workers())
    counts, deck = now.counts, now.deck
    listed = {v["id"]: v for v in deck.get("deck", [])}
    for w in now.workers:  # a variant served by an older deck's worker is listed too
        listed.setdefault(w["variant"], {"id": w["variant"], "backend": w.get("backend", "?"),
                                         "precision": w.get("precision", "?")})
    return {"repo": deck.get("repo"), "commit": deck.get("commit"), "classes": deck.get("classes", []),
            "default": now.default, "variants": [{**v, "workers": counts.get(v["id"], 0)} for v in listed.values()]}


@router.get("/healthz", tags=["service"])
def healthz() -> dict[str, str]:
    """The API process is up (it does not look at Redis)."""
    return {"status": "ok"}


@router.get("/readyz", tags=["service"])
def readyz(svc: Svc) -> JSONResponse:
    """Redis answers and at least one live worker serves the default variant."""
    try:
        svc.queue.r.ping()
        now = Served(svc.queue.workers())
    except redis.RedisError as exc:
        return _problem(503, f"Redis is unreachable: {exc}")
    if not now.workers:
        return _problem(503, "no live worker")
    return JSONResponse({"status": "ready", "default": now.default, "workers": len(now.workers)})


@router.get("/metrics", tags=["service"], response_class=PlainTextResponse)
def prometheus(svc: Svc) -> PlainTextResponse:
    """Prometheus text: queue depth, jobs by outcome, per-stage latency, live workers."""
    body, kind = svc.metrics.render()
    return PlainTextResponse(body, media_type=kind)


def create_app(queue: JobQueue, *, tokens: TokenStore | None = None, sources: SourcePolicy | None = None) -> FastAPI:
    """The API over ``queue`` (``tokens`` and ``sources``: see :class:`DetectionService`)."""
    app = FastAPI(title="yolodeck service", version="1",
                  description="Object detection on yolodeck decks, queued on Redis, run by model workers.")
    app.state.service = DetectionService(queue, tokens=tokens, sources=sources)

    async def _service_error(_: Request, exc: Exception) -> JSONResponse:
        error = service_error(exc)
        return _problem(error.status, error.message, error.headers)

    for kind in (ServiceError, *STATUSES):  # one table from errors to statuses (apps.service.errors)
        app.add_exception_handler(kind, _service_error)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    @app.exception_handler(ValidationError)
    async def _invalid(_: Request, exc: RequestValidationError | ValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()))
        default = "request" if isinstance(exc, RequestValidationError) else "body"
        return _problem(422, f"{where or default}: {first.get('msg', 'invalid')}")

    # the order is the routes' order: Roboflow's POST /{project}/{version} matches anything, so it comes last
    for routes in (router, roboflow.router, stream_routes.router, roboflow.legacy_router):
        app.include_router(routes)
    app.add_middleware(BodyLimit, limit=MAX_BODY, exceeded=lambda message: ServiceError(413, message))
    return app
