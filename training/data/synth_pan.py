"""synth-pan: a camera panning along a long synthetic shelf, with every product's box and identity per frame.

The canvas is blank wall, a synth-shelves shelf, blank wall; the window slides across it, so every
product enters on the right, crosses the middle of the frame once (right to left) and leaves on the
left. ``truth.csv`` holds one row per visible product per frame (frame, id, class, x1, y1, x2, y2);
the number of products is the true count for a vertical line anywhere inside the frame.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from training.data.synth_shelves import render


def generate(out: str | Path, *, width: int = 256, height: int = 256, shelf_width: int = 768, step: int = 6,
             fps: float = 15.0, seed: int = 0, product_width: tuple[float, float] = (0.027, 0.047),
             rows: tuple[int, int] = (2, 3)) -> Path:
    """Write ``pan.mp4``, ``truth.csv`` and ``meta.json`` under ``out``; return the video's path."""
    from hub.video.io import VideoWriter

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 77])
    shelf, boxes = render(rng, width=shelf_width, height=height, rows=rows, product_width=product_width)
    wall = np.full((height, width, 3), shelf[:4].reshape(-1, 3).mean(axis=0), np.uint8)
    canvas = np.concatenate([wall, shelf, wall], axis=1)[..., ::-1]  # BGR -> RGB
    frames = (canvas.shape[1] - width) // step + 1
    truth = []
    with VideoWriter(root / "pan.mp4", fps=fps, size=(width, height), crf=16) as writer:
        for f in range(frames):
            x0 = f * step
            writer.write(np.ascontiguousarray(canvas[:, x0 : x0 + width]))
            for pid, b in enumerate(boxes):
                x1, x2 = b.x1 + width - x0, b.x2 + width - x0  # the shelf starts one frame width in
                cx1, cx2 = max(0.0, x1), min(float(width), x2)
                if cx2 - cx1 >= 0.5 * (x2 - x1):  # at least half of it in view
                    truth.append((f, pid, b.cls, round(cx1, 2), round(b.y1, 2), round(cx2, 2), round(b.y2, 2)))
    with open(root / "truth.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["frame", "id", "class", "x1", "y1", "x2", "y2"])
        w.writerows(truth)
    (root / "meta.json").write_text(json.dumps({"frames": frames, "fps": fps, "width": width, "height": height,
                                                "step": step, "products": len(boxes), "seed": seed}, indent=2))
    return root / "pan.mp4"
