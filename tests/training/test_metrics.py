"""Deck metrics (faster-coco-eval) equal pycocotools' on every figure, on hand-made and random cases."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.coco_oracle import pycocotools_metrics
from training.evaluate import GroundTruth, coco_metrics

TOL = 1e-4


def _shelf(rng: np.random.Generator, objects: int, classes: int, size: int = 640) -> np.ndarray:
    xy = rng.uniform(0, size - 48, (objects, 2))
    wh = rng.uniform(6, 48, (objects, 2))
    return np.column_stack([rng.integers(0, classes, objects), xy, xy + wh]).astype(np.float32)


def _predict(rng: np.random.Generator, labels: np.ndarray, extra: int, classes: int, size: int = 640):
    """Jittered copies of most labels (some with the wrong class), plus ``extra`` boxes anywhere."""
    found = labels[rng.random(len(labels)) < 0.85]
    boxes = found[:, 1:] + rng.normal(0, 3, (len(found), 4)).astype(np.float32)
    cls = np.where(rng.random(len(found)) < 0.9, found[:, 0], rng.integers(0, classes, len(found)))
    xy = rng.uniform(0, size - 40, (extra, 2))
    noise = np.column_stack([xy, xy + rng.uniform(4, 40, (extra, 2))])
    boxes = np.vstack([boxes, noise]).astype(np.float32)
    cls = np.concatenate([cls, rng.integers(0, classes, extra)]).astype(np.int64)
    scores = rng.random(len(boxes)).astype(np.float32)
    scores[rng.random(len(scores)) < 0.1] = 0.5  # ties: COCO's stable ranking must be kept
    return boxes, scores, cls


def _case(seed: int, *, images: int, objects: int, extra: int, classes: int, crowd: float = 0.0,
          empty_every: int = 0):
    rng = np.random.default_rng(seed)
    arrays, labels, flags, preds = [], [], [], []
    for i in range(images):
        lab = _shelf(rng, 0 if empty_every and i % empty_every == 0 else objects, classes)
        arrays.append(np.zeros((640, 640, 3), np.uint8))
        labels.append(lab)
        flags.append(rng.random(len(lab)) < crowd)
        preds.append(_predict(rng, lab, extra, classes))
    return GroundTruth([], arrays, labels, flags if crowd else None), preds


CASES = {
    "dense shelf, 180 objects and 440 detections an image": dict(images=4, objects=180, extra=260, classes=1),
    "crowd regions (cut objects)": dict(images=6, objects=40, extra=30, classes=1, crowd=0.2),
    "empty images among full ones": dict(images=8, objects=20, extra=5, classes=2, empty_every=3),
    "many classes, some absent": dict(images=6, objects=30, extra=20, classes=12),
    "more than 100 detections, few objects": dict(images=3, objects=10, extra=150, classes=3),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fast_metrics_equal_pycocotools(case):
    gt, preds = _case(len(case), **CASES[case])
    if case.startswith("many classes"):  # classes 10 and 11 are predicted but never labelled
        gt.labels = [lab[lab[:, 0] < 10] for lab in gt.labels]
        if gt.crowd is not None:
            gt.crowd = None
    names = [f"c{k}" for k in range(CASES[case]["classes"])]
    fast, slow = coco_metrics(gt, preds, names), pycocotools_metrics(gt, preds, names)
    for field in ("precision", "recall", "f1", "map50", "map50_95", "conf"):
        assert getattr(fast, field) == pytest.approx(getattr(slow, field), abs=TOL), field
    assert fast.per_class.keys() == slow.per_class.keys()
    for name in slow.per_class:
        assert fast.per_class[name] == pytest.approx(slow.per_class[name], abs=TOL), name
    assert fast.pr_curve == pytest.approx(slow.pr_curve, abs=TOL)
    assert 0 < slow.map50 < 1  # a case that discriminates: neither perfect nor empty


def test_no_detections_at_all_score_zero_as_pycocotools_does():
    gt, _ = _case(7, images=3, objects=5, extra=0, classes=2)
    nothing = [(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))] * 3
    fast, slow = coco_metrics(gt, nothing, ["a", "b"]), pycocotools_metrics(gt, nothing, ["a", "b"])
    assert (fast.map50, fast.recall, fast.f1) == (slow.map50, slow.recall, slow.f1) == (0.0, 0.0, 0.0)


def _deck_predictions(deck, data, variant: str, zoom: float = 1.0):
    from hub.deck.manifest import Manifest
    from hub.runtime import Detector
    from training.data.layout import read_data_yaml, split_images
    from training.evaluate import EVAL_CONF, EVAL_IOU, EVAL_MAX_DET
    from training.scale import view

    manifest = Manifest.read(deck)
    v = manifest.variant(variant)
    detector = Detector(deck / v.file, backend=v.backend, names=manifest.classes, imgsz=manifest.imgsz, threads=1)
    gt = view(GroundTruth.load(split_images(read_data_yaml(data), "test")), zoom)
    found = [detector.detect(a, conf=EVAL_CONF, iou=EVAL_IOU, max_det=EVAL_MAX_DET) for a in gt.arrays]
    return manifest, gt, [(d.xyxy, d.confidence, d.class_id) for d in found]


@pytest.mark.parametrize("variant,zoom", [("onnx-fp32", 1.0), ("tflite-int8", 1.0), ("onnx-fp32", 2.0)])
def test_fast_metrics_equal_pycocotools_on_the_test_deck(tiny_deck, tiny_data, variant, zoom):
    """A real model's predictions (at zoom 2: windows whose cut objects are crowd regions)."""
    manifest, gt, preds = _deck_predictions(tiny_deck, tiny_data, variant, zoom)
    fast, slow = coco_metrics(gt, preds, manifest.classes), pycocotools_metrics(gt, preds, manifest.classes)
    for field in ("precision", "recall", "f1", "map50", "map50_95", "conf"):
        assert getattr(fast, field) == pytest.approx(getattr(slow, field), abs=TOL), field
    assert fast.pr_curve == pytest.approx(slow.pr_curve, abs=TOL)


def test_a_deck_measured_side_by_side_equals_one_variant_at_a_time(tiny_deck, tiny_data):
    """Batches on one-thread detectors in two processes, scored as they arrive, give each variant's metrics and
    the scale curve as scoring every image in one process does; zoom 1 of the curve is the reference's own run."""
    from hub.deck.manifest import Manifest
    from training.data.layout import read_data_yaml, split_images
    from training.measure import measure_deck
    from training.scale import SCALE_CONF, ZOOMS, point

    manifest = Manifest.read(tiny_deck)
    test = split_images(read_data_yaml(tiny_data), "test")
    files = {vid: (tiny_deck / manifest.variant(vid).file, manifest.variant(vid).backend)
             for vid in ("onnx-fp32", "tflite-int8")}
    measured = measure_deck(files, test, manifest.classes, imgsz=manifest.imgsz, jobs=2, progress=False)
    assert not measured.failed and set(measured.metrics) == set(files)
    for vid in files:
        _, gt, preds = _deck_predictions(tiny_deck, tiny_data, vid)
        alone = coco_metrics(gt, preds, manifest.classes)
        for field in ("precision", "recall", "map50", "map50_95"):
            assert getattr(measured.metrics[vid], field) == pytest.approx(getattr(alone, field), abs=1e-3), field
    curve = measured.objects.curve
    assert measured.objects.variant == "onnx-fp32" and len(curve) == len(ZOOMS)
    for zoom, got in zip(ZOOMS, curve, strict=True):
        _, gt, preds = _deck_predictions(tiny_deck, tiny_data, "onnx-fp32", zoom)
        if zoom != 1.0:  # the curve's views run at SCALE_CONF (NMS keeps the same boxes above it)
            preds = [(b[s >= SCALE_CONF], s[s >= SCALE_CONF], c[s >= SCALE_CONF]) for b, s, c in preds]
        want = point(gt, preds, manifest.classes, manifest.imgsz)
        assert got.object_px == pytest.approx(want.object_px, abs=0.01)
        assert got.map50_95 == pytest.approx(want.map50_95, abs=2e-3), zoom


def test_a_variant_that_cannot_run_is_reported_not_fatal(tiny_deck, tiny_data, tmp_path):
    from hub.deck.manifest import Manifest
    from training.data.layout import read_data_yaml, split_images
    from training.measure import measure_deck

    manifest = Manifest.read(tiny_deck)
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not a model")
    files = {"onnx-fp32": (tiny_deck / manifest.variant("onnx-fp32").file, "onnxruntime"),
             "onnx-int8": (broken, "onnxruntime")}
    measured = measure_deck(files, split_images(read_data_yaml(tiny_data), "test"), manifest.classes,
                            imgsz=manifest.imgsz, jobs=2, progress=False, object_scale_curve=False)
    assert set(measured.metrics) == {"onnx-fp32"} and "onnx-int8" in measured.failed
    assert measured.objects is None


def test_each_class_threshold_is_where_its_own_f1_peaks_and_a_rare_class_takes_the_mean_peak():
    """Class a: true boxes score 0.85-0.95 and false ones 0.7-0.8 (its F1 peaks near 0.8); class b: true 0.35-0.5,
    false 0.1-0.25 (near 0.3); class c has 5 objects: too few for a curve of its own."""
    from training.evaluate import MIN_OBJECTS, best_thresholds, pr_at_best_f1

    rng = np.random.default_rng(0)

    def cls(true_lo, true_hi, false_lo, false_hi, n):
        scores = np.r_[rng.uniform(true_lo, true_hi, n), rng.uniform(false_lo, false_hi, n)]
        return scores, np.r_[np.ones(n, bool), np.zeros(n, bool)], n

    matches = [cls(0.85, 0.95, 0.7, 0.8, 50), cls(0.35, 0.5, 0.1, 0.25, 50), cls(0.6, 0.7, 0.1, 0.2, 5)]
    assert 5 < MIN_OBJECTS <= 50
    cut = best_thresholds(matches, ["a", "b", "c"], [0, 1, 2])
    assert 0.78 <= cut["a"] <= 0.87 and 0.23 <= cut["b"] <= 0.37, cut
    assert cut["c"] == pytest.approx(pr_at_best_f1(matches)[3], abs=1e-3)
