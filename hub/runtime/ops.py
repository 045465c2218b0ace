"""Pre- and post-processing shared by every backend: letterbox, head decode, rescale (NMS: ``nms.py``).

Written to match Ultralytics' own ``LetterBox`` and ``non_max_suppression`` (class-aware,
one label per box), so our detections agree with ``YOLO(file).predict``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

PAD_VALUE = 114
MAX_CANDIDATES = 30_000  # boxes handed to NMS at most, as in Ultralytics (max_nms)
# (cx, cy, w, h) @ this = (cx - w/2, cy - h/2, cx + w/2, cy + h/2) in one call: each output sums one exact
# product with exact zeros, so it is bit-identical to the four subtractions and additions, and cheaper
CXCYWH_TO_XYXY = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5]], np.float32)


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the network input: scale, then padding (left, top)."""

    ratio: float
    pad_left: float
    pad_top: float


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every xyxy box in ``a`` (N, 4) with every one in ``b`` (M, 4): (N, M); 0 where a union is empty."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    union = np.prod(a[:, 2:] - a[:, :2], axis=1)[:, None] + np.prod(b[:, 2:] - b[:, :2], axis=1)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def letterbox(image: np.ndarray, size: int, *, out: np.ndarray | None = None, layout: str = "nchw",
              codes: np.ndarray | None = None) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping aspect, pad to ``size`` x ``size`` with grey; return a float32 blob in [0, 1].

    ``layout``: ``"nchw"`` (1, 3, size, size), what ONNX, OpenVINO and PyTorch take, or ``"nhwc"``
    (1, size, size, 3), what TFLite takes: written straight in the backend's layout, the backend does
    not transpose (a 1.2 MB strided copy at 320 px). ``out``: an array of that shape to write into (a
    Detector reuses one per thread: a fresh 1.2 MB buffer per call costs page faults that show).
    ``codes``: a model that takes int8 pixels (``backends/_tflite_input.py``): each pixel value's code
    (256 of them, as uint8); the blob is then int8 NHWC, ``layout`` aside.
    """
    h, w = image.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = max(1, int(round(w * r))), max(1, int(round(h * r)))  # a 12000x8 strip keeps a row
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    if (w, h) != (new_w, new_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))  # as Ultralytics splits odd padding
    if codes is not None:
        return _coded(image, size, top, left, codes, out), Letterbox(r, left, top)
    shape = (1, size, size, 3) if layout == "nhwc" else (1, 3, size, size)
    if out is None or out.shape != shape or out.dtype != np.float32:
        out = np.empty(shape, np.float32)
    grey = np.float32(PAD_VALUE) / np.float32(255)
    if layout == "nhwc":  # the grey border, then the image scaled into its place in one pass
        _border(out[0], top, left, new_h, new_w, grey)
        np.divide(image, np.float32(255), out=out[0, top:top + new_h, left:left + new_w], dtype=np.float32)
        return out, Letterbox(r, left, top)
    # the grey border, then the image's planes scaled straight into their place (HWC uint8 -> NCHW float32)
    _border(out[0].transpose(1, 2, 0), top, left, new_h, new_w, grey)
    for channel, plane in enumerate(cv2.split(image)):
        np.divide(plane, np.float32(255), out=out[0, channel, top:top + new_h, left:left + new_w], dtype=np.float32)
    return out, Letterbox(r, left, top)


def _border(canvas: np.ndarray, top: int, left: int, new_h: int, new_w: int, value: Any) -> None:
    """Fill ``canvas`` (an H x W x C view, any strides) with ``value`` around the image's place."""
    canvas[:top] = value
    canvas[top + new_h:] = value
    canvas[top:top + new_h, :left] = value
    canvas[top:top + new_h, left + new_w:] = value


def _coded(image: np.ndarray, size: int, top: int, left: int, codes: np.ndarray,
           out: np.ndarray | None) -> np.ndarray:
    """The resized image's pixels as the model's int8 codes, in place in a grey-coded (1, size, size, 3) blob."""
    if out is None or out.shape != (1, size, size, 3) or out.dtype != np.int8:
        out = np.empty((1, size, size, 3), np.int8)
    canvas = out.view(np.uint8)[0]
    new_h, new_w = image.shape[:2]
    _border(canvas, top, left, new_h, new_w, codes[PAD_VALUE])
    place = canvas[top:top + new_h, left:left + new_w]
    coded = cv2.LUT(image, codes, dst=place)  # written in place (OpenCV takes the strided view as it is)
    if coded.ctypes.data != place.ctypes.data:  # it allocated instead: an image OpenCV would not write there
        place[...] = coded
    return out


def decode_head(output: np.ndarray, *, conf: float,
                classes: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ultralytics detect head (1, 4 + nc, N), boxes as cx, cy, w, h -> candidates above ``conf``.

    Returns xyxy (M, 4), scores (M,), class ids (M,), in network-input pixels.
    """
    pred = output[0] if output.ndim == 3 else output
    if pred.shape[0] > pred.shape[1]:  # (N, 4 + nc) layout
        pred = pred.T
    cls_scores = pred[4:]
    one_class = len(cls_scores) == 1
    best = cls_scores[0] if one_class else cls_scores.max(axis=0)
    keep = np.flatnonzero(best > conf)
    class_ids = np.zeros(keep.size, np.int64) if one_class else cls_scores[:, keep].argmax(axis=0)
    if classes is not None:  # after each box took its best class, as Ultralytics filters: not a second-best label
        wanted = np.isin(class_ids, np.asarray(list(classes), np.int64))
        keep, class_ids = keep[wanted], class_ids[wanted]
    if keep.size > MAX_CANDIDATES:
        top = np.argsort(-best[keep])[:MAX_CANDIDATES]
        keep, class_ids = keep[top], class_ids[top]
    scores = best[keep]
    xyxy = pred[:4, keep].T @ CXCYWH_TO_XYXY
    return xyxy.astype(np.float32, copy=False), scores.astype(np.float32, copy=False), class_ids.astype(np.int64)


def rescale(xyxy: np.ndarray, box: Letterbox, width: int, height: int) -> np.ndarray:
    """Network-input pixels -> original-image pixels, clipped to the image."""
    out = xyxy - np.array([box.pad_left, box.pad_top, box.pad_left, box.pad_top], np.float32)
    out /= np.float32(box.ratio)
    return out.clip(0, np.array([width, height, width, height], np.float32), out=out)
