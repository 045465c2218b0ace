"""The shelf report on generated shelves whose gaps are known: rows, empty facings and the empty share."""

from __future__ import annotations

import numpy as np
import pytest

from hub.runtime import Detections
from hub.runtime.shelf import rows_of, shelf_report
from tests.helpers.images import box_iou

NAMES = ["product", "empty"]


def _shelf(seed: int):
    from training.data.synth_shelves import render

    _, boxes = render(np.random.default_rng(seed), width=640, height=640, with_empty=True)
    return np.array([[b.cls, b.x1, b.y1, b.x2, b.y2] for b in boxes], np.float64)


def _truth(labels: np.ndarray) -> tuple[dict[float, int], float]:
    """Each shelf's bottom (the generator stands every box on its board) -> its row, and the empty share."""
    bottoms = sorted(set(labels[:, 4].tolist()))
    span = sum(labels[labels[:, 4] == b, 3].max() - labels[labels[:, 4] == b, 1].min() for b in bottoms)
    gaps = labels[labels[:, 0] == 1]
    return {b: k for k, b in enumerate(bottoms)}, float((gaps[:, 3] - gaps[:, 1]).sum() / span)


@pytest.mark.parametrize("seed", range(6))
def test_rows_gaps_and_the_empty_share_match_the_generator_s_truth(seed):
    """The truth's own boxes, each edge moved by up to 3 px as a detector's would be: every box in its shelf's
    row, every gap found, the empty share within 2 points."""
    labels = _shelf(seed)
    rng = np.random.default_rng(seed)
    boxes = labels[:, 1:] + rng.uniform(-3, 3, (len(labels), 4))
    found = Detections(boxes.astype(np.float32), np.full(len(labels), 0.9, np.float32), labels[:, 0].astype(np.int64),
                       NAMES, {}, (640, 640))
    report = shelf_report(found)
    row_of, share = _truth(labels)
    assert len(report.rows) == len(row_of)
    want_rows = np.array([row_of[b] for b in labels[:, 4]])
    assert (rows_of(boxes[:, 3], boxes[:, 3] - boxes[:, 1]) == want_rows).all()
    gaps = labels[labels[:, 0] == 1]
    assert report.empty == len(gaps) and report.facings == len(labels) - len(gaps)
    assert sum(r.empty for r in report.rows) == len(gaps)
    for r in report.rows:  # each row's gaps are the truth's gaps on that shelf
        assert r.empty == int(((labels[:, 0] == 1) & (want_rows == r.index - 1)).sum())
    assert report.empty_share == pytest.approx(share, abs=0.02)
    widths = [g.x2 - g.x1 for g in report.restock]
    assert widths == sorted(widths, reverse=True) and len(widths) == len(gaps)


def test_a_full_shelf_has_no_gaps_and_an_empty_image_no_rows():
    full = Detections(np.array([[0, 0, 20, 50], [20, 0, 40, 50]], np.float32), np.ones(2, np.float32),
                      np.zeros(2, np.int64), NAMES, {}, (40, 50))
    report = shelf_report(full)
    assert (len(report.rows), report.facings, report.empty, report.empty_share, report.restock) == (1, 2, 0, 0.0, [])
    nothing = shelf_report(Detections.empty(NAMES, (40, 50)))
    assert nothing.rows == [] and nothing.empty_share == 0.0


def test_a_deck_without_an_empty_class_is_told_so():
    with pytest.raises(ValueError, match="no 'empty'.*--with-empty"):
        shelf_report(Detections.empty(["product"], (10, 10)))


def test_the_empty_share_is_of_the_shelf_s_own_width_not_the_photo_s():
    """A shelf filling a third of a wide photo: two products and a gap as wide as both, so half of it is empty;
    the restock list says the gap would take two facings."""
    boxes = np.array([[0, 100, 50, 200], [50, 100, 100, 200], [100, 110, 200, 200]], np.float32)
    report = shelf_report(Detections(boxes, np.full(3, 0.8, np.float32), np.array([0, 0, 1]), NAMES, {}, (600, 400)))
    assert report.empty_share == pytest.approx(100 / 200)
    assert [(g.row, g.x1, g.x2, g.facings) for g in report.restock] == [(1, 100.0, 200.0, 2.0)]


def _runs(boxes: np.ndarray) -> np.ndarray:
    """Empty facings side by side (at most 4 px apart, on one shelf) as one gap: the place a restocker fills."""
    out: list[list[float]] = []
    for b in sorted(boxes.tolist(), key=lambda b: (round(b[3] / 20), b[0])):
        if out and abs(out[-1][3] - b[3]) < 15 and b[0] - out[-1][2] <= 4:
            out[-1] = [out[-1][0], min(out[-1][1], b[1]), max(out[-1][2], b[2]), max(out[-1][3], b[3])]
        else:
            out.append(list(b))
    return np.array(out, np.float64).reshape(-1, 4)


def test_the_demo_deck_finds_the_gaps_rows_and_empty_share_of_shelves_it_never_saw(demo_weights_hub):
    """The committed demo weights (onnx-fp32 at 320) on 24 generated 640 px shelves, at the deck's own thresholds:
    every image's shelf rows, each product found in its shelf's row, the gaps at least one facing wide found
    (IoU >= 0.5; side-by-side empty facings read as one gap, as the model sees them), the empty share near the
    truth. Measured (AMD EPYC): 221 of 241 such gaps found (92%), the empty share within 2 points on 19 of 24
    shelves, 4.4 at worst (the model's gap boxes take in the few pixels between products that the generator's
    labels leave out: 0.7 points over on the median): the issue's "every gap, within 2 points" is not reached at
    320 px. (The weights before the last 20 epochs at 320: 220 of 241, 19 of 24, 4.3.)"""
    import hub
    from training.data.synth_shelves import render

    root, repo = demo_weights_hub
    detector = hub.load(repo, variant="onnx-fp32", endpoint=str(root), threads=2)
    assert detector.names == NAMES
    wide, found_wide, errors = 0, 0, []
    for seed in range(24):
        image, truth = render(np.random.default_rng([seed, 9]), width=640, height=640, with_empty=True)
        labels = np.array([[b.cls, b.x1, b.y1, b.x2, b.y2] for b in truth], np.float64)
        found = detector.detect(image[..., ::-1].copy(), conf="best")
        report = shelf_report(found)
        row_of, share = _truth(labels)
        assert len(report.rows) == len(row_of), seed
        products = found.xyxy[found.class_id == 0].astype(np.float64)
        rows = rows_of(found.xyxy[:, 3], found.xyxy[:, 3] - found.xyxy[:, 1])[found.class_id == 0]
        shelf_lines = np.array(sorted(row_of))
        nearest = np.abs(products[:, 3, None] - shelf_lines[None]).argmin(axis=1)
        assert (rows == nearest).all(), seed  # each product in the row of the shelf it stands on
        truth_rows = np.array([row_of[b] for b in labels[:, 4]])
        for gap in _runs(labels[labels[:, 0] == 1, 1:]):
            row = truth_rows[np.abs(labels[:, 4] - gap[3]).argmin()]
            facing = np.median((labels[:, 3] - labels[:, 1])[(truth_rows == row) & (labels[:, 0] == 0)])
            if gap[2] - gap[0] >= facing:
                wide += 1
                gaps = _runs(found.xyxy[found.class_id == 1].astype(np.float64))
                found_wide += bool(len(gaps)) and float(box_iou(gap[None], gaps).max()) >= 0.5
        errors.append(abs(report.empty_share - share))
    assert wide >= 160 and found_wide >= 0.85 * wide, (found_wide, wide)
    assert sum(e <= 0.02 for e in errors) >= 0.75 * len(errors) and max(errors) <= 0.05, errors
