"""Tiled inference for large, dense images: the grid of overlapping tiles, the grid "auto" chooses, and the
merge across borders.

Each tile is run at the network's size, so small objects in a 12 MP shelf photo are seen at the
scale the model was trained on. An object in an overlap is found by two tiles; an object cut by a
tile border leaves a piece in one tile (a box touching an inner border). Boxes of different tiles
that overlap by ``MERGE_IOS`` of the smaller (IoS) are one object, best score first, and the box
kept is the object's whole view: the keeper's own when no border cut it; else the best box of that
object that no border cut (the tile that saw it whole); else, when every tile saw a piece only, the
union of the pieces. SAHI and supervision's InferenceSlicer merge greedily too (NMM on IoS, or NMS),
but they widen the keeper by every box merged into it, junk included: measured on 3000 x 4000
shelves (``make bench-tiles``), the rule here scores higher than both. A few lines of numpy: the
libraries would bring torch or supervision's dependencies into the lean runtime for one loop.

"auto" (:func:`choose`) tiles by the size of the image's objects: the deck measured the smallest object size
its model finds about as well as any (``training.scale``); a whole-image pass and a few centre zooms measure
the objects in this image, and the coarsest grid that shows them at that size runs (none, when the whole image
does). On 3000 x 4000 shelves that is 4 x 3, the most accurate of the fixed grids (``make bench-tiles``).

Tiles are not run as one batch: 4, 8 and 20 tiles through a dynamic-batch ONNX export in one call took
1.03-1.07x less time than one by one (ONNX Runtime, 2 threads; AMD EPYC with AVX-512 VNNI, and again on
an Intel Xeon with AMX), not worth exporting every deck file a second time. They run side by side
instead, each on a one-thread copy of the model (``Detector._side_by_side``): 1.2x less inference time
for 20 tiles on 2 cores, and one tile's pre- and post-processing overlaps another's model call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

Region = tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels
Found = tuple[Any, ...]  # (region, xyxy, scores, class ids, ...): what a detector found in one region, boxes in image pixels
MERGE_IOS = 0.6  # a box this much inside another (of the same class) is the same object
EDGE_PX = 2.0  # a box within this of a tile's inner border was cut by it
SURE = 0.25  # boxes at least this sure measure the objects' size (the apps' default confidence)
TRUST = 0.6  # a zoom that sees objects at this much of min_px or more measures them: the demo deck still finds 82%
#             of its objects at 0.59 of its min_px (recall 0.82 at 13.9 px). Below, clusters of small objects pass as
#             one: on the bench's shelves the whole image, at 0.52, measured 77 px objects of 57; the 2x zoom, at
#             0.75, measured 55 of 54
CONFIDENT = 0.4  # ... and when the model is sure of them: their median score at least this. Boxes drawn around
#                  clusters of objects too small to see score low: the test suite's tiny model scored 6 such boxes
#                  0.26-0.36 (median 0.29), and its objects at the size it finds them best 0.48-0.75 (medians of 3
#                  images); the demo deck scores the bench's shelves 0.70 at the 2x zoom


def auto_grid(width: int, height: int, tile_px: int) -> tuple[int, int]:
    """(rows, cols) whose tiles are about ``tile_px`` a side (the images the model learned on); (1, 1) when
    the image is no larger than that."""
    return max(1, math.ceil(height / (tile_px * 1.25))), max(1, math.ceil(width / (tile_px * 1.25)))


def side(xyxy: np.ndarray) -> float:
    """The median object side (square root of the box area) of ``xyxy``, in its pixels."""
    return float(np.median(np.sqrt(np.prod(xyxy[:, 2:] - xyxy[:, :2], axis=1)))) if len(xyxy) else 0.0


def grid_for(width: int, height: int, object_side: float, *, size: int, object_px: float,
             overlap: float = 0.2) -> tuple[int, int]:
    """The coarsest (rows, cols) whose tiles, each shrunk to ``size`` by the network, still show an object of
    ``object_side`` image pixels at least ``object_px`` large."""
    longest = object_side * size / object_px  # the longest tile side that does

    def count(length: int) -> int:  # n tiles overlapping by ``overlap`` are length / (n - overlap (n - 1)) long
        return max(1, math.ceil((length / longest - overlap) / (1 - overlap) - 1e-9))

    return count(height), count(width)


def choose(width: int, height: int, run: Callable[[Region], Found], *, size: int, object_px: float,
           finest: tuple[int, int], overlap: float = 0.2) -> tuple[tuple[int, int], dict[Region, Found]]:
    """The grid for ``tiles="auto"``, from the size of the image's objects, measured.

    The whole image runs first, then its centre at 2x, 4x, ... zoom (each a tile ``run`` at the network's size),
    until a zoom can measure the objects: those it finds (at least ``SURE``, not cut by its border) are seen at
    ``TRUST`` of ``object_px`` or more, a size at which the model finds most of them, and it is sure of them
    (median score ``CONFIDENT``). Their median side in image pixels, at the coarsest zoom that measures them (the
    most objects), picks the coarsest grid that shows them at ``object_px``, the size the deck measured its model
    finds them well at (:func:`grid_for`); (1, 1) when the whole image does. Objects still too small at the finest
    zoom, or none found at all, take the ``finest`` grid (tiles the size of the images the model learned on).
    Returns the grid and the regions already run (the whole image: reused when it is the answer or when ``whole``
    asks for it).
    """
    ran: dict[Region, Found] = {}
    zoom = 1
    while True:
        tile_w, tile_h = math.ceil(width / zoom), math.ceil(height / zoom)
        x0, y0 = (width - tile_w) // 2, (height - tile_h) // 2
        region = (x0, y0, x0 + tile_w, y0 + tile_h)
        found = ran[region] = run(region)
        keep = found[2] >= SURE
        keep[keep] = ~_cut(found[1][keep], region, width, height)  # not the pieces of objects its border cut
        boxes, scores = found[1][keep], found[2][keep]
        seen = side(boxes)
        if len(boxes) and seen * size / max(tile_w, tile_h) >= TRUST * object_px and np.median(scores) >= CONFIDENT:
            rows, cols = grid_for(width, height, seen, size=size, object_px=object_px, overlap=overlap)
            return (min(rows, finest[0]), min(cols, finest[1])), ran
        zoom *= 2
        if zoom > max(finest):  # the next zoom would be smaller than the finest grid's tiles
            return finest, ran


def parse_tiles(text: str | None) -> tuple[int, int] | str | None:
    """What ``Detector.detect(tiles=...)`` takes, from ``"off"`` (or nothing), ``"auto"`` or ``"RxC"`` (rows x
    columns, 1 to 8 each); ValueError naming the problem for anything else."""
    text = (text or "off").strip().lower()
    if text == "off":
        return None
    if text == "auto":
        return "auto"
    rows, sep, cols = text.partition("x")
    if not (sep and rows.isdigit() and cols.isdigit() and 1 <= int(rows) <= 8 and 1 <= int(cols) <= 8):
        raise ValueError(f"tiles {text!r}: use off, auto or RxC (rows x columns, 1 to 8 each, e.g. 2x3)")
    return int(rows), int(cols)


def fit(width: int, height: int, tiles: tuple[int, int], size: int, overlap: float = 0.2) -> int:
    """The long side an image may be read at (a reduced JPEG decode) so that each of its tiles still has at
    least ``size`` pixels on its long side: the network then downscales every tile, never upscales it."""
    rows, cols = tiles
    tile_w, tile_h = width / (cols - overlap * (cols - 1)), height / (rows - overlap * (rows - 1))
    return math.ceil(max(width, height) * size / max(tile_w, tile_h, size))


def grid(width: int, height: int, rows: int, cols: int, overlap: float = 0.2) -> list[Region]:
    """Tiles covering the image, neighbours overlapping by ``overlap`` of a tile."""
    if rows < 1 or cols < 1 or not 0.0 <= overlap < 1.0:
        raise ValueError(f"tiles must be at least (1, 1) and overlap in [0, 1), got ({rows}, {cols}), {overlap}")

    def spans(length: int, n: int) -> list[tuple[int, int]]:
        size = length / (n - overlap * (n - 1))
        step = size * (1 - overlap)
        return [(round(i * step), min(length, round(i * step + size))) for i in range(n)]

    return [(x0, y0, x1, y1) for y0, y1 in spans(height, rows) for x0, x1 in spans(width, cols)]


def _cut(xyxy: np.ndarray, region: Region, width: int, height: int) -> np.ndarray:
    """Whether each box touches a border of its tile that is not the image's border."""
    x0, y0, x1, y1 = region
    return (((xyxy[:, 0] <= x0 + EDGE_PX) & (x0 > 0)) | ((xyxy[:, 1] <= y0 + EDGE_PX) & (y0 > 0))
            | ((xyxy[:, 2] >= x1 - EDGE_PX) & (x1 < width)) | ((xyxy[:, 3] >= y1 - EDGE_PX) & (y1 < height)))


def _pairs(found: list[tuple[Region, np.ndarray, np.ndarray, np.ndarray]], ios: float) -> np.ndarray:
    """(i, j) index pairs, into the concatenated boxes, of same-class boxes of two different tiles that overlap
    by ``ios`` of the smaller. Two boxes can meet only where their tiles do, so only the boxes reaching into
    each overlap are compared: a few thousand pairs on a 20-tile shelf instead of a million."""
    starts = np.cumsum([0] + [len(b) for _, b, _, _ in found])
    pairs = []
    for a, (ra, ba, _, ca) in enumerate(found):
        for b in range(a + 1, len(found)):
            rb, bb, _, cb = found[b]
            x0, y0, x1, y1 = max(ra[0], rb[0]), max(ra[1], rb[1]), min(ra[2], rb[2]), min(ra[3], rb[3])
            if x0 >= x1 or y0 >= y1:
                continue
            ia = np.flatnonzero((ba[:, 0] < x1) & (ba[:, 2] > x0) & (ba[:, 1] < y1) & (ba[:, 3] > y0))
            ib = np.flatnonzero((bb[:, 0] < x1) & (bb[:, 2] > x0) & (bb[:, 1] < y1) & (bb[:, 3] > y0))
            if not ia.size or not ib.size:
                continue
            p, q = ba[ia][:, None], bb[ib][None]
            inter = np.clip(np.minimum(p[..., 2:], q[..., 2:]) - np.maximum(p[..., :2], q[..., :2]), 0, None).prod(-1)
            area_p = (p[..., 2] - p[..., 0]) * (p[..., 3] - p[..., 1])
            area_q = (q[..., 2] - q[..., 0]) * (q[..., 3] - q[..., 1])
            hit = (inter / np.maximum(np.minimum(area_p, area_q), 1e-9) >= ios) & (ca[ia][:, None] == cb[ib][None])
            i, j = np.nonzero(hit)
            pairs.append(np.stack([ia[i] + starts[a], ib[j] + starts[b]], axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)


def merge(xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, cut: np.ndarray,
          pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy merge, best score first: each box absorbs the boxes it is paired with (:func:`_pairs`) that are
    still there, and takes the object's whole view (module docstring) when a tile border ``cut`` it. Within one
    tile the model's own NMS has decided already, and stands."""
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    xyxy, scores, class_ids, cut = xyxy[order].copy(), scores[order], class_ids[order], cut[order]
    ranked = np.sort(rank[pairs], axis=1)  # (better, worse) in score order
    ranked = ranked[np.lexsort((ranked[:, 1], ranked[:, 0]))]
    firsts, begin = np.unique(ranked[:, 0], return_index=True)
    alive = np.ones(len(xyxy), bool)
    ends = np.append(begin[1:], len(ranked)) if len(begin) else begin
    for i, lo, hi in zip(firsts.tolist(), begin.tolist(), ends.tolist(), strict=True):
        if not alive[i]:
            continue
        same = ranked[lo:hi, 1]
        same = same[alive[same]]  # best first
        if cut[i] and same.size:
            whole = same[~cut[same]]  # the tile that saw the object whole
            if whole.size:
                xyxy[i] = xyxy[whole[0]]
            else:  # pieces only: their union
                xyxy[i, :2] = np.minimum(xyxy[i, :2], xyxy[same, :2].min(axis=0))
                xyxy[i, 2:] = np.maximum(xyxy[i, 2:], xyxy[same, 2:].max(axis=0))
        alive[same] = False
    return xyxy[alive], scores[alive], class_ids[alive]


def stitch(found: list[tuple[Region, np.ndarray, np.ndarray, np.ndarray]], width: int, height: int,
           ios: float = MERGE_IOS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-tile detections (boxes already in image pixels) -> one set for the whole image."""
    if not found:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    cut = np.concatenate([_cut(b, r, width, height) for r, b, _, _ in found])
    return merge(np.concatenate([b for _, b, _, _ in found]), np.concatenate([s for _, _, s, _ in found]),
                 np.concatenate([c for _, _, _, c in found]), cut, _pairs(found, ios))
