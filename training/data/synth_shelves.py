"""synth-shelves: dense retail shelves in the spirit of SKU-110K, generated from a seed.

Rows of shelves packed with 50-200 products of varied size, colour, label texture and
aspect; partial occlusion by price tags and neighbours; gaps (empty facings); uneven
lighting, blur and sensor noise. One class ``product``; ``with_empty=True`` also labels
the gaps as ``empty`` (as in the retail seed, which looked for empty facings).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from training.data.layout import Box, generate_splits, write_data_yaml

NAMES = ["product"]
NAMES_WITH_EMPTY = ["product", "empty"]


def _texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray) -> np.ndarray:
    """A product face: base colour, a label band, stripes or 'text' lines, a logo blob."""
    face = np.empty((h, w, 3), np.float32)
    face[:] = base
    kind = rng.integers(4)
    if kind == 0:  # horizontal label band
        y0, y1 = sorted(rng.integers(0, h, 2))
        face[y0 : y1 + 1] = rng.uniform(0, 255, 3)
    elif kind == 1:  # vertical stripes
        period = int(rng.integers(3, 8))
        face[:, ::period] *= rng.uniform(0.4, 0.8)
    elif kind == 2:  # two-tone
        face[h // 2 :] = rng.uniform(0, 255, 3)
    for _ in range(int(rng.integers(0, 4))):  # text-like lines
        y = int(rng.integers(0, h))
        x0, x1 = sorted(rng.integers(0, w, 2))
        face[y : y + 1, x0:x1] = rng.uniform(0, 80)
    if h > 8 and w > 6 and rng.random() < 0.6:  # logo
        cv2.circle(face, (w // 2, int(h * rng.uniform(0.3, 0.7))), max(2, w // 4), rng.uniform(0, 255, 3).tolist(), -1)
    # a darker rim so neighbouring products stay separable, as on a real shelf
    face[:, :1] *= 0.55
    face[:, -1:] *= 0.55
    face[:1] *= 0.7
    return face


def render(
    rng: np.random.Generator,
    *,
    width: int = 640,
    height: int = 640,
    with_empty: bool = False,
    rows: tuple[int, int] = (4, 7),
    product_width: tuple[float, float] = (0.025, 0.06),
):
    """Render one shelf image (BGR uint8) and its boxes.

    ``rows`` (min, max shelves) and ``product_width`` (fraction of the image width) set the density:
    the defaults give 50-200 products per image, as in SKU-110K.
    """
    img = np.empty((height, width, 3), np.float32)
    img[:] = rng.uniform(60, 200, 3)  # back wall
    boxes: list[Box] = []
    rows = int(rng.integers(rows[0], rows[1] + 1))
    row_h = height / rows
    board = max(4, int(row_h * rng.uniform(0.08, 0.14)))
    board_colour = rng.uniform(40, 220, 3)
    fill = rng.uniform(0.78, 1.0)  # how full the store is
    for r in range(rows):
        top, bottom = int(r * row_h), int((r + 1) * row_h) - board
        img[bottom : bottom + board] = board_colour * rng.uniform(0.85, 1.1)
        img[top:bottom] *= 0.55  # shadow inside the shelf
        x = int(rng.integers(0, 6))
        mean_w = rng.uniform(*product_width) * width
        while x < width - 6:
            w = int(np.clip(rng.normal(mean_w, mean_w * 0.25), 8, width * 0.12))
            w = min(w, width - x)
            if rng.random() > fill:  # gap: an empty facing
                if with_empty and w >= 8:
                    boxes.append(Box(1, x, top + 2, x + w, bottom))
                x += w + int(rng.integers(0, 3))
                continue
            h = int((bottom - top) * rng.uniform(0.55, 0.95))
            y0 = bottom - h
            face = _texture(rng, h, w, rng.uniform(0, 255, 3))
            if rng.random() < 0.3:  # bottle: round the top corners
                mask = np.ones((h, w), np.float32)
                cv2.rectangle(mask, (0, 0), (w - 1, int(h * 0.25)), 0, -1)
                cv2.ellipse(mask, (w // 2, int(h * 0.25)), (max(1, w // 2), max(1, int(h * 0.25))), 0, 180, 360, 1, -1)
                region = img[y0:bottom, x : x + w]
                region[:] = region * (1 - mask[..., None]) + face * mask[..., None]
            else:
                img[y0:bottom, x : x + w] = face
            boxes.append(Box(0, x, y0, x + w, bottom))
            x += w + int(rng.integers(0, 3))  # tightly packed
        for _ in range(int(rng.integers(0, 4))):  # price tags hanging over the products' feet
            tx, tw = int(rng.integers(0, width - 20)), int(rng.integers(12, 30))
            img[bottom - board // 2 : bottom + board // 2, tx : tx + tw] = (235, 235, 235)
    # lighting: a smooth gradient and a vignette
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1 + rng.uniform(-0.35, 0.25) * (xx / width - 0.5) + rng.uniform(-0.25, 0.25) * (yy / height - 0.5)
    light *= 1 - 0.35 * (((xx / width - 0.5) ** 2 + (yy / height - 0.5) ** 2) * rng.uniform(0, 1.5))
    img *= light[..., None] * rng.uniform(0.7, 1.2)
    img += rng.normal(0, rng.uniform(2, 8), img.shape)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), 0)
    return out, boxes


def generate(
    out: str | Path,
    *,
    train: int = 120,
    val: int = 24,
    test: int = 24,
    width: int = 640,
    height: int = 640,
    with_empty: bool = False,
    rows: tuple[int, int] = (4, 7),
    product_width: tuple[float, float] = (0.025, 0.06),
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Write the dataset under ``out`` and return its data.yaml path. Same seed, same files."""
    root = Path(out)
    generate_splits(
        root, {"train": train, "val": val, "test": test},
        lambda rng: render(rng, width=width, height=height, with_empty=with_empty, rows=rows,
                           product_width=product_width),
        seed=[seed, 0], desc="synth-shelves", progress=progress,
    )
    names = NAMES_WITH_EMPTY if with_empty else NAMES
    return write_data_yaml(root, names, extra={"generator": "synth-shelves", "seed": seed})
