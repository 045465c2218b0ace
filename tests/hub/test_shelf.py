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
    assert widths == sorted(widths, reverse=True)
    runs = _runs(labels[labels[:, 0] == 1, 1:])  # the places: the truth's empty facings side by side joined
    places = np.array([[g.x1, g.y1, g.x2, g.y2] for g in report.restock])
    assert len(places) == len(runs) and (box_iou(runs, places).max(axis=1) > 0.5).all()
    assert {g.source for r in report.rows for g in r.gaps} == {"box"}  # products packed: no space read as a gap


def test_a_full_shelf_has_no_gaps_and_an_empty_image_no_rows():
    full = Detections(np.array([[0, 0, 20, 50], [20, 0, 40, 50]], np.float32), np.ones(2, np.float32),
                      np.zeros(2, np.int64), NAMES, {}, (40, 50))
    report = shelf_report(full)
    assert (len(report.rows), report.facings, report.empty, report.empty_share, report.restock) == (1, 2, 0, 0.0, [])
    nothing = shelf_report(Detections.empty(NAMES, (40, 50)))
    assert nothing.rows == [] and nothing.empty_share == 0.0


def test_a_space_a_facing_wide_between_products_is_a_gap_and_touching_gaps_are_one_place():
    """One shelf of 20 px products: a bare facing between two products that the model boxed as nothing (a
    space, score 0), two empty boxes side by side (one place of two facings, its best score) that overlap by
    4 px (counted once in the share), and a 12 px space (under a facing: products' spacing, not a gap)."""
    x = [(0, 20, 0), (20, 40, 0), (60, 80, 0), (80, 102, 1), (98, 120, 1), (120, 140, 0), (152, 172, 0),
         (172, 192, 0)]  # x1, x2, class: the bare facing is 40-60, the 12 px space 140-152
    boxes = np.array([[a, 50, b, 100] for a, b, _ in x], np.float32)
    scores = np.array([0.9, 0.9, 0.9, 0.6, 0.7, 0.9, 0.9, 0.9], np.float32)
    report = shelf_report(Detections(boxes, scores, np.array([c for *_, c in x]), NAMES, {}, (200, 100)))
    (row,) = report.rows
    assert [(g.x1, g.x2, g.source, g.confidence) for g in row.gaps] == [
        (40, 60, "space", 0.0), (80, 102, "box", pytest.approx(0.6)), (98, 120, "box", pytest.approx(0.7))]
    assert (row.facings, row.empty, report.empty) == (6, 3, 3)
    assert row.empty_share == report.empty_share == pytest.approx((20 + 40) / 192, abs=1e-4)
    assert [(g.x1, g.x2, g.facings, g.source, round(g.confidence, 2)) for g in report.restock] == [
        (80, 120, 2.0, "box", 0.7), (40, 60, 1.0, "space", 0.0)]


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
    """Empty facings side by side (at most 4 px apart, on one shelf) as one gap: the place a restocker fills.
    Boxes are taken left to right; each joins the run on its shelf (bottoms within 15 px) that it touches."""
    out: list[list[float]] = []
    for b in sorted(boxes.tolist(), key=lambda b: b[0]):
        touching = [r for r in out if abs(r[3] - b[3]) < 15 and b[0] - r[2] <= 4]
        if touching:
            r = touching[-1]
            r[:] = [r[0], min(r[1], b[1]), max(r[2], b[2]), max(r[3], b[3])]
        else:
            out.append(list(b))
    return np.array(out, np.float64).reshape(-1, 4)


def test_the_demo_deck_finds_the_gaps_rows_and_empty_share_of_shelves_it_never_saw(demo_weights_hub):
    """The committed demo weights (onnx-fp32 at 320) on 24 generated 640 px shelves, at the deck's own thresholds:
    every image's shelf rows, each product found in its shelf's row, the gaps at least one facing wide found
    (a restock place at IoU >= 0.5 with the truth's run of empty facings), few places where the shelf is stocked,
    the empty share near the truth. Measured (AMD EPYC): 239 of 241 such gaps found (99%; 226 from the empty
    boxes alone, side-by-side ones joined when at most 4 px apart), 4 of 365 places not on a gap, the share within 1.2 points on
    every shelf (4.4 at worst before). The two missed: two gaps with a narrow product between them that the
    model missed (one place over both, IoU 0.28 with the first), and a 1-facing gap under a product box."""
    import hub
    from training.data.synth_shelves import render

    root, repo = demo_weights_hub
    detector = hub.load(repo, variant="onnx-fp32", endpoint=str(root), threads=2)
    assert detector.names == NAMES
    wide, found_wide, stray, places, errors = 0, 0, 0, 0, []
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
        runs = _runs(labels[labels[:, 0] == 1, 1:])
        restock = np.array([[g.x1, g.y1, g.x2, g.y2] for g in report.restock], np.float64).reshape(-1, 4)
        for gap in runs:
            row = truth_rows[np.abs(labels[:, 4] - gap[3]).argmin()]
            facing = np.median((labels[:, 3] - labels[:, 1])[(truth_rows == row) & (labels[:, 0] == 0)])
            if gap[2] - gap[0] >= facing:
                wide += 1
                found_wide += bool(len(restock)) and float(box_iou(gap[None], restock).max()) >= 0.5
        for place in restock:  # a place mostly off the truth's gaps sends a restocker to a stocked shelf
            on = runs[np.abs(runs[:, 3] - place[3]) < 15]
            covered = np.clip(np.minimum(on[:, 2], place[2]) - np.maximum(on[:, 0], place[0]), 0, None).sum()
            stray += covered < 0.5 * (place[2] - place[0])
        places += len(restock)
        errors.append(abs(report.empty_share - share))
    assert wide >= 160 and found_wide >= 0.98 * wide, (found_wide, wide)
    assert stray <= 0.02 * places, (stray, places)
    assert max(errors) <= 0.02, errors
