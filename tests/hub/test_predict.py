"""`hub predict`: a deck's detections over a folder, as pre-annotations a labelling tool reads."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hub.deck.manifest import Manifest
from training.data.layout import read_data_yaml, read_labels, split_images

LABEL_STUDIO_SDK = Path(__file__).resolve().parents[2] / "build" / "venv-label-studio-sdk" / "bin" / "python"


def _predict(demo_hub, folder, out, fmt, *extra):
    root, repo = demo_hub
    return subprocess.run([sys.executable, "-m", "hub.cli", "predict", repo, str(folder), "--out", str(out),
                           "--format", fmt, "--variant", "onnx-fp32", "--endpoint", str(root), *extra],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def photos(tiny_data, tmp_path_factory):
    """The tiny deck's test split, plus a file that is not an image."""
    folder = tmp_path_factory.mktemp("photos")
    for image in split_images(read_data_yaml(tiny_data), "test"):
        shutil.copyfile(image, folder / image.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a JPEG")
    return folder


def test_coco_results_score_the_deck_s_own_map50_in_pycocotools(demo_hub, tiny_deck, tiny_data, photos, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    done = _predict(demo_hub, photos, tmp_path, "coco", "--conf", "0.001", "--iou", "0.7", "--max-det", "1000")
    assert done.returncode == 0, done.stderr
    assert "1 skipped" in done.stderr and "broken.jpg" in (tmp_path / "skipped.txt").read_text()
    meta = json.loads((tmp_path / "coco_images.json").read_text())
    annotations = []
    for image in meta["images"]:
        name = image["file_name"].rsplit("/", 1)[-1]
        original = split_images(read_data_yaml(tiny_data), "test")
        lab = read_labels(next(p for p in original if p.name == name), image["width"], image["height"])
        for c, x1, y1, x2, y2 in lab.tolist():
            annotations.append({"id": len(annotations) + 1, "image_id": image["id"], "category_id": int(c),
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = {**meta, "annotations": annotations}
        truth.createIndex()
        ev = COCOeval(truth, truth.loadRes(str(tmp_path / "coco_results.json")), "bbox")
        ev.params.maxDets = [1, 100, 1000]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    manifest = Manifest.read(tiny_deck)
    assert ev.stats[1] == pytest.approx(manifest.variant("onnx-fp32").metrics.map50, abs=2e-3)


def test_label_studio_yolo_and_csv_say_the_same_boxes(demo_hub, photos, tmp_path):
    outs = {}
    for fmt in ("labelstudio", "yolo", "csv"):
        done = _predict(demo_hub, photos, tmp_path / fmt, fmt)
        assert done.returncode == 0, done.stderr
        outs[fmt] = tmp_path / fmt
    tasks = json.loads((outs["labelstudio"] / "labelstudio.json").read_text())
    assert len(tasks) == len(list(photos.glob("*.jpg"))) - 1  # the broken one is skipped
    prediction = tasks[0]["predictions"][0]
    assert prediction["model_version"].startswith("acme/tiny@") and prediction["model_version"].endswith("onnx-fp32")
    boxes = [r for t in tasks for r in t["predictions"][0]["result"]]
    assert boxes and all(0 <= r["value"]["x"] <= 100 and 0 < r["value"]["width"] <= 100 and 0 < r["score"] <= 1
                         and r["value"]["rectanglelabels"] == ["product"] for r in boxes)
    rows = list(csv.DictReader((outs["csv"] / "predictions.csv").open()))
    labels = [line.split() for f in sorted((outs["yolo"] / "labels").glob("*.txt")) for line in f.read_text().splitlines()]
    assert len(rows) == len(labels) == len(boxes)
    assert all(len(parts) == 6 and 0 < float(parts[5]) <= 1 for parts in labels)  # a confidence column
    first = tasks[0]
    w, h = first["predictions"][0]["result"][0]["original_width"], first["predictions"][0]["result"][0]["original_height"]
    v = first["predictions"][0]["result"][0]["value"]
    row = next(r for r in rows if r["image"] == first["data"]["image"])
    assert np.allclose([float(row["x1"]), float(row["y1"])], [v["x"] / 100 * w, v["y"] / 100 * h], atol=0.01)


def test_a_source_that_does_not_exist_is_refused_by_name(demo_hub, tmp_path):
    done = _predict(demo_hub, tmp_path / "nowhere", tmp_path / "out", "csv")
    assert done.returncode == 1 and "no such folder, file or matching files" in done.stderr


@pytest.mark.skipif(not LABEL_STUDIO_SDK.is_file(), reason="needs `make install-clients`")
def test_label_studio_output_validates_with_label_studio_s_own_sdk(demo_hub, photos, tmp_path):
    """The tasks and the labeling interface written beside them, read by label-studio-sdk's LabelInterface (pinned,
    in a venv of its own): every prediction valid, the interface's labels the deck's classes."""
    done = _predict(demo_hub, photos, tmp_path, "labelstudio")
    assert done.returncode == 0, done.stderr
    check = subprocess.run([str(LABEL_STUDIO_SDK), str(Path(__file__).parents[1] / "clients" / "label_studio_check.py"),
                            str(tmp_path / "labelstudio_config.xml"), str(tmp_path / "labelstudio.json")],
                           capture_output=True, text=True, timeout=120)
    report = json.loads(check.stdout)
    assert check.returncode == 0 and report["errors"] == [], report["errors"][:5]
    assert report["labels"] == ["product"] and report["tasks"] == 8 and report["boxes"] > 0, report
