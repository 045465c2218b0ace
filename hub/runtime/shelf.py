"""The shelf report: where the empty facings are, from one image's detections (no model of its own).

Rows are found from the boxes' bottom edges: products stand on a shelf board, so the boxes of one shelf end at
nearly the same height. Sorted by bottom edge, a new row starts wherever the step to the next box is more than
half the median box height. Per row, the facings (boxes of any class but the empty one) and the gaps: each of
the deck's ``empty`` boxes, and each space between neighbouring boxes at least one facing wide (the row's
median product width) that no box covers, where the model saw neither a product nor an empty facing. (A model
is least sure of the middle facings of a wide gap; products packed side by side leave no such space, and a
missed product is seldom a whole facing of bare shelf.) The row's empty share is the width its gaps cover
(overlaps counted once) over the row's extent, first box to last. For the image: the empty share over all
rows, and a restock list: the places to fill, a row's gaps with no product between them joined into one, the
widest first, each with about how many facings it would take (its width over the row's median product width).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np

from hub.runtime.detections import Detections

EMPTY = "empty"
SPACE_FACINGS = 1.0  # a space between boxes this many facings wide or more is a gap (measured: see the tests)
SEEN_AS = {"box": "empty facing", "space": "space between products"}  # a gap's source, in the panels' words


@dataclass
class Gap:
    row: int  # 1 = the top shelf
    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float  # the highest score of its empty boxes; 0 for a space alone
    facings: float  # about how many products would fill it
    source: str = "box"  # "box": the deck's empty boxes; "space": a space between products that no box covers


@dataclass
class Row:
    index: int
    y: float  # the shelf's line: the median bottom edge of its boxes
    facings: int
    empty: int  # its gaps: empty boxes and spaces
    empty_share: float
    gaps: list[Gap] = field(default_factory=list)  # left to right


@dataclass
class ShelfReport:
    rows: list[Row]
    facings: int
    empty: int
    empty_share: float  # of all rows' widths together
    restock: list[Gap]  # the places to fill (touching gaps joined), the widest first

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def columns(self) -> dict[str, float | str]:
        """What a per-frame CSV row of a shelf camera gets: the empty share, and the empty facings per row, top
        shelf first, as space-separated numbers ("0 2 1")."""
        return {"empty_share": self.empty_share, "empty_by_row": " ".join(str(r.empty) for r in self.rows)}


def rows_of(bottoms: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """A row number (0 = top) per box, from the boxes' bottom edges (see the module's note)."""
    if not len(bottoms):
        return np.zeros(0, np.int64)
    order = np.argsort(bottoms, kind="stable")
    step = np.diff(bottoms[order])
    breaks = np.r_[0, np.cumsum(step > 0.5 * float(np.median(heights)))]
    out = np.empty(len(bottoms), np.int64)
    out[order] = breaks
    return out


def shelf_report(detections: Detections, *, empty: str = EMPTY) -> ShelfReport:
    """The report for one image's detections; ValueError when the deck has no ``empty`` class to find gaps with."""
    if empty not in detections.names:
        raise ValueError(f"this deck's classes ({', '.join(detections.names[:10])}) have no {empty!r}: the shelf "
                         f"report needs a deck that detects empty facings (train on `training data synth-shelves "
                         f"--with-empty`, or your own labels with an {empty!r} class)")
    empty_id = detections.names.index(empty)
    xyxy = detections.xyxy.reshape(-1, 4).astype(np.float64)
    is_gap = detections.class_id == empty_id
    row = rows_of(xyxy[:, 3], xyxy[:, 3] - xyxy[:, 1])
    rows, restock, spans, gap_widths = [], [], 0.0, 0.0
    for r in range(int(row.max()) + 1 if len(row) else 0):
        mine = row == r
        boxes, gaps, scores = xyxy[mine], is_gap[mine], detections.confidence[mine]
        span = float(boxes[:, 2].max() - boxes[:, 0].min())
        widths = boxes[:, 2] - boxes[:, 0]
        product_w = max(float(np.median(widths[~gaps])) if (~gaps).any() else float(np.median(widths)), 1e-9)
        found = [Gap(r + 1, float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(c),
                     round(float(w / product_w), 1))
                 for b, c, w in zip(boxes[gaps], scores[gaps], widths[gaps], strict=True)]
        top, line = float(np.median(boxes[:, 1])), float(np.median(boxes[:, 3]))
        found += [Gap(r + 1, a, top, b, line, 0.0, round((b - a) / product_w, 1), "space")
                  for a, b in _spaces(boxes[:, [0, 2]], SPACE_FACINGS * product_w)]
        found.sort(key=lambda g: g.x1)
        empty_w = _covered([(g.x1, g.x2) for g in found])
        rows.append(Row(r + 1, line, int((~gaps).sum()), len(found),
                        round(min(1.0, empty_w / span) if span > 0 else 0.0, 4), found))
        restock += _places(found, boxes[~gaps, 0], product_w)
        spans += span
        gap_widths += empty_w
    restock.sort(key=lambda g: g.x2 - g.x1, reverse=True)
    return ShelfReport(rows, int((~is_gap).sum()), sum(r.empty for r in rows),
                       round(min(1.0, gap_widths / spans) if spans > 0 else 0.0, 4), restock)


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping [x1, x2] spans joined, left to right."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _covered(spans: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in _union(spans))


def _spaces(x1x2: np.ndarray, wide: float) -> list[tuple[float, float]]:
    """The spaces at least ``wide`` between a row's boxes (any class) that no box covers."""
    taken = _union([(float(a), float(b)) for a, b in x1x2])
    return [(a2, b1) for (_, a2), (b1, _) in pairwise(taken) if b1 - a2 >= wide]


def _places(gaps: list[Gap], product_x1: np.ndarray, product_w: float) -> list[Gap]:
    """A row's gaps (left to right) joined into the places a restocker fills: neighbours with no product starting
    between them are one place."""
    out: list[Gap] = []
    for g in gaps:
        last = out[-1] if out else None
        if last and not ((product_x1 >= last.x1) & (product_x1 < g.x1)).any():
            x2 = max(last.x2, g.x2)
            out[-1] = Gap(g.row, last.x1, min(last.y1, g.y1), x2, max(last.y2, g.y2),
                          max(last.confidence, g.confidence), round((x2 - last.x1) / product_w, 1),
                          "box" if "box" in (last.source, g.source) else "space")
        else:
            out.append(g)
    return out
