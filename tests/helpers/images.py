"""Images for tests: every kind of bad input the runtime must refuse by name, and an IoU of its own (so that a
test of the runtime's boxes does not use the runtime's IoU)."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
from PIL import Image


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(br - tl, 0, None).prod(-1)
    area = lambda x: (x[:, 2:] - x[:, :2]).prod(-1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def covers(place: list[float], facing: np.ndarray) -> bool:
    """Whether a restock place [x1, y1, x2, y2] lies over most (80%) of a facing's width on the facing's own shelf
    (bottoms within 15 px): the facing's place to fill, alone or joined with gaps beside it."""
    x1, _, x2, y2 = place
    return abs(y2 - facing[3]) < 15 and min(x2, facing[2]) - max(x1, facing[0]) >= 0.8 * (facing[2] - facing[0])


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds no pixels: what a decompression bomb looks like up front."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda tag, data: struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))  # noqa: E731
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


def _jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    return data.tobytes()


def _bad_png() -> bytes:
    good = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(good, "PNG")
    data = bytearray(good.getvalue())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\x00" * 64  # corrupt the compressed pixel data
    return bytes(data)


BAD_IMAGES = {
    "empty bytes": (lambda p: b"", "empty"),
    "random bytes": (lambda p: np.random.default_rng(1).bytes(2000), "not an image"),
    "truncated jpeg": (lambda p: _jpeg()[:300], "(?i)truncated|could not be"),
    "corrupt png": (lambda p: _bad_png(), "could not be decoded|could not be read"),
    "svg": (lambda p: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    "pdf": (lambda p: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj", "PDF"),
    "decompression bomb": (lambda p: _png_header_only(60000, 60000), "too many pixels|too large"),
    "too many pixels": (lambda p: _png_header_only(9000, 6000), "too large"),
    "too many bytes": (lambda p: b"\xff\xd8" + b"\x00" * (50 * 2**20 + 10), "limit"),
    "text file": (lambda p: (p / "notes.txt").write_text("hello") and p / "notes.txt", "not an image"),
    "missing file": (lambda p: p / "nope.jpg", "does not exist"),
    "a directory": (lambda p: p, "not a file"),
    "array with 2 channels": (lambda p: np.zeros((10, 10, 2), np.uint8), "not an image"),
    "4-d array": (lambda p: np.zeros((1, 10, 10, 3), np.uint8), "not an image"),
    "empty array": (lambda p: np.zeros((0, 10, 3), np.uint8), "empty"),
    "NaN array": (lambda p: np.full((10, 10, 3), np.nan, np.float32), "NaN"),
    "object array": (lambda p: np.empty((10, 10, 3), object), "dtype"),
    "None": (lambda p: None, "no image"),
    "a number": (lambda p: 42, "unsupported image type"),
}
