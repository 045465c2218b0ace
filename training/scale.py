"""How small a deck's objects may get before its model misses them: the scale curve behind ``tiles="auto"``.

The fp32 reference variant runs on the test split shown at several object sizes (``ZOOMS``): smaller as
each image shrunk in a grey frame of its own size (at 1/2, half its width and height), larger as windows cut
from it (at 2, four windows of half its width and height), and each view is scored as the deck's own
metrics (``training.evaluate.coco_metrics``). At zoom 1 the view is the split itself: the reference's own
evaluation is reused. A large split is sampled (``sample``). An object that a window's edge cuts is neither found nor missed (COCO's crowd regions: a detection
on its visible part is ignored), so a view is scored only on objects it shows whole.
``min_px`` is where the curve reaches ``KEEP`` of its best mAP50-95 (interpolated between the two sizes around
it): ``Detector.detect(tiles="auto")`` chooses the coarsest grid that shows a photo's objects at least that
large. A window is upscaled (blurred) when the test images are smaller than the zoom times the network's size
(not so for the demo deck: 640 px images at 320), which makes the curve's large side pessimistic; ``min_px`` is
read on its rising, small side.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from hub.deck.manifest import ObjectScale, ScalePoint
from training.evaluate import GroundTruth, coco_metrics

ZOOMS = (1 / 3, 1 / 2, 2 / 3, 1.0, 1.5, 2.0)
SCALE_CONF = 0.01  # the curve's mAP as at 0.001 to the third decimal (measured on the demo deck), in half the time
SAMPLE = 48  # test images the curve runs on at most (see ``make bench-deck``: how far min_px moves with the sample)
KEEP = 0.95  # min_px: the smallest size whose mAP50-95 is within 5% of the curve's best
VISIBLE = 0.9  # a box with less of its area inside the view was cut by its edge: a crowd region
GREY = 114


def _place(labels: np.ndarray, scale: tuple[float, float], offset: tuple[float, float],
           view: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Labels (class, x1, y1, x2, y2) scaled, moved and clipped into a ``view`` (width, height); and which of them
    the view's edge cut (under ``VISIBLE`` of the box inside). Boxes entirely outside are dropped."""
    sx, sy = scale
    boxes = labels[:, 1:] * np.array([sx, sy, sx, sy], np.float32) + np.array([*offset, *offset], np.float32)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    clipped = boxes.clip(0, np.array([*view, *view], np.float32))
    inside = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = inside >= 1.0
    cut = inside < VISIBLE * np.maximum(area, 1e-9)
    return np.c_[labels[keep, :1], clipped[keep]].astype(np.float32), cut[keep]


def view(gt: GroundTruth, zoom: float) -> GroundTruth:
    """The test split with its objects ``zoom`` times their size in the frame: each image shrunk by ``zoom`` in
    a grey frame of its own size below 1, ``ceil(zoom)`` squared windows of ``1/zoom`` of it above 1."""
    if zoom == 1.0:
        return gt
    arrays, labels, crowd = [], [], []
    for i, image in enumerate(gt.arrays):
        h, w = image.shape[:2]
        if zoom < 1.0:  # shrunk, in a grey frame of its own size: the same objects, smaller in the frame
            cw, ch = max(1, round(w * zoom)), max(1, round(h * zoom))
            x, y = (w - cw) // 2, (h - ch) // 2
            canvas = np.full_like(image, GREY)
            canvas[y:y + ch, x:x + cw] = cv2.resize(image, (cw, ch), interpolation=cv2.INTER_AREA)
            lab, cut = _place(gt.labels[i], (cw / w, ch / h), (x, y), (w, h))
            arrays.append(canvas)
            labels.append(lab)
            crowd.append(cut)
            continue
        n = math.ceil(zoom - 1e-9)
        ww, wh = max(1, round(w / zoom)), max(1, round(h / zoom))
        for y in np.linspace(0, h - wh, n).round().astype(int):
            for x in np.linspace(0, w - ww, n).round().astype(int):
                arrays.append(np.ascontiguousarray(image[y:y + wh, x:x + ww]))
                lab, cut = _place(gt.labels[i], (1.0, 1.0), (-x, -y), (ww, wh))
                labels.append(lab)
                crowd.append(cut)
    return GroundTruth(gt.images, arrays, labels, crowd)


def median_px(gt: GroundTruth, imgsz: int) -> float:
    """The median side (square root of the area) of the whole objects, at the network input."""
    sides = []
    for i, (image, lab) in enumerate(zip(gt.arrays, gt.labels, strict=True)):
        whole = lab if gt.crowd is None else lab[~gt.crowd[i]]
        area = (whole[:, 3] - whole[:, 1]) * (whole[:, 4] - whole[:, 2])
        sides.append(np.sqrt(area) * imgsz / max(image.shape[:2]))
    sides = np.concatenate(sides) if sides else np.zeros(0)
    return float(np.median(sides)) if sides.size else 0.0


def smallest_kept(curve: list[ScalePoint], keep: float = KEEP) -> float:
    """The object size where the curve first reaches ``keep`` of its best mAP50-95, from the small side."""
    points = sorted(curve, key=lambda p: p.object_px)
    target = keep * max(p.map50_95 for p in points)
    for before, point in zip([None, *points], points, strict=False):
        if point.map50_95 >= target:
            if before is None or point.map50_95 == before.map50_95:
                return point.object_px
            t = (target - before.map50_95) / (point.map50_95 - before.map50_95)
            return before.object_px + t * (point.object_px - before.object_px)
    return points[-1].object_px


def sample(images: list[Path], size: int = SAMPLE) -> list[Path]:
    """At most ``size`` images spread evenly over the split (the same ones every build): what the curve runs on."""
    if len(images) <= size:
        return list(images)
    return [images[int(i)] for i in np.linspace(0, len(images) - 1, size).round()]


def point(shown: GroundTruth, predictions: list, names: list[str], imgsz: int) -> ScalePoint:
    """One point of the curve: the split shown at one zoom, scored as the deck's own metrics."""
    metrics = coco_metrics(shown, predictions, names)
    return ScalePoint(object_px=round(median_px(shown, imgsz), 2), map50_95=metrics.map50_95, recall=metrics.recall)


def object_scale(curve: list[ScalePoint], gt: GroundTruth, imgsz: int, variant: str) -> ObjectScale | None:
    """The deck's object scale from its curve; None when the model finds nothing at any size (an untrained model:
    no size to tile to)."""
    if max(p.map50_95 for p in curve) <= 0:
        return None
    return ObjectScale(median_px=round(median_px(gt, imgsz), 2), min_px=round(smallest_kept(curve), 2),
                       variant=variant, curve=curve)
