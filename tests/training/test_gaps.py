"""Where a deck misses empty facings (training.gaps), on a hand-made shelf whose gaps and boxes are known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.evaluate import GroundTruth
from training.gaps import gap_recall

NAMES = ["product", "empty"]


def _shelf() -> np.ndarray:
    """One shelf of 20 px products standing on y = 100: a 10 px gap at the row's left end, a 20 px gap inside, a
    30 px gap inside, a 20 px gap at the right end; and a second shelf (y = 200) with no gap."""
    row, x = [], 0
    for kind, width in [(1, 10), (0, 20), (0, 20), (1, 20), (0, 20), (1, 30), (0, 20), (0, 20), (1, 20)]:
        row.append([kind, x, 50, x + width, 100])
        x += width
    row += [[0, x, 150, x + 20, 200] for x in range(0, 100, 20)]
    return np.array(row, np.float64)


def test_gaps_are_grouped_by_width_and_place_and_found_at_the_class_threshold_and_iou():
    labels = _shelf()
    gaps = labels[labels[:, 0] == 1, 1:]
    # found: the left-end gap (exact), the 30 px one (shifted 4 px: IoU 0.76); missed: the inside 20 px gap (its
    # box scores under conf), the right-end one (a box half its width: IoU 0.5 is not reached by 0.45)
    xyxy = np.array([gaps[0], gaps[2] + [4, 0, 4, 0], gaps[1], [gaps[3][0], 50, gaps[3][0] + 9, 100]], np.float32)
    scores = np.array([0.9, 0.8, 0.2, 0.9], np.float32)
    classes = np.array([1, 1, 1, 1])
    gt = GroundTruth([Path("a.png")], [np.zeros((300, 300, 3), np.uint8)], [labels])
    g = gap_recall(gt, [(xyxy, scores, classes)], NAMES, conf=0.5)
    assert g is not None and g.conf == 0.5
    assert [(x.kind, x.gaps, x.found) for x in g.by_width] == [
        ("under 0.75 facing wide", 1, 1), ("0.75 to 1.25 facings", 2, 0), ("over 1.25 facings", 1, 1)]
    assert [(x.kind, x.gaps, x.found) for x in g.by_position] == [("at a row's end", 2, 1), ("inside a row", 2, 1)]
    products_only = gap_recall(gt, [(xyxy, scores, np.zeros(4, int))], NAMES, conf=0.5)
    assert sum(x.found for x in products_only.by_width) == 0  # a product box on a gap is not a gap found
    assert gap_recall(gt, [(xyxy, scores, classes)], ["product"], conf=0.5) is None


@pytest.mark.parametrize("conf,found", [(0.1, 3), (0.85, 1)])
def test_the_threshold_decides_which_boxes_count(conf, found):
    labels = _shelf()
    gaps = labels[labels[:, 0] == 1, 1:]
    xyxy, scores = gaps.astype(np.float32), np.array([0.9, 0.2, 0.8, 0.05], np.float32)
    gt = GroundTruth([Path("a.png")], [np.zeros((300, 300, 3), np.uint8)], [labels])
    g = gap_recall(gt, [(xyxy, scores, np.ones(4, int))], NAMES, conf=conf)
    assert sum(x.found for x in g.by_width) == found == sum(x.found for x in g.by_position)
