"""Boxes land where the objects are on images of any shape: parity with Ultralytics' predict on portrait,
landscape and very wide images, below and above the network's size, for every backend."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hub.deck.manifest import Manifest
from hub.runtime import Detections, Detector, load_image
from tests.helpers.images import box_iou

# (height, width): landscape, portrait, very wide, very tall, larger than the network, smaller than it
SHAPES = [(180, 320), (400, 230), (120, 600), (560, 140), (600, 500), (100, 150)]
# our backend on its file -> the file Ultralytics runs as the reference (its own runtime for that format)
CASES = {"onnx-fp32": "onnx-fp32", "tflite-fp32": "tflite-fp32", "torchscript": "torchscript",
         "openvino-fp32": "onnx-fp32", "pt": "onnx-fp32"}


@pytest.fixture(scope="module")
def scenes(tiny_data) -> dict[tuple[int, int], np.ndarray]:
    """One shelf scene cropped and resized to each shape (RGB), objects at varied positions and scales."""
    from pathlib import Path

    tests = sorted((Path(tiny_data).parent / "images" / "test").iterdir())
    out = {}
    for i, (h, w) in enumerate(SHAPES):
        rgb = load_image(tests[i % len(tests)])
        ih, iw = rgb.shape[:2]
        if w / h > iw / ih:  # wider than the source: keep its width, a band of its height
            rgb = rgb[: max(16, round(iw * h / w))]
        else:  # taller: a band of its width
            rgb = rgb[:, : max(16, round(ih * w / h))]
        out[h, w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if w < rgb.shape[1] else cv2.INTER_CUBIC)
    return out


@pytest.fixture(scope="module")
def references(tiny_deck, scenes):
    from ultralytics import YOLO

    manifest = Manifest.read(tiny_deck)
    out = {}
    for vid in set(CASES.values()):
        model = YOLO(str(tiny_deck / manifest.variant(vid).file), task="detect")
        for shape, rgb in scenes.items():
            result = model.predict(np.ascontiguousarray(rgb[..., ::-1]), imgsz=manifest.imgsz, conf=0.25, iou=0.7,
                                   max_det=300, verbose=False, device="cpu")[0]
            out[vid, shape] = Detections.from_ultralytics(result)
    return out


@pytest.mark.parametrize("variant", list(CASES))
def test_boxes_match_ultralytics_on_every_shape(tiny_deck, scenes, references, variant):
    manifest = Manifest.read(tiny_deck)
    v = manifest.variant(variant)
    ours = Detector(tiny_deck / v.file, backend=v.backend, threads=2)
    same_file = CASES[variant] == variant  # the same file on the same kind of runtime: near-exact
    compared = 0
    for shape, rgb in scenes.items():
        a, b = ours.detect(rgb, conf=0.25, iou=0.7, max_det=300), references[CASES[variant], shape]
        assert a.image_size == (shape[1], shape[0])
        slack = 0 if same_file else max(1, len(b) // 20)  # another runtime's kernels: a box at the threshold
        assert abs(len(a) - len(b)) <= slack, (shape, len(a), len(b))
        if len(a) and len(b):
            best = box_iou(b.xyxy, a.xyxy).max(axis=1)
            good = (best >= (0.95 if same_file else 0.85)).sum()
            # one box may not match even on the same file (seen once, on another seed's model: 17 of 18 at
            # IoU >= 0.98, the 18th with an undefined IoU, a box of no area at the border)
            assert good >= len(b) - max(slack, 1), (shape, np.sort(best)[:5])
            compared += len(b)
        h, w = shape
        assert (a.xyxy[:, [0, 2]] <= w + 1e-3).all() and (a.xyxy[:, [1, 3]] <= h + 1e-3).all()
    assert compared > 20  # the shapes held objects to compare
