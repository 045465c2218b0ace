"""The service's request and response bodies (pydantic; the OpenAPI at ``/docs`` is generated from them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.runtime.detector import DEFAULT_MAX_DET


class DetectOptions(BaseModel):
    """How to detect: the same knobs as ``Detector.detect``, plus which variant and how long to wait."""

    model_config = ConfigDict(extra="forbid")

    conf: Annotated[float, Field(ge=0.0, le=1.0)] | Literal["best"] = Field(
        "best", description="minimum class score, or 'best': each class from where the deck measured its F1 to peak")
    iou: float = Field(0.7, ge=0.0, le=1.0, description="NMS IoU threshold (class-aware)")
    classes: list[int | str] | None = Field(None, max_length=1000, description="keep only these class ids or names")
    max_det: int = Field(DEFAULT_MAX_DET, ge=1, le=DEFAULT_MAX_DET,
                         description="most boxes returned (the runtime's own default: dense shelves)")
    variant: str | None = Field(None, max_length=64, description="a variant id (default: what the workers serve)")
    backend: str | None = Field(None, max_length=32, description="or choose by backend ...")
    precision: str | None = Field(None, max_length=16, description="... and/or precision")
    revision: str | None = Field(None, max_length=128, description="a deck revision the workers serve")
    tiles: str = Field("off", pattern=r"^(off|auto|[1-8]x[1-8])$",
                       description="large dense photos: overlapping tiles at the network's size (auto, or ROWSxCOLS)")
    timeout: float = Field(10.0, ge=0.0, le=60.0, description="seconds to wait for the result before a 202")
    analysis: Literal["shelf"] | None = Field(None, description="shelf: also where the empty facings are (a deck "
                                                                "with an 'empty' class)")


class Base64Image(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: str = Field(description="the image file, base64-encoded", max_length=80 * 2**20)


class DetectJson(DetectOptions, Base64Image):
    """``POST /v1/detect`` and ``/v1/jobs`` with a JSON body."""


class Box(BaseModel):
    xyxy: list[float] = Field(min_length=4, max_length=4, description="x1 y1 x2 y2 in image pixels")
    confidence: float
    class_id: int
    class_name: str


class ImageSize(BaseModel):
    width: int
    height: int


class DetectResult(BaseModel):
    """What a finished job returns."""

    id: str
    status: Literal["done"] = "done"
    variant: str
    repo: str | None = None
    commit: str | None = None
    worker: str | None = None
    image: ImageSize
    tiles: list[int] = Field([1, 1], min_length=2, max_length=2,
                             description="the rows and columns of tiles it ran as (the grid 'auto' chose); 1, 1: whole")
    detections: list[Box]
    counts: dict[str, int]
    timing_ms: dict[str, float] = Field(description="queue, read, letterbox, inference, postprocess, total; and "
                                                    "service: from the request's arrival to its answer")
    shelf: dict[str, Any] | None = Field(None, description="with analysis=shelf: rows, their facings and gaps "
                                                           "(empty boxes, and spaces between products a facing wide: "
                                                           "source), the empty share, the restock list (places to "
                                                           "fill, touching gaps joined, widest first)")


class VideoResult(BaseModel):
    """What a finished video job returns: the final counts, and where its files are."""

    id: str
    kind: Literal["video"] = "video"
    frames: int
    fps: float
    seconds: float = Field(description="the worker's wall time for the whole clip")
    lines: list[dict[str, dict[str, int]]] = Field(description="per line: in and out, per class")
    zones: list[dict[str, dict[str, int]]] = Field(description="per zone: now (last frame) and entered, per class")
    files: dict[str, str] = Field(description="video (annotated H.264 mp4) and csv (one row per frame) to GET")
    variant: str
    repo: str | None = None
    commit: str | None = None
    worker: str | None = None


class JobState(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    variant: str | None = None
    tries: int = 0
    error: str | None = None
    result: DetectResult | VideoResult | None = None


class Accepted(BaseModel):
    id: str
    status: str
    location: str


class Problem(BaseModel):
    error: str = Field(description="what went wrong, in one sentence")


class ServedVariant(BaseModel):
    id: str
    backend: str
    precision: str
    map50: float | None = None
    latency_ms: float | None = None
    workers: int = Field(description="live workers serving it")


class Models(BaseModel):
    repo: str | None
    commit: str | None
    classes: list[str]
    variants: list[ServedVariant]
    default: str | None


Point = Annotated[list[Annotated[float, Field(ge=0, le=16384)]], Field(min_length=2, max_length=2)]


class StreamCreate(BaseModel):
    """``POST /v1/streams``: a live source to count on, until ``DELETE``."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(max_length=2048, description="rtsp://, rtsps://, udp://, tcp://, rtp://, srt://, http(s):// "
                        "(HLS or MJPEG); /dev/videoN when the service allows devices")
    lines: list[Annotated[list[Point], Field(min_length=2, max_length=2)]] = Field(
        [], max_length=8, description="counting lines [[x1, y1], [x2, y2]] in the stream's pixels")
    zones: list[Annotated[list[Point], Field(min_length=3, max_length=64)]] = Field(
        [], max_length=8, description="zones, each a polygon [[x, y], ...]")
    conf: Annotated[float, Field(ge=0.0, le=1.0)] | Literal["best"] = "best"
    iou: float = Field(0.7, ge=0.0, le=1.0)
    variant: str | None = Field(None, max_length=64, description="only a worker serving this variant runs it")
    max_fps: float | None = Field(None, gt=0, le=120, description="frames a second to process at most (the newest "
                                  "frame at that rate; max_lag does not apply)")
    max_lag: float = Field(1.0, ge=0, le=10, description="seconds a frame may wait for the model when it falls "
                           "behind; older frames are dropped and counted (0: the newest frame only)")
    empty_after: float | None = Field(None, gt=0, le=3600, description="shelf cameras: an event when a place stays "
                                      "empty this many seconds, and when it is filled (a deck with an 'empty' class)")


class StreamState(BaseModel):
    id: str
    source: str = Field(description="the source, credentials replaced by ***")
    state: str = Field(description="waiting | connecting | live | stalled | reconnecting | stopped | failed")
    worker: str | None = None
    handovers: int = Field(0, description="times another worker took it over (the last one died)")
    status: dict[str, Any] | None = Field(None, description="source_fps, processed, drops, reconnects, lag_ms")
    counts: dict[str, Any] | None = Field(None, description="lines (in/out per class) and zones (now/entered)")
    facings: dict[str, Any] | None = Field(None, description="with empty_after: empty_now (places empty now), "
                                           "empty_share (of the shelves' width, updated each second) and the last "
                                           "50 events (empty, refilled)")
    error: str | None = None
    stopping: bool = False


# --- Roboflow inference's object detection shapes (inference/core/entities/{requests,responses}) ---------------

class RoboflowImage(BaseModel):
    type: Literal["base64", "url", "numpy", "pil", "multipart"]
    value: str | None = Field(None, max_length=80 * 2**20)


class RoboflowRequest(BaseModel):
    """``POST /infer/object_detection``: fields Roboflow's server reads; others it accepts are ignored."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())

    model_id: str | None = Field(None, max_length=128, description="a served variant id, or any (the default)")
    api_key: str | None = Field(None, max_length=256)
    image: RoboflowImage | list[RoboflowImage]
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] | Literal["best"] = Field(
        0.4, description="Roboflow's default 0.4; 'best': each class from where the deck measured its F1 to peak")
    iou_threshold: float = Field(0.3, ge=0.0, le=1.0)
    class_filter: list[str] | None = Field(None, max_length=1000)
    max_detections: int = Field(300, ge=1, le=1000)
    class_agnostic_nms: bool = False


class RoboflowPrediction(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    x: float
    y: float
    width: float
    height: float
    confidence: float
    class_name: str = Field(alias="class")
    class_confidence: float | None = None
    class_id: int
    tracker_id: int | None = None
    detection_id: str
    parent_id: str | None = None


class RoboflowResponse(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    inference_id: str | None = None
    frame_id: int | None = None
    time: float | None = Field(None, description="seconds from the request's arrival to its answer")
    image: ImageSize
    predictions: list[RoboflowPrediction]
    visualization: str | None = None
