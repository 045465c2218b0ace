"""synth-digits: house-number-like digits 0-9 on textured plates (10 classes), from a seed.

The multi-class case, in the spirit of the small YOLOv3 on SVHN seed: 1-5 digits in one of
OpenCV's built-in Hershey fonts (no font files to download), varied colour, scale, slant
and spacing, on a textured plate with a frame, blur and noise.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.data.layout import Box, generate_splits, write_data_yaml

NAMES = [str(d) for d in range(10)]
FONTS = [
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
]


def render(rng: np.random.Generator, *, width: int = 192, height: int = 128):
    """Render one plate (BGR uint8) and the box of every digit on it."""
    bg = rng.uniform(0, 255, 3)
    img = np.empty((height, width, 3), np.float32)
    img[:] = bg
    img += rng.normal(0, rng.uniform(3, 20), (height, width, 1))  # plate texture (grain)
    if rng.random() < 0.5:  # brick/wood lines
        for y in range(0, height, int(rng.integers(8, 20))):
            img[y : y + 1] *= 0.7
    fg = rng.uniform(0, 255, 3)
    while np.abs(fg - bg).sum() < 200:  # keep digits readable against the plate
        fg = rng.uniform(0, 255, 3)
    font = int(rng.choice(FONTS))
    n = int(rng.integers(1, 6))
    digits = rng.integers(0, 10, n)
    scale = rng.uniform(1.0, 2.0) * (4 / max(n, 3)) ** 0.5
    thickness = int(rng.integers(1, 4))
    sizes = [cv2.getTextSize(str(d), font, scale, thickness) for d in digits]
    gap = int(rng.integers(1, 8))
    total_w = sum(s[0][0] for s in sizes) + gap * (n - 1)
    max_h = max(s[0][1] + s[1] for s in sizes)
    if total_w >= width - 8 or max_h >= height - 8:
        scale *= min((width - 10) / (total_w + 1), (height - 10) / (max_h + 1))
        sizes = [cv2.getTextSize(str(d), font, scale, thickness) for d in digits]
        total_w = sum(s[0][0] for s in sizes) + gap * (n - 1)
    x = int(rng.integers(4, max(5, width - total_w - 4)))
    baseline_y = int(rng.integers(max(s[0][1] for s in sizes) + 4, height - 6))
    boxes: list[Box] = []
    canvas = np.zeros((height, width), np.uint8)
    for d, ((tw, _), _) in zip(digits, sizes, strict=True):
        mask = np.zeros((height, width), np.uint8)
        cv2.putText(mask, str(d), (x, baseline_y), font, scale, 255, thickness, cv2.LINE_AA)
        ys, xs = np.nonzero(mask > 64)
        if len(xs):
            boxes.append(Box(int(d), xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
        canvas = np.maximum(canvas, mask)
        x += tw + gap
    alpha = canvas.astype(np.float32)[..., None] / 255
    img = img * (1 - alpha) + fg * alpha
    cv2.rectangle(img, (1, 1), (width - 2, height - 2), (fg * 0.8).tolist(), int(rng.integers(1, 4)))
    img *= rng.uniform(0.6, 1.3)
    out = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        out = cv2.GaussianBlur(out, (3, 3), 0)
    return out, boxes


def generate(
    out: str | Path,
    *,
    train: int = 400,
    val: int = 80,
    test: int = 80,
    width: int = 192,
    height: int = 128,
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write the dataset under ``out`` and return its data.yaml path. Same seed, same files."""
    root = Path(out)
    generate_splits(root, {"train": train, "val": val, "test": test},
                    lambda rng: render(rng, width=width, height=height), seed=[seed, 10], desc="synth-digits",
                    progress=progress)
    return write_data_yaml(root, NAMES, extra={"generator": "synth-digits", "seed": seed})
