"""Roboflow inference's ``/infer/object_detection`` shapes <-> the service's jobs.

Requests: ``image {type: base64, value}`` (one image), ``confidence``, ``iou_threshold``, ``class_filter``
(names), ``max_detections``, ``model_id`` (a served variant id, else the default). Responses: boxes by
centre ``x, y, width, height`` in image pixels, ``confidence``, ``class``, ``class_id``, ``detection_id``;
``time`` in seconds; ``image {width, height}`` (inference/core/entities/responses/inference.py).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from apps.service import schemas
from apps.service.served import Served


def request_to_job(body: schemas.RoboflowRequest, served: Served) -> tuple[bytes, schemas.DetectOptions]:
    """The image bytes and the options of a Roboflow-shaped request.

    Raises:
        ServiceError: 422 for what this service does not do (URLs: it reaches no other host; several images).
    """
    from apps.service.api import ServiceError

    images = body.image if isinstance(body.image, list) else [body.image]
    if len(images) != 1:
        raise ServiceError(422, f"image: send one image per request, not {len(images)}")
    image = images[0]
    if image.type != "base64" or not image.value:
        raise ServiceError(422, f"image.type {image.type!r} is not supported here: send {{type: base64, value}} "
                                "(this service fetches no URLs)")
    if body.class_agnostic_nms:
        raise ServiceError(422, "class_agnostic_nms is not supported: NMS here is class-aware")
    try:
        value = image.value.split(",", 1)[1] if image.value.startswith("data:") else image.value
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ServiceError(422, f"image.value: not valid base64 ({exc})") from exc
    variant = body.model_id if body.model_id in served.counts else None
    return data, schemas.DetectOptions(conf=body.confidence, iou=body.iou_threshold, classes=body.class_filter,
                                       max_det=body.max_detections, variant=variant)


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
