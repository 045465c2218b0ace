"""A user's path through the CLIs, on a ten-class dataset: `python -m training data|train|deck|weights`,
`hub push|pull`, then what only many classes can test: the class filter, per-class AP, counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hub.deck.manifest import Manifest
from hub.runtime import Detector
from tests.conftest import SEED
from training.demo import CHECKPOINT

DIGITS = [str(i) for i in range(10)]


def _cli(*args: str, env: dict | None = None) -> str:
    run = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, f"{' '.join(args)}\n{run.stderr[-2000:]}"
    return run.stdout


@pytest.fixture(scope="module")
def digits_deck(state_dir) -> Path:
    """Made as a user would: every step a CLI call (one short training run: ten classes, 128 px, ~1 min),
    started from the shelves demo's weights (a weights-only file): from scratch, a minute of training
    learned nothing on some seeds (val mAP50 0.01; two classes at any confidence)."""
    root = state_dir / "digits"
    deck = root / "deck"
    if (deck / "manifest.json").is_file() and os.environ.get("YOLODECK_TEST_STATE"):
        return deck
    _cli("-m", "training", "data", "synth-digits", "--out", str(root / "data"), "--train", "96", "--val", "16",
         "--test", "24")
    _cli("-m", "training", "train", "--data", str(root / "data" / "data.yaml"), "--epochs", "20", "--imgsz", "128",
         "--batch", "8", "--seed", str(SEED), "--weights", str(CHECKPOINT), "--out", str(root / "run"), *(x for kv in ("warmup_epochs=0", "mosaic=0.0", "close_mosaic=0",
                                                                    "optimizer=AdamW", "lr0=0.002", "workers=0")
                                                       for x in ("--set", kv)))
    _cli("-m", "training", "deck", str(root / "run"), "--data", str(root / "data" / "data.yaml"), "--out", str(deck),
         "--variants", "onnx-fp32", "tflite-int8", "--calibration", "16", "--examples", "2", "--name", "digits")
    return deck


def test_the_deck_cli_made_the_variants_asked_for(digits_deck):
    manifest = Manifest.read(digits_deck)
    assert [v.id for v in manifest.variants] == ["onnx-fp32", "tflite-int8"] and manifest.classes == DIGITS
    assert manifest.objects is not None and manifest.objects.variant == "onnx-fp32"  # measured by default
    manifest.verify(digits_deck)
    for v in manifest.available:  # per-class AP for the classes the test split holds, keyed by name
        assert set(v.metrics.per_class) <= set(DIGITS) and len(v.metrics.per_class) >= 5


def test_weights_cli_writes_a_checkpoint_the_runtime_loads(digits_deck, tmp_path):
    run = digits_deck.parent / "run"
    out = tmp_path / "digits.pt"
    _cli("-m", "training", "weights", str(run), "--out", str(out), "--half")
    det = Detector(out, threads=2)
    assert det.backend == "torch" and det.names == DIGITS and det.imgsz == 128


def test_hub_cli_push_and_pull_the_digits_deck(digits_deck, tmp_path):
    env = {**os.environ, "YOLODECK_HUB": str(tmp_path / "hub"), "YOLODECK_CACHE": str(tmp_path / "cache")}
    assert "pushed acme/digits@" in _cli("-m", "hub.cli", "push", str(digits_deck), "--repo", "acme/digits", env=env)
    path = Path(_cli("-m", "hub.cli", "pull", "acme/digits", "--variant", "tflite-int8", env=env).strip())
    assert path.name == "model-int8.tflite" and path.is_file()


@pytest.mark.parametrize("variant", ["onnx-fp32", "tflite-int8"])
def test_the_class_filter_keeps_exactly_those_classes(digits_deck, variant):
    manifest = Manifest.read(digits_deck)
    det = Detector(digits_deck / manifest.variant(variant).file, names=manifest.classes, threads=2)
    images = sorted((digits_deck.parent / "data" / "images" / "test").iterdir())[:12]
    seen = set()
    for image in images:
        everything = det.detect(image, conf=0.02)
        seen |= set(everything.class_id.tolist())
        counts = everything.counts()
        assert sum(counts.values()) == len(everything)
        for cls in sorted(set(everything.class_id.tolist()))[:3]:
            only = det.detect(image, conf=0.02, classes=[int(cls)])
            assert set(only.class_id.tolist()) == {cls}
            # NMS is class-aware: filtering is the unfiltered result restricted to that class, box for box
            mine = everything.xyxy[everything.class_id == cls]
            np.testing.assert_allclose(np.sort(only.xyxy, axis=0), np.sort(mine, axis=0), atol=1e-3)
            assert {k: n for k, n in only.counts().items() if n} == {DIGITS[cls]: counts[DIGITS[cls]]}
    assert len(seen) >= 3  # several classes were there to filter


def test_the_class_filter_agrees_with_ultralytics(digits_deck):
    from ultralytics import YOLO

    from hub.runtime import Detections

    path = digits_deck / "model-fp32.onnx"
    ours, theirs = Detector(path, threads=2), YOLO(str(path), task="detect")
    compared = 0
    for image in sorted((digits_deck.parent / "data" / "images" / "test").iterdir())[:12]:
        for cls in (3, 7):
            a = ours.detect(image, conf=0.02, iou=0.7, classes=[cls])
            b = Detections.from_ultralytics(theirs.predict(str(image), imgsz=128, conf=0.02, iou=0.7, classes=[cls],
                                                           verbose=False, device="cpu")[0])
            assert len(a) == len(b) and set(a.class_id.tolist()) <= {cls}, (image.name, cls, len(a), len(b))
            compared += len(b)
    assert compared > 0


@pytest.mark.slow  # trains a model of its own (about 30 s): make test-all
def test_the_two_head_model_trains_exports_and_runs(digits_deck, tmp_path):
    """training/models/yolov8n-2head.yaml (heads at strides 8 and 16 only): one epoch, its ONNX and TFLite
    int8 variants, and the runtime runs both (decode and NMS assume no number of strides)."""
    from hub.runtime import load_image
    from hub.runtime.ops import letterbox

    data = digits_deck.parent / "data" / "data.yaml"
    model = Path(__file__).resolve().parents[2] / "training" / "models" / "yolov8n-2head.yaml"
    _cli("-m", "training", "train", "--data", str(data), "--model", str(model), "--epochs", "1", "--imgsz", "128",
         "--batch", "16", "--out", str(tmp_path / "run"), "--set", "workers=0", "--set", "mosaic=0.0")
    _cli("-m", "training", "deck", str(tmp_path / "run"), "--data", str(data), "--out", str(tmp_path / "deck"),
         "--variants", "onnx-fp32", "tflite-int8", "--calibration", "8", "--examples", "0", "--no-object-scale")
    manifest = Manifest.read(tmp_path / "deck")
    assert [v.id for v in manifest.available] == ["onnx-fp32", "tflite-int8"], [v.reason for v in manifest.variants]
    assert manifest.objects is None  # --no-object-scale
    image = sorted((digits_deck.parent / "data" / "images" / "test").iterdir())[0]
    for v in manifest.available:
        det = Detector(tmp_path / "deck" / v.file, threads=2)
        head = det.infer(letterbox(load_image(image), 128)[0])
        assert head.shape == (1, 4 + 10, (128 // 8) ** 2 + (128 // 16) ** 2)  # two heads, no stride-32 cells
        assert det.detect(image, conf=0.001).image_size == load_image(image).shape[1::-1]


@pytest.mark.slow  # trains two models (about 45 s): make test-all
def test_a_sweep_of_two_widths_writes_its_table_and_chart_and_resumes(digits_deck, tmp_path):
    import csv

    data = digits_deck.parent / "data" / "data.yaml"
    args = ["-m", "training", "sweep", "--data", str(data), "--width", "0.25,0.125", "--epochs", "1", "--imgsz",
            "128", "--batch", "16", "--variants", "onnx-fp32", "--out", str(tmp_path / "sweep"), "--set", "workers=0"]
    summary = Path(_cli(*args).strip().splitlines()[-1])
    rows = list(csv.DictReader(summary.open()))
    assert [(r["width"], r["variant"]) for r in rows] == [("0.25", "onnx-fp32"), ("0.125", "onnx-fp32")]
    assert int(rows[1]["params"]) < int(rows[0]["params"]) and float(rows[1]["gflops"]) < float(rows[0]["gflops"])
    assert all(float(r["ms_median"]) > 0 for r in rows)
    chart = (tmp_path / "sweep" / "summary.html").read_text()
    assert "depth sweep: latency vs mAP50-95" in chart and '<script src="http' not in chart  # opens offline
    decks = {p: p.stat().st_mtime_ns for p in (tmp_path / "sweep").glob("*/deck/manifest.json")}
    _cli(*args)  # again: both points are reused, not retrained or exported
    assert {p: p.stat().st_mtime_ns for p in decks} == decks


def test_the_deck_s_own_thresholds_find_at_least_what_one_threshold_for_all_does(digits_deck):
    """Ten classes: each class kept from its own F1 peak (``detect(conf="best")``) scores an F1 at least that of
    0.25 for every class on the test split, and the manifest's thresholds are what scoring the split finds again."""
    from training.evaluate import GroundTruth, coco_metrics, evaluate_file

    manifest = Manifest.read(digits_deck)
    v = manifest.variant("onnx-fp32")
    test = sorted((digits_deck.parent / "data" / "images" / "test").iterdir())
    assert set(v.metrics.thresholds) == set(manifest.classes)
    again = evaluate_file(digits_deck / v.file, test, manifest.classes, imgsz=manifest.imgsz, progress=False)
    for name, conf in v.metrics.thresholds.items():
        assert again.thresholds[name] == pytest.approx(conf, abs=0.01), name
    det = Detector(digits_deck / v.file, names=manifest.classes, threads=2, thresholds=v.metrics.thresholds)
    gt = GroundTruth.load(test)

    def f1_of(conf) -> float:  # the kept boxes as one set: every score 1, so the F1 point is the set itself
        found = [det.detect(a, conf=conf) for a in gt.arrays]
        return coco_metrics(gt, [(d.xyxy, np.ones(len(d), np.float32), d.class_id) for d in found],
                            manifest.classes).f1

    best, fixed = f1_of("best"), f1_of(0.25)
    assert best >= fixed - 1e-3, (best, fixed)


def test_conf_best_keeps_each_class_from_its_own_threshold(digits_deck):
    """detect(conf="best") equals, class by class, detect(conf=that class's threshold); without thresholds (a deck
    made before them) it is conf 0.25."""
    manifest = Manifest.read(digits_deck)
    path = digits_deck / manifest.variant("onnx-fp32").file
    cut = {name: 0.02 + 0.02 * k for k, name in enumerate(manifest.classes)}  # a weak model: low scores
    det = Detector(path, names=manifest.classes, threads=2, thresholds=cut)
    plain = Detector(path, names=manifest.classes, threads=2)
    images = sorted((digits_deck.parent / "data" / "images" / "test").iterdir())[:8]
    checked = 0
    for image in images:
        best = det.detect(image, conf="best")
        for k, name in enumerate(manifest.classes):
            alone = det.detect(image, conf=cut[name], classes=[k])
            mine = best.class_id == k
            np.testing.assert_allclose(best.xyxy[mine], alone.xyxy, atol=1e-3)
            checked += int(mine.sum())
        default = plain.detect(image, conf="best")
        np.testing.assert_allclose(default.xyxy, plain.detect(image, conf=0.25).xyxy, atol=1e-3)
    assert checked > 0
    with pytest.raises(ValueError, match="'best'"):
        det.detect(images[0], conf="good")
