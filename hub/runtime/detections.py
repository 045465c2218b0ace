"""``Detections``: the one result type everything downstream of the detector speaks."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FIELDS = ("class_name", "class_id", "score", "x1", "y1", "x2", "y2")


@dataclass
class Detections:
    """Boxes in original-image pixels with their scores and classes.

    Attributes:
        xyxy: (N, 4) float32 boxes, x1 y1 x2 y2.
        confidence: (N,) float32 scores.
        class_id: (N,) int64 class ids.
        names: the model's class names, indexed by class id.
        timing_ms: milliseconds per stage: read (the image into an array), letterbox, inference,
            postprocess (decode the head, NMS, rescale), total.
        image_size: (width, height) of the image the boxes refer to.
        tracker_id: (N,) int64 track ids once a tracker has seen them (:mod:`hub.video`), else None.
        tiles: the (rows, cols) grid of tiles the image ran as; (1, 1): whole.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    names: list[str]
    timing_ms: dict[str, float] = field(default_factory=dict)
    image_size: tuple[int, int] = (0, 0)
    tracker_id: np.ndarray | None = None
    tiles: tuple[int, int] = (1, 1)

    @classmethod
    def empty(cls, names: list[str], image_size: tuple[int, int] = (0, 0)) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), names, {}, image_size)

    @classmethod
    def from_ultralytics(cls, result: Any) -> Detections:
        """From one ``ultralytics.engine.results.Results`` (used to cross-check parity)."""
        boxes = result.boxes
        names = [result.names[i] for i in sorted(result.names)]
        h, w = result.orig_shape
        return cls(
            boxes.xyxy.cpu().numpy().astype(np.float32),
            boxes.conf.cpu().numpy().astype(np.float32),
            boxes.cls.cpu().numpy().astype(np.int64),
            names,
            dict(result.speed),
            (w, h),
        )

    def __len__(self) -> int:
        return len(self.confidence)

    def __getitem__(self, index: Any) -> Detections:
        """Select boxes with a mask, slice or index array (like ``supervision.Detections``)."""
        if isinstance(index, int):
            index = [index]
        return Detections(
            self.xyxy[index], self.confidence[index], self.class_id[index], self.names, self.timing_ms, self.image_size,
            None if self.tracker_id is None else self.tracker_id[index], self.tiles,
        )

    @property
    def class_names(self) -> list[str]:
        return [self.names[i] if 0 <= i < len(self.names) else str(i) for i in self.class_id.tolist()]

    def counts(self) -> dict[str, int]:
        """How many of each class, every class of the model listed (zero included), in class order."""
        found = Counter(self.class_id.tolist())
        return {name: found.get(i, 0) for i, name in enumerate(self.names)}

    def to_rows(self, *, decimals: int = 1) -> list[dict[str, Any]]:
        """One dict per box: class_name, class_id, score, x1, y1, x2, y2 (and tracker_id once tracked)."""
        rows = [
            {
                "class_name": name,
                "class_id": int(cid),
                "score": round(float(score), 4),
                **{k: round(float(v), decimals) for k, v in zip(("x1", "y1", "x2", "y2"), box, strict=True)},
            }
            for name, cid, score, box in zip(self.class_names, self.class_id, self.confidence, self.xyxy, strict=True)
        ]
        if self.tracker_id is not None:
            for row, tid in zip(rows, self.tracker_id.tolist(), strict=True):
                row["tracker_id"] = int(tid)
        return rows

    @classmethod
    def from_json(cls, text: str, names: list[str]) -> Detections:
        """Back from :meth:`to_json` (boxes, scores, class ids and the image size; ``names``: the model's classes)."""
        payload = json.loads(text)
        rows = payload["detections"]
        return cls(np.array([[r["x1"], r["y1"], r["x2"], r["y2"]] for r in rows], np.float32).reshape(-1, 4),
                   np.array([r["score"] for r in rows], np.float32), np.array([r["class_id"] for r in rows], np.int64),
                   list(names), {}, tuple(payload["image_size"]), tiles=tuple(payload.get("tiles", (1, 1))))

    def to_json(self) -> str:
        return json.dumps(
            {
                "image_size": list(self.image_size),
                "tiles": list(self.tiles),
                "counts": self.counts(),
                "timing_ms": {k: round(v, 3) for k, v in self.timing_ms.items()},
                "detections": self.to_rows(),
            },
            indent=2,
        )

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS + (("tracker_id",) if self.tracker_id is not None else ()))
        writer.writeheader()
        writer.writerows(self.to_rows())
        return buf.getvalue()
