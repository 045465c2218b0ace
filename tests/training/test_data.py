"""Datasets: synth-shelves, synth-digits and the SKU-110K converter, all in the YOLO layout."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.datasets import write_sku110k_release
from training.data import sku110k, synth_digits, synth_shelves
from training.data.layout import read_data_yaml, read_labels, split_images


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in {".jpg", ".txt"}:
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def shelves(tmp_path_factory) -> Path:
    return synth_shelves.generate(tmp_path_factory.mktemp("shelves"), train=6, val=2, test=2, seed=3, progress=False)


def test_synth_shelves_is_dense_valid_and_reproducible(shelves, tmp_path):
    data = read_data_yaml(shelves)
    assert data["names"] == ["product"]
    counts = []
    for split in ("train", "val", "test"):
        for image in split_images(data, split):
            h, w = cv2.imread(str(image)).shape[:2]
            labels = read_labels(image, w, h)
            counts.append(len(labels))
            assert (labels[:, 0] == 0).all()
            assert (labels[:, 1:3] >= -0.01).all() and (labels[:, 3] <= w + 0.01).all() and (labels[:, 4] <= h + 0.01).all()
            assert (labels[:, 3] > labels[:, 1]).all() and (labels[:, 4] > labels[:, 2]).all()
    assert len(counts) == 10
    assert min(counts) >= 50 and max(counts) <= 200, counts
    again = synth_shelves.generate(tmp_path / "again", train=6, val=2, test=2, seed=3, progress=False)
    assert _digest(again.parent) == _digest(shelves.parent)
    other = synth_shelves.generate(tmp_path / "other", train=6, val=2, test=2, seed=4, progress=False)
    assert _digest(other.parent) != _digest(shelves.parent)


def test_synth_shelves_can_label_gaps(tmp_path):
    path = synth_shelves.generate(tmp_path, train=4, val=1, test=1, with_empty=True, progress=False)
    data = read_data_yaml(path)
    assert data["names"] == ["product", "empty"]
    classes = np.concatenate([read_labels(p, 640, 640)[:, 0] for p in split_images(data, "train")])
    assert set(classes.tolist()) == {0.0, 1.0}


def test_ultralytics_accepts_the_data_yaml(shelves):
    from ultralytics.data.utils import check_det_dataset

    info = check_det_dataset(str(shelves))
    assert info["nc"] == 1 and Path(info["test"]).is_dir()


def test_synth_digits_has_ten_classes_and_tight_boxes(tmp_path):
    path = synth_digits.generate(tmp_path, train=40, val=4, test=4, progress=False)
    data = read_data_yaml(path)
    assert data["names"] == [str(d) for d in range(10)]
    seen = set()
    for image in split_images(data, "train"):
        arr = cv2.imread(str(image))
        labels = read_labels(image, arr.shape[1], arr.shape[0])
        assert 1 <= len(labels) <= 5
        seen |= set(labels[:, 0].astype(int).tolist())
        for _, x1, y1, x2, y2 in labels:  # a box holds ink: not the flat plate colour everywhere
            crop = arr[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))]
            assert crop.size and crop.std() > 5
    assert len(seen) >= 8


def test_sku110k_converter_keeps_good_rows_and_reports_each_bad_one(tmp_path):
    release = tmp_path / "SKU110K_fixed"
    write_sku110k_release(release)
    path, report = sku110k.convert(release, tmp_path / "yolo", progress=False)
    data = read_data_yaml(path)
    assert dict(report.images) == {"train": 2, "val": 1, "test": 1}
    assert dict(report.boxes) == {"train": 3, "val": 1, "test": 1}
    assert len(report.skipped) == 8
    text = "\n".join(report.skipped)
    for needle in ("outside", "bad row", "missing or unreadable", "says 640x480", "bad image name", "8 fields"):
        assert needle in text, needle
    assert (path.parent / "skipped.txt").read_text().count("\n") == 8
    labels = read_labels(path.parent / "images" / "train" / "train_0.jpg", 160, 120)
    np.testing.assert_allclose(labels[0], [0, 10, 10, 50, 60], atol=1e-3)
    assert [p.name for p in split_images(data, "train")] == ["train_0.jpg", "train_1.jpg"]


def test_sku110k_converter_refuses_a_folder_that_is_not_a_release(tmp_path):
    with pytest.raises(FileNotFoundError, match="images/ and annotations/"):
        sku110k.convert(tmp_path, tmp_path / "out", progress=False)


def test_cli_help_and_generation(tmp_path):
    helptext = subprocess.run([sys.executable, "-m", "training", "data", "--help"], capture_output=True, text=True,
                              check=True).stdout
    assert "synth-shelves" in helptext and "sku110k" in helptext
    out = subprocess.run(
        [sys.executable, "-m", "training", "data", "synth-digits", "--out", str(tmp_path / "d"), "--train", "3",
         "--val", "1", "--test", "1"], capture_output=True, text=True, check=True,
    ).stdout
    assert Path(out.strip()).name == "data.yaml" and len(list((tmp_path / "d/images/train").iterdir())) == 3
    proc = subprocess.run([sys.executable, "-m", "training", "data", "sku110k", "--out", str(tmp_path / "s")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--release" in proc.stderr
