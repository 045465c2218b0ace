"""synth-restock: a fixed camera on a synth-shelves shelf where one facing is emptied and refilled.

One shelf image with gaps (``render(with_empty=True)``); a gap about one facing wide is chosen and, while
it is "stocked", covered with a copy of the product beside it (scaled to the gap's width, standing on the
same board). The clip shows it stocked until ``empty_from``, empty until ``refilled_at``, stocked again
after; every other gap stays empty throughout. Each frame gets fresh sensor noise. ``meta.json`` holds the
shelf's boxes (class, x1, y1, x2, y2), the chosen facing and the two times: the truth the video tools'
``--empty-after`` events, the app's Shelf panel and the service's ``analysis=shelf`` are checked against.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from training.data.synth_shelves import render


def _chosen(boxes: np.ndarray) -> tuple[int, int]:
    """(the gap to empty and refill, the product whose copy stocks it): the gap most nearly one facing wide that
    has a product of at least its width standing right beside it on the same board."""
    best: tuple[float, int, int] | None = None
    for g in np.flatnonzero(boxes[:, 0] == 1):
        width = boxes[g, 3] - boxes[g, 1]
        same_row = np.flatnonzero((boxes[:, 0] == 0) & (np.abs(boxes[:, 4] - boxes[g, 4]) < 1))
        beside = [p for p in same_row if min(abs(boxes[p, 3] - boxes[g, 1]), abs(boxes[p, 1] - boxes[g, 3])) <= 3
                  and boxes[p, 3] - boxes[p, 1] >= width]
        if beside and len(same_row) >= 4:
            facing = float(np.median(boxes[same_row, 3] - boxes[same_row, 1]))
            score = abs(width / facing - 1.0)
            if best is None or score < best[0]:
                best = (score, int(g), int(beside[0]))
    if best is None:
        raise ValueError("this shelf has no gap with a product beside it to restock it from: try another seed")
    return best[1], best[2]


def scene(*, width: int = 640, height: int = 480, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(the shelf with the facing empty, the same shelf stocked: both BGR; its boxes (class, x1, y1, x2, y2), as
    labelled with the facing empty; the facing's index among them)."""
    rng = np.random.default_rng([seed, 31])
    shelf, found = render(rng, width=width, height=height, with_empty=True, rows=(3, 4), product_width=(0.04, 0.07))
    boxes = np.array([[b.cls, b.x1, b.y1, b.x2, b.y2] for b in found], np.float64)
    gap, source = _chosen(boxes)
    _, gx1, _, gx2, bottom = boxes[gap].astype(int)
    _, px1, py1, px2, _ = boxes[source].astype(int)
    stocked = shelf.copy()
    stocked[py1:bottom, gx1:gx2] = cv2.resize(shelf[py1:bottom, px1:px2], (gx2 - gx1, bottom - py1),
                                              interpolation=cv2.INTER_AREA)
    return shelf, stocked, boxes, gap


def generate(out: str | Path, *, width: int = 640, height: int = 480, seconds: float = 20.0, fps: float = 10.0,
             empty_from: float = 5.0, refilled_at: float = 12.0, seed: int = 0) -> Path:
    """Write ``restock.mp4`` and ``meta.json`` under ``out``; return the video's path."""
    from hub.video.io import VideoWriter

    shelf, stocked, boxes, gap = scene(width=width, height=height, seed=seed)
    noise = np.random.default_rng([seed, 32])
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    frames = int(round(seconds * fps))
    with VideoWriter(root / "restock.mp4", fps=fps, size=(width, height), crf=18) as writer:
        for n in range(frames):
            base = shelf if empty_from <= n / fps < refilled_at else stocked
            frame = np.clip(base.astype(np.int16) + noise.integers(-3, 4, base.shape), 0, 255).astype(np.uint8)
            writer.write(np.ascontiguousarray(frame[..., ::-1]))  # BGR -> RGB
    (root / "meta.json").write_text(json.dumps({
        "frames": frames, "fps": fps, "width": width, "height": height, "seed": seed, "boxes": boxes.tolist(),
        "facing": boxes[gap, 1:].tolist(), "empty_from": empty_from, "refilled_at": refilled_at}, indent=1))
    return root / "restock.mp4"
