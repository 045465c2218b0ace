"""Annotators in the supervision style: configured once, ``annotate(scene, detections)`` returns the image."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np

from hub.runtime.detections import Detections


def palette(index: int) -> tuple[int, int, int]:
    """A distinct, stable RGB colour per class id."""
    r, g, b = colorsys.hsv_to_rgb((index * 0.618033988749895) % 1.0, 0.85, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)


@dataclass
class BoxAnnotator:
    """Draws one rectangle per detection, coloured by class (OpenCV)."""

    thickness: int | None = None  # None: scale with the image

    def annotate(self, scene: np.ndarray, detections: Detections) -> np.ndarray:
        out = scene.copy()
        t = self.thickness or max(1, round(min(out.shape[:2]) / 400))
        x1, y1, x2, y2 = detections.xyxy.astype(np.int32).T
        corners = np.stack([np.stack(c, axis=1) for c in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))], axis=1)
        for cid in np.unique(detections.class_id):  # one call per class: dense shelves have hundreds of boxes
            cv2.polylines(out, corners[detections.class_id == cid], True, palette(int(cid)), t, cv2.LINE_AA)
        return out


@dataclass
class LabelAnnotator:
    """Writes 'name score' above each box (OpenCV's built-in Hershey font: nothing to download)."""

    scale: float | None = None
    min_box_width: int = 24  # labels over tiny boxes only hide the scene in dense shelves

    def annotate(self, scene: np.ndarray, detections: Detections) -> np.ndarray:
        out = scene.copy()
        s = self.scale or max(0.35, min(out.shape[:2]) / 1600)
        for (x1, y1, x2, _), cid, name, score in zip(
            detections.xyxy.astype(int), detections.class_id, detections.class_names, detections.confidence, strict=True
        ):
            if x2 - x1 < self.min_box_width:
                continue
            text = f"{name} {score:.2f}"
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, s, 1)
            y = max(th + base, y1)
            cv2.rectangle(out, (x1, y - th - base), (x1 + tw, y), palette(int(cid)), -1)
            cv2.putText(out, text, (x1, y - base), cv2.FONT_HERSHEY_SIMPLEX, s, (0, 0, 0), 1, cv2.LINE_AA)
        return out
