"""Tiled inference: the grid covers the image, an object cut by a border comes back once, and a large
dense image tiled finds what its parts find."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hub.runtime import Detector, load_image
from hub.runtime.tiles import (
    CONFIDENT,
    MERGE_IOS,
    SURE,
    TRUST,
    _pairs,
    auto_grid,
    choose,
    fit,
    grid,
    grid_for,
    stitch,
)
from tests.helpers.images import box_iou

A, B = (0, 0, 120, 100), (80, 0, 200, 100)  # two tiles of a 200 x 100 image, sharing x 80..120


def _tile(region, boxes, cls=0, score=0.9):
    b = np.array(boxes, np.float32).reshape(-1, 4)
    return region, b, np.full(len(b), score, np.float32), np.full(len(b), cls, np.int64)


@pytest.mark.parametrize("shape, tiles", [((100, 200), (1, 2)), ((1000, 700), (3, 2)), ((64, 64), (2, 2))])
def test_the_grid_covers_the_image_with_overlap(shape, tiles):
    h, w = shape
    regions = grid(w, h, *tiles, overlap=0.2)
    assert len(regions) == tiles[0] * tiles[1]
    covered = np.zeros((h, w), int)
    for x0, y0, x1, y1 in regions:
        covered[y0:y1, x0:x1] += 1
    assert covered.min() >= 1 and covered.max() >= (2 if max(tiles) > 1 else 1)


def test_an_object_cut_by_a_border_comes_back_once_as_its_union():
    """80 px wide, the overlap 40: no tile holds it whole; each holds a piece that touches its inner border."""
    xyxy, _, _ = stitch([_tile(A, [60, 10, 120, 60]), _tile(B, [80, 10, 140, 60], score=0.8)], 200, 100)
    np.testing.assert_allclose(xyxy, [[60, 10, 140, 60]])


def test_an_object_in_the_overlap_seen_whole_by_both_tiles_comes_back_once():
    xyxy, scores, _ = stitch([_tile(A, [85, 10, 115, 60], score=0.9), _tile(B, [86, 11, 115, 60], score=0.7)],
                             200, 100)
    assert len(xyxy) == 1 and scores[0] == pytest.approx(0.9)
    np.testing.assert_allclose(xyxy[0], [85, 10, 115, 60])  # whole boxes are not widened, only cut ones


def test_a_piece_takes_the_view_of_the_tile_that_saw_the_object_whole_not_a_union_with_junk():
    """A's piece (cut at x 120, the best score) of an object B saw whole, and a low-score box in B that holds
    both (a detector's junk at eval confidence): the object keeps B's whole box, the piece's score, once."""
    b = np.array([[90, 10, 130, 60], [82, 0, 200, 100]], np.float32)
    seen_by_b = (B, b, np.array([0.8, 0.1], np.float32), np.zeros(2, np.int64))
    xyxy, scores, _ = stitch([_tile(A, [90, 10, 120, 60], score=0.9), seen_by_b], 200, 100)
    np.testing.assert_allclose(xyxy, [[90, 10, 130, 60]])
    assert scores.tolist() == [pytest.approx(0.9)]


def test_neighbours_and_other_classes_are_not_merged():
    two = stitch([_tile(A, [20, 10, 70, 60]), _tile(B, [130, 10, 180, 60])], 200, 100)[0]
    assert len(two) == 2
    classes = stitch([_tile(A, [60, 10, 120, 60], cls=0), _tile(B, [80, 10, 140, 60], cls=1)], 200, 100)[2]
    assert sorted(classes.tolist()) == [0, 1]


@pytest.mark.parametrize("whole", [False, True])
def test_the_merge_finds_every_pair_an_all_pairs_search_finds(whole):
    """The merge compares only boxes reaching into an overlap of their two tiles: on random dense tiles (and the
    whole-image pass, which overlaps every tile) it pairs exactly the boxes that comparing all pairs does."""
    rng = np.random.default_rng(7)
    regions = grid(900, 700, 3, 4, overlap=0.25) + ([(0, 0, 900, 700)] if whole else [])
    found = []
    for x0, y0, x1, y1 in regions:
        n = 80
        xy = rng.uniform([x0, y0], [x1 - 8, y1 - 8], (n, 2))
        wh = rng.uniform(8, 60, (n, 2))
        boxes = np.c_[xy, np.minimum(xy + wh, [x1, y1])].astype(np.float32)
        found.append(((x0, y0, x1, y1), boxes, rng.uniform(0.2, 1, n).astype(np.float32), rng.integers(0, 2, n)))
    xyxy = np.concatenate([b for _, b, _, _ in found])
    cls = np.concatenate([c for _, _, _, c in found])
    tile = np.concatenate([np.full(len(b), k) for k, (_, b, _, _) in enumerate(found)])
    tl, br = np.maximum(xyxy[:, None, :2], xyxy[None, :, :2]), np.minimum(xyxy[:, None, 2:], xyxy[None, :, 2:])
    inter = np.clip(br - tl, 0, None).prod(-1)
    area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    ios = inter / np.maximum(np.minimum(area[:, None], area[None]), 1e-9)
    every = np.argwhere(np.triu((ios >= MERGE_IOS) & (cls[:, None] == cls[None]) & (tile[:, None] != tile[None]), 1))
    got = np.sort(_pairs(found, MERGE_IOS), axis=1)
    assert len(every) > 50  # dense enough to mean something
    assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, every.tolist()))


@pytest.mark.parametrize("w, h", [(4000, 3000), (3000, 4000), (640, 480), (12000, 800), (300, 200)])
@pytest.mark.parametrize("tiles", [(1, 1), (4, 3), (2, 5), "auto"])
def test_a_reduced_read_still_gives_every_tile_the_network_s_size(w, h, tiles):
    """A large JPEG is decoded at the long side ``fit`` says: its tiles, cut from that smaller image, are still
    at least the network's size (320) on their long side, unless the image itself is smaller."""
    rows, cols = auto_grid(w, h, 640) if tiles == "auto" else tiles
    long_side = fit(w, h, (rows, cols), 320)
    scale = min(1.0, long_side / max(w, h))
    rw, rh = round(w * scale), round(h * scale)
    sides = [max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in grid(rw, rh, rows, cols)]
    assert min(sides) >= min(320, max(w, h) / max(rows, cols)) - 1, (long_side, sides)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("w, h, tiles", [(3000, 4000, (4, 3)), (4000, 3000, (4, 3)), (4000, 3000, (2, 5)),
                                         (3000, 4000, (5, 2)), (3000, 4000, "auto")])
def test_a_reduced_read_keeps_each_tile_at_the_network_s_size_in_every_exif_orientation(w, h, tiles, orientation):
    """The same rule through a real JPEG read: ``w x h`` is the photo as shown, stored turned by its EXIF
    orientation; the grid's rows and columns are the shown photo's, so the decode size must be worked out there."""
    import io

    from PIL import Image

    from hub.runtime import read_image

    stored = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = io.BytesIO()
    Image.new("RGB", stored, (90, 120, 150)).save(data, "JPEG", quality=50, exif=exif)
    rows, cols = auto_grid(w, h, 640) if tiles == "auto" else tiles
    rgb, size = read_image(data.getvalue(), fit=lambda sw, sh: fit(sw, sh, (rows, cols), 320))
    rh, rw = rgb.shape[:2]
    assert size == (w, h) and (rw > rh) == (w > h) and max(rw, rh) < max(w, h)  # shown, and read reduced
    sides = [max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in grid(rw, rh, rows, cols)]
    assert min(sides) >= 320 - 1, (orientation, (rw, rh), sides)


def test_auto_tiles_only_images_larger_than_what_the_model_learned_on():
    assert auto_grid(512, 512, 512) == (1, 1)
    assert auto_grid(4032, 3024, 640) == (4, 6)


def _longest_tile(w: int, h: int, tiles: tuple[int, int], overlap: float = 0.2) -> int:
    return max(max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in grid(w, h, *tiles, overlap=overlap))


def test_grid_for_is_the_coarsest_grid_that_shows_objects_large_enough():
    """Its tiles, shrunk to the network's size, show the object at object_px or more; one tile fewer along either
    side would not (or that side has one tile)."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        w, h = (int(v) for v in rng.integers(200, 8000, 2))
        object_side, object_px, size = rng.uniform(8, 300), rng.uniform(8, 40), int(rng.choice([256, 320, 640]))
        rows, cols = grid_for(w, h, object_side, size=size, object_px=object_px)
        tile_w, tile_h = w / (cols - 0.2 * (cols - 1)), h / (rows - 0.2 * (rows - 1))
        assert object_side * size / max(tile_w, tile_h) >= object_px * (1 - 1e-6)
        if rows > 1:
            assert object_side * size / (h / (rows - 1 - 0.2 * (rows - 2))) < object_px
        if cols > 1:
            assert object_side * size / (w / (cols - 1 - 0.2 * (cols - 2))) < object_px


class _Shelf:
    """A modelled detector on a 4000 x 3000 image holding a lattice of square objects of ``side`` px: a region
    run at ``size`` finds the objects that reach into it (clipped to it: pieces, as a real model boxes what it
    sees) when they are at least ``visible`` px at the network; it counts its runs. ``choose``'s input, so its rule
    is checked against known object sizes."""

    def __init__(self, side: float, *, size: int = 320, visible: float = 8.0, score: float = 0.9,
                 width: int = 4000, height: int = 3000):
        self.side, self.size, self.visible, self.score, self.runs = side, size, visible, score, []
        xs, ys = np.arange(5, width - side, side * 1.3), np.arange(5, height - side, side * 1.3)
        x, y = (a.ravel() for a in np.meshgrid(xs, ys))
        self.boxes = np.c_[x, y, x + side, y + side].astype(np.float32)

    def __call__(self, region):
        self.runs.append(region)
        x0, y0, x1, y1 = region
        shown = self.side * self.size / max(x1 - x0, y1 - y0)
        b = self.boxes[(self.boxes[:, 2] > x0) & (self.boxes[:, 0] < x1) & (self.boxes[:, 3] > y0)
                       & (self.boxes[:, 1] < y1)] if shown >= self.visible else np.zeros((0, 4), np.float32)
        b = b.clip([x0, y0, x0, y0], [x1, y1, x1, y1])
        return region, b, np.full(len(b), self.score, np.float32), np.zeros(len(b), np.int64)


@pytest.mark.parametrize("side, grid_expected, runs", [
    (300, (1, 1), 1),  # 24 px at the network in the whole image: no tiles, one pass
    (150, "measured", 1),  # 12 px whole: measurable (over TRUST x 16), too small: the grid that shows them at 16
    (55, "measured", 3),  # 4.4 px whole (not seen), 8.8 at 2x (seen, under TRUST: not measured), 17.6 at 4x
    (20, (4, 6), 3),  # still 6.4 px at the finest zoom: the finest grid
])
def test_auto_zooms_until_the_objects_can_be_measured_then_takes_the_coarsest_grid_that_shows_them(
        side, grid_expected, runs):
    object_px, finest = 16.0, (4, 6)
    shelf = _Shelf(side)
    chosen, ran = choose(4000, 3000, shelf, size=320, object_px=object_px, finest=finest)
    expected = grid_for(4000, 3000, side, size=320, object_px=object_px) if grid_expected == "measured" else \
        grid_expected
    assert chosen == (min(expected[0], finest[0]), min(expected[1], finest[1]))
    assert len(shelf.runs) == runs and list(ran) == shelf.runs  # every zoom handed back for reuse
    assert shelf.runs[0] == (0, 0, 4000, 3000)  # the whole image first: reused when it is the answer
    if chosen != finest:  # the grid shows the objects at object_px
        assert side * 320 / _longest_tile(4000, 3000, chosen) >= object_px


@pytest.mark.parametrize("w, h", [(4000, 3000), (3000, 4000), (6000, 1000), (1600, 1200)])
@pytest.mark.parametrize("side, object_px", [(40, 16.0), (90, 40.0), (30, 16.0), (120, 40.0), (250, 16.0),
                                             (500, 40.0)])
def test_auto_never_runs_more_tiles_than_its_finest_grid(w, h, side, object_px):
    """Objects measured too small for the finest grid (tiles the size the model learned on) to show them at
    object_px get the finest grid, never more tiles; larger ones get the grid that shows them."""
    finest = auto_grid(w, h, 640)
    shelf = _Shelf(side, width=w, height=h)
    chosen, _ = choose(w, h, shelf, size=320, object_px=object_px, finest=finest)
    assert chosen[0] <= finest[0] and chosen[1] <= finest[1], (chosen, finest)
    wanted = grid_for(w, h, side, size=320, object_px=object_px)
    if chosen != finest:  # measured: the grid that shows them, within the finest
        assert chosen == (min(wanted[0], finest[0]), min(wanted[1], finest[1]))
    if (w, h, side) in ((4000, 3000, 40), (4000, 3000, 90), (3000, 4000, 90)):  # the table holds the case that matters:
        assert side * 320 * 4 / max(w, h) >= TRUST * object_px  # the 4x zoom measures them ...
        assert wanted[0] * wanted[1] > finest[0] * finest[1]  # ... and showing them at object_px takes more tiles


def test_auto_tiles_of_a_photo_of_small_objects_stop_at_the_finest_grid(tiny_deck, mosaic):
    """Through Detector: a deck that wants its objects larger than this photo's tiles could ever show them runs the
    finest grid (tiles of tile_px), not the finer one its measurement asks for."""
    image = mosaic[0]
    h, w = image.shape[:2]
    det = Detector(tiny_deck / "model-fp32.onnx", threads=1, tile_px=max(w, h) // 2, min_object_px=300.0)
    finest = auto_grid(w, h, det.tile_px)
    found = det.detect(image, tiles="auto")
    assert max(finest) > 1 and found.tiles == finest, (found.tiles, finest)


def test_auto_measures_objects_whole_not_the_pieces_a_zoom_cuts():
    """Objects of 400 px, unseen in the whole image (32 px at the network, under ``visible``): the 2x zoom measures
    them, and cuts most of them at its borders. The pieces are left out, so the grid is the one for their true
    size (with the pieces, their median is smaller and the grid finer)."""
    shelf = _Shelf(400, visible=33)
    chosen, _ = choose(4000, 3000, shelf, size=320, object_px=40.0, finest=(8, 8))
    assert len(shelf.runs) == 2
    assert chosen == grid_for(4000, 3000, 400, size=320, object_px=40.0)
    pieces = shelf(shelf.runs[1])[1]
    assert np.median(np.sqrt(np.prod(pieces[:, 2:] - pieces[:, :2], axis=1))) < 0.9 * 400  # the test can fail


def test_auto_with_nothing_found_or_unsure_boxes_only_takes_the_finest_grid():
    """Nothing seen, boxes under SURE, or boxes the model is unsure of (a median score under CONFIDENT: what it
    draws around clusters of objects too small to see) measure nothing: the finest grid."""
    for shelf in (_Shelf(300, visible=1e9), _Shelf(300, score=SURE / 2), _Shelf(300, score=(SURE + CONFIDENT) / 2)):
        chosen, ran = choose(4000, 3000, shelf, size=320, object_px=16.0, finest=(4, 6))
        assert chosen == (4, 6) and len(ran) == 3  # the whole image, 2x, 4x; an 8x zoom would be finer than 4 x 6
    assert 0 < TRUST < 1


@pytest.fixture(scope="module")
def mosaic(tiny_data) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Four test shelves side by side (2 x 2): a large dense image whose parts the model knows, its parts,
    and its labelled boxes in mosaic pixels."""
    root = Path(tiny_data).parent
    paths = sorted((root / "images" / "test").iterdir())[:4]
    parts = [load_image(p) for p in paths]
    side = min(min(p.shape[:2]) for p in parts)
    assert all(p.shape[:2] == (side, side) for p in parts)  # synth-shelves test images are square
    truth = []
    for k, path in enumerate(paths):
        rows = np.loadtxt(root / "labels" / "test" / f"{path.stem}.txt", ndmin=2)[:, 1:] * side
        dx, dy = (k % 2) * side, (k // 2) * side
        truth.append(np.c_[rows[:, :2] - rows[:, 2:] / 2, rows[:, :2] + rows[:, 2:] / 2] + [dx, dy, dx, dy])
    return np.vstack([np.hstack(parts[:2]), np.hstack(parts[2:])]), parts, np.vstack(truth)


def _found(xyxy: np.ndarray, truth: np.ndarray) -> int:
    """Labelled objects matched (IoU >= 0.5) by at least one box."""
    return int((box_iou(truth, xyxy) >= 0.5).any(axis=1).sum()) if len(xyxy) else 0


def test_a_tiled_large_image_finds_what_its_parts_find(tiny_deck, mosaic):
    """Scored against the labels, not against raw box counts (which move with how well a model trained)."""
    image, parts, truth = mosaic
    det = Detector(tiny_deck / "model-fp32.onnx", threads=2)
    side = parts[0].shape[0]
    offsets = [np.array([(k % 2) * side, (k // 2) * side] * 2, np.float32) for k in range(4)]
    separately = np.vstack([det.detect(p).xyxy + o for p, o in zip(parts, offsets, strict=True)])
    whole = det.detect(image)
    tiled = det.detect(image, tiles=(2, 2), overlap=0.2)
    found_parts, found_tiled, found_whole = (_found(b, truth) for b in (separately, tiled.xyxy, whole.xyxy))
    counts = dict(objects=len(truth), parts=found_parts, tiled=found_tiled, whole=found_whole)
    assert found_parts > len(truth) // 2, counts  # a model that sees the objects at their own scale
    assert found_tiled >= 0.9 * found_parts and found_tiled > found_whole, counts
    # No object twice: within a tile NMS leaves no pair above IoU 0.7, so a pair above 0.75 is one object seen
    # by two tiles (measured: 0 such pairs with the merge on both seeds' models, 5 and 7 with it switched off).
    iou = np.triu(box_iou(tiled.xyxy, tiled.xyxy), k=1)
    assert (iou > 0.75).sum() <= 1, np.sort(iou[iou > 0.6])
    assert tiled.image_size == (image.shape[1], image.shape[0])
    assert len(det.detect(image, tiles="auto")) == len(whole)  # by default tiles are 2 x 256 px: no tiling
    auto = Detector(tiny_deck / "model-fp32.onnx", threads=2, tile_px=256).detect(image, tiles="auto")  # trained on 256
    assert abs(len(auto) - len(tiled)) <= max(3, len(tiled) // 10)
    with pytest.raises(ValueError, match="tiles must be"):
        det.detect(image, tiles=(0, 2))


@pytest.mark.parametrize("name, backend", [("model-fp32.onnx", None), ("model-int8.tflite", None),
                                           ("model-fp32.onnx", "openvino")])
def test_tiles_run_side_by_side_give_what_one_by_one_gives(tiny_deck, mosaic, name, backend):
    """With two threads, tiles run on two one-thread copies of the model at once (each its own TFLite interpreter,
    which runs one call at a time); with one, one after another on the detector's own session: the same boxes."""
    image = mosaic[0]
    side_by_side = Detector(tiny_deck / name, backend=backend, threads=2)
    one_by_one = Detector(tiny_deck / name, backend=backend, threads=1)
    a, b = (d.detect(image, tiles=(3, 3), conf=0.1) for d in (side_by_side, one_by_one))
    assert side_by_side._copies is not None and one_by_one._copies is None  # the two paths ran
    assert len(a) == len(b) > 20
    order_a, order_b = np.lexsort(a.xyxy.T[::-1]), np.lexsort(b.xyxy.T[::-1])
    np.testing.assert_allclose(a.xyxy[order_a], b.xyxy[order_b], atol=0.05)
    np.testing.assert_allclose(a.confidence[order_a], b.confidence[order_b], atol=1e-3)


def test_auto_runs_large_objects_whole_and_tiles_small_ones_to_the_size_the_deck_measured(tiny_deck, tiny_data):
    """Images made from the test split at sizes the deck's own measurement decides: its objects at the size the
    deck's curve peaks at, at least ``min_px`` (enlarged to 768 px: tiles of the training images' size would be
    3 x 3), and at most half of ``min_px`` (a k x k mosaic of test images). The first runs whole, once, as with no
    tiles; the second is tiled on a grid that shows its labelled objects at about ``min_px``, and finds what its
    parts find."""
    import cv2

    from hub.deck.manifest import Manifest
    from training.data.layout import read_data_yaml, split_images
    from training.evaluate import GroundTruth
    from training.scale import view

    manifest = Manifest.read(tiny_deck)
    objects, size = manifest.objects, manifest.imgsz
    gt = GroundTruth.load(split_images(read_data_yaml(tiny_data), "test"))
    det = Detector(tiny_deck / "model-fp32.onnx", threads=2, imgsz=size, tile_px=256, min_object_px=objects.min_px)

    calls = []
    model_run = det._session.run
    det._session.run = lambda blob: calls.append(1) or model_run(blob)  # counts the model's calls

    best = max(objects.curve, key=lambda p: p.map50_95)
    assert best.object_px >= objects.min_px
    zoomed = view(gt, best.object_px / objects.median_px)
    big = cv2.resize(zoomed.arrays[0], (768, 768 * zoomed.arrays[0].shape[0] // zoomed.arrays[0].shape[1]))
    auto = det.detect(big, tiles="auto")
    assert len(calls) == 1  # the whole image, no zoom
    whole = det.detect(big)
    assert auto.tiles == (1, 1) and len(auto) == len(whole) > 0
    np.testing.assert_allclose(auto.xyxy, whole.xyxy)

    k = max(2, int(np.ceil(2 * objects.median_px / objects.min_px)))
    side = gt.arrays[0].shape[0]
    cells = [gt.arrays[i % len(gt.arrays)] for i in range(k * k)]
    mosaic = np.vstack([np.hstack(cells[r * k:(r + 1) * k]) for r in range(k)])
    truth = np.vstack([gt.labels[i % len(gt.labels)][:, 1:] + [(i % k) * side, (i // k) * side] * 2
                       for i in range(k * k)])
    tiled = det.detect(mosaic, tiles="auto")
    assert tiled.tiles != (1, 1)
    true_side = np.median(np.sqrt(np.prod(truth[:, 2:] - truth[:, :2], axis=1)))
    longest = max(max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in grid(*mosaic.shape[1::-1], *tiled.tiles))
    finest = auto_grid(*mosaic.shape[1::-1], 256)
    assert true_side * size / longest >= 0.8 * objects.min_px or tiled.tiles == finest
    separately = np.vstack([det.detect(c).xyxy + [(i % k) * side, (i // k) * side] * 2 for i, c in enumerate(cells)])
    assert _found(tiled.xyxy, truth) >= 0.9 * _found(separately, truth) > 0


@pytest.mark.parametrize("text,want", [("off", None), (None, None), ("", None), ("auto", "auto"), ("AUTO", "auto"),
                                       ("2x3", (2, 3)), ("1x1", (1, 1)), ("8x8", (8, 8))])
def test_tiles_are_read_from_their_text(text, want):
    from hub.runtime.tiles import parse_tiles

    assert parse_tiles(text) == want


@pytest.mark.parametrize("text", ["2x", "x3", "0x2", "9x1", "2*3", "two", "2x3x4", "-1x2"])
def test_tiles_text_that_is_not_a_grid_is_refused_by_name(text):
    from hub.runtime.tiles import parse_tiles

    with pytest.raises(ValueError, match="use off, auto or RxC"):
        parse_tiles(text)
