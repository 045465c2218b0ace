"""Datasets for tests: an SKU-110K release in miniature with every kind of bad row."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_sku110k_release(root: Path) -> None:
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    rng = np.random.default_rng(0)
    for name in ("train_0.jpg", "train_1.jpg", "val_0.jpg", "test_0.jpg"):
        cv2.imwrite(str(root / "images" / name), rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    (root / "images" / "train_2.jpg").write_bytes(b"\xff\xd8\xff garbage")  # unreadable image
    rows = {
        "train": [
            "train_0.jpg,10,10,50,60,object,160,120",
            "train_0.jpg,60,20,100,110,object,160,120",
            "train_0.jpg,150,10,170,50,object,160,120",  # outside the image
            "train_0.jpg,abc,10,50,60,object,160,120",  # bad number
            "train_0.jpg,30,30,30,40,object,160,120",  # empty box
            "train_1.jpg,0,0,160,120,object,160,120",
            "train_1.jpg,5,5,20,20,object,640,480",  # size disagrees with the image
            "missing.jpg,1,1,5,5,object,160,120",  # missing image
            "train_2.jpg,1,1,5,5,object,160,120",  # corrupt image
            "../etc/passwd,1,1,5,5,object,160,120",  # not a plain file name
            "train_0.jpg,1,2,3",  # too few fields
        ],
        "val": ["val_0.jpg,1,1,40,40,object,160,120"],
        "test": ["test_0.jpg,2,2,80,100,object,160,120"],
    }
    for split, lines in rows.items():
        (root / "annotations" / f"annotations_{split}.csv").write_text("\n".join(lines) + "\n")
