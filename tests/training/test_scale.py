"""The deck's object scale curve: views of the test split at other object sizes, crowd regions for cut objects,
the size the curve keeps its accuracy down to, and the curve a real deck records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hub.deck.manifest import Manifest, ScalePoint
from training.evaluate import GroundTruth, coco_metrics
from training.scale import KEEP, ZOOMS, median_px, smallest_kept, view


def _split(n: int = 3, w: int = 400, h: int = 300) -> GroundTruth:
    """Random images with boxes of 20-60 px, none touching the border."""
    rng = np.random.default_rng(1)
    arrays, labels = [], []
    for _ in range(n):
        arrays.append(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        xy = rng.uniform([5, 5], [w - 70, h - 70], (12, 2))
        wh = rng.uniform(20, 60, (12, 2))
        labels.append(np.c_[rng.integers(0, 2, 12), xy, xy + wh].astype(np.float32))
    return GroundTruth([], arrays, labels)


def test_a_shrunk_view_keeps_every_object_at_its_scale_in_a_frame_of_the_image_s_size():
    gt = _split()
    half = view(gt, 0.5)
    assert len(half.arrays) == 3 and all(a.shape == (300, 400, 3) for a in half.arrays)
    for lab, small, cut in zip(gt.labels, half.labels, half.crowd, strict=True):
        assert len(small) == len(lab) and not cut.any()  # nothing is cut by shrinking
        np.testing.assert_allclose(small[:, 3:] - small[:, 1:3], (lab[:, 3:] - lab[:, 1:3]) * 0.5, atol=1e-3)
        assert (small[:, 0] == lab[:, 0]).all()
    assert median_px(half, 320) == pytest.approx(median_px(gt, 320) / 2, rel=1e-3)
    assert (half.arrays[0][:5] == 114).all()  # the grey frame around the shrunk image


def test_an_enlarged_view_is_windows_whose_cut_objects_are_crowd_regions():
    gt = _split()
    double = view(gt, 2.0)
    assert len(double.arrays) == 3 * 4 and all(a.shape == (150, 200, 3) for a in double.arrays)
    whole_sides, cut_any = [], False
    for lab, cut, image in zip(double.labels, double.crowd, double.arrays, strict=True):
        assert (lab[:, 1:] >= 0).all() and (lab[:, [3]] <= image.shape[1]).all() and (lab[:, [4]] <= image.shape[0]).all()
        inner = (lab[:, 1] > 0) & (lab[:, 2] > 0) & (lab[:, 3] < image.shape[1]) & (lab[:, 4] < image.shape[0])
        assert not cut[inner].any()  # a box inside the window is whole
        cut_any |= cut.any()
        whole_sides.append(np.sqrt((lab[~cut, 3] - lab[~cut, 1]) * (lab[~cut, 4] - lab[~cut, 2])))
    assert cut_any
    # the whole objects are their own size; the window is half the image, so at the network they are twice as large
    assert median_px(double, 320) == pytest.approx(np.median(np.concatenate(whole_sides)) * 320 / 200)


def test_a_detection_on_a_crowd_region_is_neither_found_nor_missed():
    """COCO's iscrowd: an object a window cut counts for nothing, so a view is scored on the objects it shows
    whole. Without the flag the same detection would be a true positive and the miss a miss."""
    image = np.zeros((100, 200, 3), np.uint8)
    labels = np.array([[0, 10, 10, 50, 50], [0, 120, 10, 160, 50]], np.float32)
    on_both = (labels[:, 1:], np.array([0.9, 0.8], np.float32), np.zeros(2, np.int64))
    on_first = (labels[:1, 1:], np.array([0.9], np.float32), np.zeros(1, np.int64))
    flagged = GroundTruth([], [image], [labels], [np.array([False, True])])
    plain = GroundTruth([], [image], [labels])
    assert coco_metrics(flagged, [on_first], ["a"]).recall == pytest.approx(1.0)  # the cut one is not missed
    assert coco_metrics(flagged, [on_both], ["a"]).precision == pytest.approx(1.0)  # nor a false positive
    assert coco_metrics(plain, [on_first], ["a"]).recall == pytest.approx(0.5)


def test_the_smallest_kept_size_is_where_the_curve_first_reaches_keep_of_its_best():
    curve = [ScalePoint(object_px=px, map50_95=m, recall=0.5) for px, m in
             [(40, 0.85), (10, 0.2), (30, 0.9), (20, 0.8)]]
    target = KEEP * 0.9
    assert smallest_kept(curve) == pytest.approx(20 + (target - 0.8) / (0.9 - 0.8) * 10)
    flat = [ScalePoint(object_px=px, map50_95=0.5, recall=0.5) for px in (5, 10)]
    assert smallest_kept(flat) == 5  # kept all the way down: the smallest size measured


def test_a_deck_records_its_object_scale_curve(tiny_deck):
    """Measured by the deck's fp32 reference on its test split: one point per zoom, sizes in proportion to the
    zoom, the size-1 point is the split as it is and scores what the variant's own metrics say."""
    m = Manifest.read(tiny_deck)
    objects = m.objects
    assert objects is not None and objects.variant == m.reference().id
    sizes = [p.object_px for p in objects.curve]
    assert len(sizes) == len(ZOOMS)
    one = objects.curve[ZOOMS.index(1.0)]
    assert one.object_px == pytest.approx(objects.median_px, abs=0.01)
    for zoom, px in zip(ZOOMS, sizes, strict=True):
        if zoom < 1:  # shrunk: every object, exactly in proportion
            assert px == pytest.approx(objects.median_px * zoom, rel=0.02)
        else:  # windows: whole objects only (the larger ones are cut more often), about in proportion
            assert px == pytest.approx(objects.median_px * zoom, rel=0.2)
    assert one.map50_95 == pytest.approx(m.reference().metrics.map50_95, abs=0.02)  # conf 0.01 against 0.001
    assert objects.min_px == pytest.approx(smallest_kept(objects.curve), abs=0.01)
    assert objects.curve[0].map50_95 < max(p.map50_95 for p in objects.curve)  # a third of the size costs accuracy


def test_the_curve_s_sample_spreads_over_the_split():
    """A large split is sampled evenly (the same images every build), a small one is used whole."""
    from training.scale import sample

    images = [Path(f"{i:04d}.jpg") for i in range(1000)]
    chosen = sample(images, 48)
    assert len(chosen) == len(set(chosen)) == 48 and chosen == sample(images, 48)
    assert chosen[0] == images[0] and chosen[-1] == images[-1]
    gaps = np.diff([images.index(p) for p in chosen])
    assert gaps.min() >= 20 and gaps.max() <= 22
    assert sample(images[:30], 48) == images[:30]
