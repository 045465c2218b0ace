"""Roboflow inference's HTTP API, as its own Python client (``inference-sdk``) calls it, over the service's jobs.

Routes (the shapes the client's data classes read, ``inference_sdk.http.entities``):

- ``POST /infer/object_detection`` (v1): ``image`` one ``{type: base64, value}`` or a list of them (one answer per
  image, in order), ``model_id``, ``confidence``, ``iou_threshold``, ``class_filter`` (names), ``max_detections``.
- ``POST /{project}/{version}`` (v0, the client's default): the image as the body (base64 text, or a multipart
  file), ``api_key``, ``confidence``, ``overlap`` and ``max_detections`` in the query (fractions; over 1 they are
  read as percent, as Roboflow's hosted API takes them).
- ``GET /model/registry``, ``POST /model/add``: the models served. ``POST /model/remove`` and ``/model/clear`` are
  a 409: the workers serve what they were started with, and nothing here unloads them (no key needed: they change
  nothing and name nothing).
- ``GET /info``: the server's name and version.

Model ids: the served deck's repo ``owner/name`` is the client's ``project/version`` (its default variant), and
``owner/name@VARIANT`` each variant a live worker serves. An unknown id is a 404 that lists the served ones.
Keys travel as ``api_key`` in the query or the body (the client's default) or as ``Authorization: Bearer``.
Responses: boxes by centre ``x, y, width, height`` in the pixels of the image received (the client scales them
back when it downsized the image), ``confidence``, ``class``, ``class_id``, ``detection_id``; ``time`` in seconds;
``image {width, height}`` (``inference/core/entities/responses/inference.py``).
"""


import base64
import binascii
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from apps.service import schemas
from apps.service.detection import DetectionService, Key, Svc
from apps.service.errors import ServiceError
from apps.service.served import Served
from apps.service.uploads import form_file

TASK = "object-detection"
SERVICE_ID = str(uuid.uuid4())  # this API process, for /info


class ModelRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    model_id: str = Field("", max_length=256)
    api_key: str | None = Field(None, max_length=256)


def model_ids(now: Served) -> dict[str, str | None]:
    """The client's model ids -> the variant each runs (None: the default)."""
    repo = now.deck.get("repo")
    if not repo:
        return {}
    return {repo: None} | {f"{repo}@{variant}": variant for variant in sorted(now.counts)}


def variant_of(model_id: str | None, now: Served) -> str | None:
    """The variant a model id names; no id: the default. Raises a 404 naming what is served."""
    ids = model_ids(now)
    if not model_id:
        return None
    if model_id not in ids:
        served = ", ".join(ids) or "nothing yet (no live worker)"
        raise ServiceError(404, f"model {model_id[:128]!r} is not served here; this service serves {served} "
                                "(start workers with --repo to serve another deck)")
    return ids[model_id]


def registry(now: Served) -> dict[str, Any]:
    size = int(now.deck.get("imgsz") or 0) or None
    return {"models": [{"model_id": mid, "task_type": TASK, "batch_size": 8, "input_height": size, "input_width": size}
                       for mid in model_ids(now)]}


def decode(value: str, where: str) -> bytes:
    try:
        value = value.split(",", 1)[1] if value.startswith("data:") else value
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ServiceError(422, f"{where}: not valid base64 ({exc})") from exc


def images_of(body: schemas.RoboflowRequest) -> list[bytes]:
    """The image bytes of a v1 request, in order.

    Raises:
        ServiceError: 422 for what this service does not do (URLs: it reaches no other host).
    """
    images = body.image if isinstance(body.image, list) else [body.image]
    if not 1 <= len(images) <= 16:
        raise ServiceError(422, f"image: send 1 to 16 images per request, not {len(images)}")
    if body.class_agnostic_nms:
        raise ServiceError(422, "class_agnostic_nms is not supported: NMS here is class-aware")
    out = []
    for i, image in enumerate(images):
        if image.type != "base64" or not image.value:
            raise ServiceError(422, f"image[{i}].type {image.type!r} is not supported here: send {{type: base64, "
                                    "value}} (this service fetches no URLs)")
        out.append(decode(image.value, f"image[{i}].value"))
    return out


def response_of(result: dict[str, Any], *, elapsed: float) -> dict[str, Any]:
    """A finished job's result in Roboflow's response shape."""
    predictions = []
    for box in result["detections"]:
        x1, y1, x2, y2 = box["xyxy"]
        predictions.append({"x": round((x1 + x2) / 2, 2), "y": round((y1 + y2) / 2, 2), "width": round(x2 - x1, 2),
                            "height": round(y2 - y1, 2),
                            "confidence": box["confidence"], "class": box["class_name"], "class_id": box["class_id"],
                            "detection_id": str(uuid.uuid4())})
    return {"inference_id": result["id"], "time": round(elapsed, 6), "image": result["image"],
            "predictions": predictions, "visualization": None, "frame_id": None}


def _run(svc: DetectionService, images: list[bytes], opts: schemas.DetectOptions) -> list[dict[str, Any]] | JSONResponse:
    """Queue every image, then wait for each: one Roboflow answer per image, in order (or the first 202)."""
    arrived = time.perf_counter()
    jobs = [svc.submit(data, opts, None)[0] for data in images]
    out = []
    for job in jobs:
        result = svc.answer(job, svc.queue.wait(job, opts.timeout), arrived)
        if isinstance(result, JSONResponse):
            return result
        out.append(response_of(result, elapsed=time.perf_counter() - arrived))
    return out


def _fraction(value: float | str, name: str) -> float | str:
    """A threshold from Roboflow's query: a fraction, a percent over 1, or "best" (the deck's own per class)."""
    if value == "best" and name == "confidence":
        return value
    try:
        value = float(value)
    except ValueError:
        raise ServiceError(422, f"{name}: a number between 0 and 1 (or a percent up to 100), not {value!r}") from None
    if not 0 <= value <= 100:
        raise ServiceError(422, f"{name}: between 0 and 1 (or a percent up to 100), got {value:g}")
    return value / 100 if value > 1 else value


router = APIRouter(tags=["roboflow"])  # the v1 routes, the registry and /info
legacy_router = APIRouter(tags=["roboflow"])  # POST /{project}/{version}: included after every fixed route


@router.get("/info")
def info() -> dict[str, str]:
    """The server's name and version (Roboflow's ``ServerInfo``)."""
    return {"name": "yolodeck service (Roboflow inference API)", "version": "1", "uuid": SERVICE_ID}


@router.get("/model/registry")
def model_registry(svc: Svc, key: Key) -> dict[str, Any]:
    """The models served: the deck's repo (its default variant) and each served variant as ``repo@variant``."""
    svc.authorize(key)
    return registry(svc.served())


@router.post("/model/add")
def model_add(svc: Svc, body: ModelRequest, key: Key) -> dict[str, Any]:
    """Nothing to load: the workers serve their deck already. A served id answers the registry; another, a 404."""
    svc.authorize(key or body.api_key)
    now = svc.served()
    variant_of(body.model_id or "?", now)
    return registry(now)


def _unload() -> None:  # changes nothing, so it needs no key (the client sends none here in its default mode)
    raise ServiceError(409, "this service's workers serve what they were started with; nothing was unloaded: "
                            "stop the workers to stop serving a deck (GET /model/registry lists what is served)")


@router.post("/model/remove")
def model_remove() -> None:
    _unload()


@router.post("/model/clear")
def model_clear() -> None:
    _unload()


@router.post("/infer/object_detection",
             responses={200: {"model": schemas.RoboflowResponse | list[schemas.RoboflowResponse]}})
def infer(svc: Svc, body: schemas.RoboflowRequest, key: Key) -> Any:
    """Roboflow inference's object detection request: one image or a list, one answer each."""
    svc.authorize(key or body.api_key)
    images = images_of(body)
    opts = schemas.DetectOptions(conf=body.confidence, iou=body.iou_threshold, classes=body.class_filter,
                                 max_det=body.max_detections, variant=variant_of(body.model_id, svc.served()))
    out = _run(svc, images, opts)
    return out if isinstance(out, JSONResponse) or isinstance(body.image, list) else out[0]


@legacy_router.post("/{project}/{version}", response_model=schemas.RoboflowResponse, response_model_by_alias=True)
async def legacy(svc: Svc, project: str, version: str, request: Request, key: Key,
                 confidence: Annotated[str, Query(max_length=16)] = "0.4",
                 overlap: Annotated[str, Query(max_length=16)] = "0.3",
                 max_detections: Annotated[int, Query(ge=1, le=1000)] = 300) -> Any:
    """Roboflow's v0 route: the image as the body (base64 text or a multipart file), options in the query."""
    svc.authorize(key)
    variant = variant_of(f"{project}/{version}", svc.served())
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        data = await (await form_file(request, ("file", "image"), max_fields=10))[0].read()
    else:
        data = decode((await request.body()).decode("ascii", errors="replace"), "body")
    opts = schemas.DetectOptions(conf=_fraction(confidence, "confidence"), iou=_fraction(overlap, "overlap"),
                                 max_det=max_detections, variant=variant)
    out = await run_in_threadpool(_run, svc, [data], opts)
    return out if isinstance(out, JSONResponse) else out[0]
