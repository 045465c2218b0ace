"""Training learns; the deck holds every variant, measured, and its manifest matches its files."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from hub.base import catalog
from hub.deck.manifest import Manifest, sha256_of


def test_a_tiny_run_learns(tiny_run):
    rows = list(csv.DictReader((tiny_run / "results.csv").open()))
    map50 = [float(r["metrics/mAP50(B)"].strip() if "metrics/mAP50(B)" in r else r[" metrics/mAP50(B)"]) for r in rows]
    assert len(map50) == 16
    assert map50[0] < 0.1, map50
    assert max(map50[-5:]) > map50[0] + 0.25, map50
    assert (tiny_run / "weights" / "best.pt").is_file() and (tiny_run / "results.png").is_file()


def test_width_and_depth_multiples_shrink_the_model():
    from ultralytics.nn.tasks import DetectionModel

    from training.train import model_config

    def params(cfg):
        return sum(p.numel() for p in DetectionModel(cfg, nc=1, verbose=False).parameters())

    base = params(model_config("yolov8n.yaml"))
    slim = params(model_config("yolov8n.yaml", width=0.125, depth=0.33))
    assert slim < base * 0.4


def test_deck_manifest_matches_its_files(tiny_deck):
    manifest = Manifest.read(tiny_deck)
    raw = json.loads((tiny_deck / "manifest.json").read_text())
    for key in ("model", "task", "classes", "imgsz", "dataset", "created", "tools", "variants"):
        assert key in raw, key
    assert manifest.classes == ["product"] and manifest.imgsz == 256
    assert [v.id for v in manifest.variants] == list(catalog.VARIANTS)
    assert all(v.ok for v in manifest.variants), [(v.id, v.reason) for v in manifest.variants if not v.ok]
    manifest.verify(tiny_deck)  # sizes and sha256 of every file
    for v in manifest.variants:
        path = tiny_deck / v.file
        assert v.bytes == path.stat().st_size and v.sha256 == sha256_of(path)
        m = v.metrics
        for value in (m.precision, m.recall, m.f1, m.map50, m.map50_95):
            assert 0 <= value <= 1
        assert m.map50_95 <= m.map50
        assert math.isclose(m.f1, 2 * m.precision * m.recall / (m.precision + m.recall), rel_tol=1e-6)
        assert set(m.per_class) == {"product"}
        assert 0 < v.latency_ms.median <= v.latency_ms.p90 and v.latency_ms.threads == 2
        assert v.latency_ms.imgsz == 256
    files = {v.id: v.file for v in manifest.variants}
    assert files["openvino-fp32"] == files["onnx-fp32"] and files["openvino-int8"] == files["onnx-int8"]  # shared
    ref = manifest.reference()
    assert ref.id == "onnx-fp32" and ref.metrics.map50 > 0.3
    arch = manifest.architecture  # yolov8n at 256 px: ~3M parameters, ~1.3 GFLOPs
    assert 1e6 < arch["parameters"] < 1e7 and 0.3 < arch["gflops"] < 5, arch
    sizes = {v.id: v.bytes for v in manifest.variants}
    assert sizes["onnx-fp16"] < 0.6 * sizes["onnx-fp32"] and sizes["onnx-int8"] < 0.35 * sizes["onnx-fp32"]
    assert sizes["tflite-fp16"] < 0.6 * sizes["tflite-fp32"] and sizes["tflite-int8"] < 0.35 * sizes["tflite-fp32"]
    for v in manifest.variants:  # quantization must not collapse the scores (a barely trained model: loose bound)
        assert abs(manifest.delta(v)["map50"]) < 0.05, (v.id, manifest.delta(v))
    assert (tiny_deck / "training" / "results.csv").is_file() and "results" in manifest.files
    build = manifest.build  # where the build's time went, by stage
    assert all(build[k] > 0 for k in ("export_s", "evaluate_s", "latency_s", "inference_ms", "metrics_ms")), build
    assert build["total_s"] >= build["export_s"] + build["evaluate_s"] + build["latency_s"], build
    assert build["scale_images"] == manifest.dataset["images"]  # a split this small is not sampled


def test_model_card_is_valid_hub_metadata(tiny_deck):
    from huggingface_hub import ModelCard

    card = ModelCard((tiny_deck / "README.md").read_text())
    data = card.data.to_dict()
    assert data["library_name"] == "yolodeck" and data["license"] == "agpl-3.0"
    assert "object-detection" in data["tags"] and data["datasets"] == ["synth-shelves"]
    results = card.data.eval_results
    manifest = Manifest.read(tiny_deck)
    assert len(results) == 5 * len(manifest.available)
    by_name = {r.metric_name: r.metric_value for r in results}
    assert by_name["mAP50 (onnx-fp32)"] == round(manifest.variant("onnx-fp32").metrics.map50, 4)
    assert "| tflite-int8 |" in card.content and "hub pull" in card.content


@pytest.mark.timeout(600)
@pytest.mark.parametrize("variant", ["onnx-fp32", "onnx-int8", "tflite-int8"])
def test_metrics_agree_with_ultralytics_val(tiny_deck, tiny_data, variant):
    """An independent cross-check of every figure in the manifest, on an fp32 and two int8 variants.

    pycocotools (ours) and Ultralytics match and interpolate differently, and the test split is 8 images,
    so one detection matched differently moves mAP by ~0.01. Measured on fp32/int8 here: mAP50 within
    0.010 (seed 0) and 0.014 (another machine's model); mAP50-95 ours 0.017-0.018 above theirs. Bounds:
    mAP50 0.02, mAP50-95 0.03 (AP at IoU 0.75 instead of 0.5 would move mAP50 by ~0.3 here).
    P and R are compared at the same confidence, ours (where our F1 peaks), read off Ultralytics' P and R
    curves: each side's own argmax lands anywhere on a flat F1 plateau (seen: P 0.73/R 0.72 against
    0.78/0.66 on a weaker model, F1 equal). A recall over detections instead of objects moves R by ~0.09.
    """
    from ultralytics import YOLO

    from training.data.layout import read_data_yaml, split_images
    from training.evaluate import evaluate_file

    manifest = Manifest.read(tiny_deck)
    v = manifest.variant(variant)
    # scored again now, by this code (the deck may come from the test state's cache): the manifest holds the same
    ours = evaluate_file(tiny_deck / v.file, split_images(read_data_yaml(tiny_data), "test"), manifest.classes,
                         imgsz=manifest.imgsz, backend=v.backend, progress=False)
    for field in ("precision", "recall", "f1", "map50", "map50_95"):
        assert abs(getattr(ours, field) - getattr(v.metrics, field)) < 1e-3, (field, ours, v.metrics)
    val = YOLO(str(tiny_deck / manifest.variant(variant).file), task="detect").val(
        data=str(tiny_data), split="test", imgsz=256, conf=0.001, iou=0.7, max_det=1000, batch=1, device="cpu",
        plots=False, verbose=False, project=str(tiny_deck.parent / "val"), name=variant,
    )
    box = val.box
    assert abs(box.map50 - ours.map50) < 0.02, (box.map50, ours.map50)
    assert abs(box.map - ours.map50_95) < 0.03, (box.map, ours.map50_95)
    p, r = (float(np.interp(ours.conf, box.px, curve.mean(0))) for curve in (box.p_curve, box.r_curve))
    assert abs(p - ours.precision) < 0.03 and abs(r - ours.recall) < 0.03, ((p, r), (ours.precision, ours.recall))
    assert abs(box.f1_curve.mean(0).max() - ours.f1) < 0.02, (box.f1_curve.mean(0).max(), ours.f1)


def test_coco_metrics_score_a_dense_image_whole():
    """180 objects in one image (a shelf is often over COCO's default of 100 detections per image): boxes equal to
    the truth score 1.0 on every figure; every other object found gives recall 0.5 and mAP50 about 51/101
    (COCO's 101-point interpolation: precision 1 up to recall 0.5, then nothing)."""
    from training.evaluate import GroundTruth, coco_metrics

    boxes = np.array([[c * 25 + 2, r * 25 + 2, c * 25 + 22, r * 25 + 22] for r in range(12) for c in range(15)],
                     np.float32)
    gt = GroundTruth(images=[], arrays=[np.zeros((300, 375, 3), np.uint8)],
                     labels=[np.column_stack([np.zeros(len(boxes)), boxes])])
    scores = np.linspace(0.99, 0.5, len(boxes)).astype(np.float32)
    whole = coco_metrics(gt, [(boxes, scores, np.zeros(len(boxes), np.int64))], ["product"])
    assert (whole.precision, whole.recall, whole.map50, whole.map50_95) == pytest.approx((1, 1, 1, 1), abs=1e-6)
    half = coco_metrics(gt, [(boxes[::2], scores[::2], np.zeros(len(boxes[::2]), np.int64))], ["product"])
    assert half.recall == pytest.approx(0.5, abs=1e-6) and half.precision == pytest.approx(1, abs=1e-6)
    assert half.map50 == pytest.approx(51 / 101, abs=1e-6)


def test_a_step_s_output_is_dropped_when_it_succeeds_and_kept_when_it_fails(capfd):
    """What exporters print, from Python, native code or child processes, stays out of the deck's log; a step
    that fails carries the end of its output in its exception."""
    from training.quiet import captured

    with captured():
        print("an exporter banner")
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        subprocess.run(["echo", "a child's line"], check=True)
    with pytest.raises(RuntimeError) as failed, captured():
        os.write(1, b"the line that explains it\n")
        raise RuntimeError("export failed")
    print("ours")
    out, err = capfd.readouterr()
    assert out == "ours\n" and err == ""
    assert "the line that explains it" in "\n".join(failed.value.__notes__)


def test_weights_named_but_not_here_are_refused_with_where_to_get_them(tmp_path, netguard):
    """`--weights yolov8n.pt` with no such file: a message saying where to get it and how to allow the download,
    nothing written, nothing looked up on the network."""
    done = subprocess.run([sys.executable, "-m", "training", "train", "--data", str(tmp_path / "data.yaml"), "--out",
                           str(tmp_path / "run"), "--weights", "yolov8n.pt", "--skip-check"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr[-1000:]
    assert "yolov8n.pt: no such file" in done.stderr and "--allow-download" in done.stderr
    assert not (tmp_path / "run").exists()
