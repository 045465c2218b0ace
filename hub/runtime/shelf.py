"""The shelf report: where the empty facings are, from one image's detections (no model of its own).

Rows are found from the boxes' bottom edges: products stand on a shelf board, so the boxes of one shelf end at
nearly the same height. Sorted by bottom edge, a new row starts wherever the step to the next box is more than
half the median box height. Per row: the facings (boxes of any class but the empty one), the empty facings with
their positions, and the share of the row's width that is empty (the empty boxes' widths over the row's extent,
first box to last). For the image: the empty share over all rows, and a restock list, the widest gap first, each
with about how many facings it would take (its width over the row's median product width).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hub.runtime.detections import Detections

EMPTY = "empty"


@dataclass
class Gap:
    row: int  # 1 = the top shelf
    x1: float
    y1: float
    x2: float
    y2: float
    confidence: float
    facings: float  # about how many products would fill it


@dataclass
class Row:
    index: int
    y: float  # the shelf's line: the median bottom edge of its boxes
    facings: int
    empty: int
    empty_share: float
    gaps: list[Gap] = field(default_factory=list)


@dataclass
class ShelfReport:
    rows: list[Row]
    facings: int
    empty: int
    empty_share: float  # of all rows' widths together
    restock: list[Gap]  # the widest gaps first

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
        boxes, gaps = xyxy[mine], is_gap[mine]
        span = float(boxes[:, 2].max() - boxes[:, 0].min())
        widths = boxes[:, 2] - boxes[:, 0]
        product_w = float(np.median(widths[~gaps])) if (~gaps).any() else float(np.median(widths))
        found = [Gap(r + 1, float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(c),
                     round(float(w / max(product_w, 1e-9)), 1))
                 for b, c, w in zip(boxes[gaps], detections.confidence[mine][gaps], widths[gaps], strict=True)]
        found.sort(key=lambda g: g.x1)
        empty_w = float(widths[gaps].sum())
        rows.append(Row(r + 1, float(np.median(boxes[:, 3])), int((~gaps).sum()), int(gaps.sum()),
                        round(min(1.0, empty_w / span) if span > 0 else 0.0, 4), found))
        restock += found
        spans += span
        gap_widths += empty_w
    restock.sort(key=lambda g: g.x2 - g.x1, reverse=True)
    return ShelfReport(rows, int((~is_gap).sum()), int(is_gap.sum()),
                       round(min(1.0, gap_widths / spans) if spans > 0 else 0.0, 4), restock)
