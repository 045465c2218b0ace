"""Where a deck misses empty facings: its test split's gaps grouped by width and by position in their row.

A deck whose classes include ``empty`` (``hub.runtime.shelf.EMPTY``) is scored on each labelled gap: found
when a predicted ``empty`` box at the class's own threshold (the ``conf="best"`` the apps use) overlaps it at
IoU >= 0.5. Rows come from the labels' bottom edges (``hub.runtime.shelf.rows_of``, as the shelf report finds
them); a gap's width is counted in its row's median product width ("facings"), and its position is "at a row's
end" when it is the row's first or last box. The numbers say which gaps a store would see missed: narrow ones,
or those at the ends of a shelf.
"""

from __future__ import annotations

import numpy as np

from hub.deck.manifest import GapGroup, Gaps
from hub.runtime.ops import box_iou
from hub.runtime.shelf import EMPTY, rows_of
from training.evaluate import GroundTruth

FOUND_IOU = 0.5
WIDTHS = ((0.0, 0.75, "under 0.75 facing wide"), (0.75, 1.25, "0.75 to 1.25 facings"),
          (1.25, float("inf"), "over 1.25 facings"))
POSITIONS = ("at a row's end", "inside a row")


def _kinds(labels: np.ndarray, empty: int) -> list[tuple[float, bool]]:
    """Per gap label of one image: (its width in facings, whether it is its row's first or last box)."""
    rows = rows_of(labels[:, 4], labels[:, 4] - labels[:, 2])
    widths = labels[:, 3] - labels[:, 1]
    out = []
    for i in np.flatnonzero(labels[:, 0] == empty):
        mine = rows == rows[i]
        products = mine & (labels[:, 0] != empty)
        facing = float(np.median(widths[products])) if products.any() else float(np.median(widths[mine]))
        end = labels[i, 1] <= labels[mine, 1].min() or labels[i, 3] >= labels[mine, 3].max()
        out.append((float(widths[i]) / max(facing, 1e-9), bool(end)))
    return out


def gap_recall(gt: GroundTruth, predictions: list[tuple[np.ndarray, np.ndarray, np.ndarray]], names: list[str],
               *, conf: float) -> Gaps | None:
    """The split's gaps by width and position, and how many the predictions (xyxy, scores, class ids per image)
    found at ``conf``; None when the classes have no ``empty``."""
    if EMPTY not in names:
        return None
    empty = names.index(EMPTY)
    width_found = np.zeros((len(WIDTHS), 2), int)  # gaps, found
    place_found = np.zeros((len(POSITIONS), 2), int)
    for labels, (xyxy, scores, classes) in zip(gt.labels, predictions, strict=True):
        labels = np.asarray(labels, np.float64).reshape(-1, 5)
        if not (labels[:, 0] == empty).any():
            continue
        kept = xyxy[(classes == empty) & (scores >= conf)]
        truth = labels[labels[:, 0] == empty, 1:]
        found = (box_iou(truth, kept) >= FOUND_IOU).any(axis=1) if len(kept) else np.zeros(len(truth), bool)
        for (facings, end), hit in zip(_kinds(labels, empty), found, strict=True):
            w = next(k for k, (lo, hi, _) in enumerate(WIDTHS) if lo <= facings < hi)
            width_found[w] += (1, int(hit))
            place_found[0 if end else 1] += (1, int(hit))
    return Gaps(conf=round(float(conf), 4),
                by_width=[GapGroup(kind=k, gaps=int(n), found=int(f))
                          for (_, _, k), (n, f) in zip(WIDTHS, width_found, strict=True)],
                by_position=[GapGroup(kind=k, gaps=int(n), found=int(f))
                             for k, (n, f) in zip(POSITIONS, place_found, strict=True)])
