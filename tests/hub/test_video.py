"""Video: the CLI on a generated clip with known identities, tracking and counting on it, bad files."""

from __future__ import annotations

import csv
import functools
import http.server
import json
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from hub.base.errors import InvalidVideoError
from hub.runtime import Detections, Detector
from hub.video import LineCounter, Tracker, process_video, read_frames, video_info
from tests.helpers.apps import CHROMIUM
from tests.helpers.service import service_env

LINE = "128,0,128,256"


@pytest.fixture(scope="module")
def pan(tmp_path_factory) -> Path:
    from training.data.synth_pan import generate

    return generate(tmp_path_factory.mktemp("pan"), shelf_width=512)


def _truth(pan: Path) -> dict[int, list[tuple[int, int, list[float]]]]:
    by_frame: dict[int, list] = {}
    for r in csv.DictReader(open(pan.parent / "truth.csv")):
        by_frame.setdefault(int(r["frame"]), []).append((int(r["id"]), int(r["class"]),
                                                         [float(r[k]) for k in ("x1", "y1", "x2", "y2")]))
    return by_frame


def test_tracking_and_the_line_count_are_exact_on_true_boxes(pan):
    """The clip's own boxes as detections: ByteTrack keeps one id per product, the line counts each once."""
    meta = json.loads((pan.parent / "meta.json").read_text())
    truth, tracker, line = _truth(pan), Tracker(fps=meta["fps"]), LineCounter((128, 0), (128, 256))
    owner: dict[int, set[int]] = {}
    for f in range(meta["frames"]):
        rows = truth.get(f, [])
        d = Detections(np.array([b for _, _, b in rows], np.float32).reshape(-1, 4),
                       np.full(len(rows), 0.9, np.float32), np.array([c for _, c, _ in rows], np.int64), ["product"],
                       {}, (256, 256))
        tracked = tracker.update(d)
        line.update(tracked)
        for box, tid in zip(tracked.xyxy, tracked.tracker_id.tolist(), strict=True):
            pid = next(p for p, _, b in rows if np.allclose(b, box, atol=2.0))
            owner.setdefault(tid, set()).add(pid)
    assert all(len(pids) == 1 for pids in owner.values())  # no id ever jumped to another product
    assert line.counts(["product"]) == {"in": {"product": 0}, "out": {"product": meta["products"]}}


@pytest.mark.parametrize("same_object_iou", [0.7, None])
def test_an_object_seen_as_two_classes_is_tracked_and_counted_once(pan, same_object_iou):
    """What a product-and-empty deck gives on a product: its product box, and a weaker ``empty`` box on top of
    it (0.2-0.45), the product box missed every fourth frame. One track per product, each counted once as a
    product (a track's class is its boxes' vote); tracking every box (None) lets two tracks follow a product.
    Found on the demo's product-and-empty weights: a product counted twice by two tracks trading its boxes."""
    meta = json.loads((pan.parent / "meta.json").read_text())
    truth, rng = _truth(pan), np.random.default_rng(5)
    tracker = Tracker(fps=meta["fps"], same_object_iou=same_object_iou)
    line = LineCounter((128, 0), (128, 256), min_score=[0.5, 0.5])
    per_frame = []
    for f in range(meta["frames"]):
        boxes, scores, classes = [], [], []
        for pid, _, b in truth.get(f, []):
            if (f + pid) % 4:
                boxes.append(b), scores.append(0.9), classes.append(0)
            boxes.append(np.add(b, rng.uniform(-1, 1, 4))), scores.append(rng.uniform(0.2, 0.45)), classes.append(1)
        d = Detections(np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32),
                       np.array(classes, np.int64), ["product", "empty"], {}, (256, 256))
        tracked = tracker.update(d)
        line.update(tracked)
        per_frame.append(len(tracked) <= len(truth.get(f, [])))
    exact = {"in": {"product": 0, "empty": 0}, "out": {"product": meta["products"], "empty": 0}}
    if same_object_iou is None:  # two tracks on a product in some frames, and the count is off
        assert not all(per_frame) and line.counts(["product", "empty"]) != exact
    else:
        assert all(per_frame) and line.counts(["product", "empty"]) == exact


def test_the_cli_writes_a_playable_annotated_video_and_per_frame_counts(pan, demo_hub, state_dir, tmp_path):
    root, repo = demo_hub
    out, table = tmp_path / "out.mp4", tmp_path / "counts.csv"
    run = subprocess.run([sys.executable, "-m", "apps.video", str(pan), "--repo", repo, "--variant", "onnx-fp32",
                          "--line", LINE, "--zone", "0,0,128,0,128,256,0,256", "--out", str(out), "--csv", str(table)],
                         env=service_env(root, state_dir / "service-cache"), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    meta = json.loads((pan.parent / "meta.json").read_text())
    written = video_info(out)
    assert (written.width, written.height, written.fps, written.codec) == (256, 256, meta["fps"], "h264")
    assert sum(1 for _ in read_frames(out)) == meta["frames"]
    rows = list(csv.DictReader(open(table)))
    assert len(rows) == meta["frames"] and float(rows[-1]["time_s"]) == pytest.approx((meta["frames"] - 1) / 15, abs=1e-3)
    counted = int(rows[-1]["line1_out_product"])
    assert f"out {{'product': {counted}}}" in run.stdout
    # a detector trained for a minute misses and doubles some boxes: the count is near the truth, not exact
    # (exactness is the counter's, tested above on true boxes); seen here: 44 of 48 out and 1 false in on the
    # seed-0 model, 35 of 48 and 5 false ins (the tracker swapping neighbours' ids) on a weaker seed-2 model
    assert meta["products"] // 2 <= counted <= meta["products"] + 3, (counted, meta["products"])
    assert int(rows[-1]["line1_in_product"]) < counted / 2  # everything moves right to left (seen: 11 false ins
    # on a seed-1 model, where the tracker swaps ids between neighbours its weak boxes merge)
    assert int(rows[-1]["zone1_entered_product"]) >= counted - 2
    assert "frame/s" in run.stderr  # the progress bar
    assert not list(tmp_path.glob(".*part*"))


def test_the_cli_counts_every_crossing_exactly_with_the_demo_model(demo_weights_hub, state_dir, tmp_path):
    """The benchmark's clip (640 x 480, 131 products, each crossing once, right to left), through the CLI with the
    demo's weights: the CSV's final count is the truth, and nothing crosses the other way."""
    from training.data.synth_pan import generate

    clip = generate(tmp_path / "pan", width=640, height=480, shelf_width=1280, step=10, rows=(3, 5),
                    product_width=(0.0125, 0.03))
    meta = json.loads((clip.parent / "meta.json").read_text())
    root, repo = demo_weights_hub
    table = tmp_path / "counts.csv"
    run = subprocess.run([sys.executable, "-m", "apps.video", str(clip), "--repo", repo, "--variant", "onnx-fp32",
                          "--line", "320,0,320,480", "--out", str(tmp_path / "out.mp4"), "--csv", str(table)],
                         env=service_env(root, state_dir / "service-cache"), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    last = list(csv.DictReader(open(table)))[-1]
    assert (int(last["line1_out_product"]), int(last["line1_in_product"])) == (meta["products"], 0), last


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_the_annotated_video_plays_in_chromium(pan, tiny_deck, tmp_path):
    from playwright.sync_api import sync_playwright

    from tests.helpers.apps import launch_browser

    out = tmp_path / "out.mp4"
    process_video(pan, Detector(tiny_deck / "model-fp32.onnx", threads=2), lines=[((128, 0), (128, 256))], out=out,
                  progress=False, max_frames=45)
    (tmp_path / "play.html").write_text('<video id=v muted playsinline src="out.mp4"></video>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with sync_playwright() as p:
            browser, context = launch_browser(p)
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/play.html")
            page.wait_for_function("v.readyState >= 2 || v.error", timeout=20000)
            state = page.evaluate("[v.readyState, v.error && v.error.code, v.videoWidth, v.duration]")
            page.evaluate("v.play()")
            page.wait_for_function("v.currentTime > 0.5", timeout=10000)
            browser.close()
        server.shutdown()
    assert state[0] >= 2 and state[1] is None and state[2] == 256 and state[3] == pytest.approx(3.0, abs=0.1)


def test_bad_videos_get_a_clear_message_and_nothing_is_written(pan, tiny_deck, tmp_path):
    det = Detector(tiny_deck / "model-fp32.onnx", threads=2)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 50)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(pan.read_bytes()[: pan.stat().st_size // 2])
    image = tmp_path / "still.png"
    from PIL import Image

    Image.new("RGB", (64, 64)).save(image)
    import av

    hollow = tmp_path / "hollow.mp4"  # a valid container with a video stream and no frames
    with av.open(str(hollow), "w") as container:
        stream = container.add_stream("libx264", rate=15)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        container.start_encoding()
    cases = [(text, "not a video"), (empty, "empty"), (tmp_path / "missing.mp4", "does not exist"),
             (cut, "truncated"), (image, "still image"), (hollow, "no video stream|no decodable frames")]
    out, table = tmp_path / "o.mp4", tmp_path / "o.csv"
    for path, words in cases:
        with pytest.raises(InvalidVideoError, match=words):
            process_video(path, det, out=out, csv=table, progress=False)
        assert not out.exists() and not table.exists(), path
    with pytest.raises(ValueError, match=r"outside the 256x256 frame"):
        process_video(pan, det, lines=[((10, 10), (400, 10))], out=out, progress=False)
    with pytest.raises(InvalidVideoError, match="browsers play"):
        process_video(pan, det, out=tmp_path / "o.gif", progress=False)
    assert not out.exists() and not list(tmp_path.glob(".*part*"))
    run = subprocess.run([sys.executable, "-m", "apps.video", str(text), "--repo", "x/y", "--line", "1,2,3"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--line needs 4 numbers" in run.stderr


def test_camera_motion_follows_a_pan_and_holds_still_for_a_fixed_camera(pan):
    """The pan's own frames (6 px a frame to the right, so the picture moves left): the measured offset is the
    truth within a pixel wherever the shelf fills the frame; a still shelf with an object crossing it: none."""
    from hub.video.motion import CameraMotion

    meta = json.loads((pan.parent / "meta.json").read_text())
    motion, offsets = CameraMotion(), []
    for frame in read_frames(pan):
        offsets.append(motion.update(frame))
    offsets = np.array(offsets)
    steps = np.diff(offsets[:, 0])
    inside = slice(256 // 6 + 1, 512 // 6 - 1)  # frames whose window lies on the shelf
    assert np.allclose(steps[inside], -meta["step"], atol=1.0), steps[inside]
    assert np.abs(offsets[:, 1]).max() < 2.0
    still = list(read_frames(pan))[meta["frames"] // 2]
    motion = CameraMotion()
    for x in range(0, 200, 10):  # a grey block crossing the still picture
        frame = still.copy()
        frame[100:160, x:x + 50] = 128
        offset = motion.update(frame)
    assert not offset.any(), offset


@pytest.mark.parametrize("step", [3, 6, 12])
def test_counts_hold_on_pans_of_every_speed(demo_weights_hub, state_dir, tmp_path, step):
    """The demo weights on dense shelves panned at 3, 6 and 12 px a frame (products 8-38 px wide): the count is
    within 3% of the truth and nothing is counted the wrong way. Before the camera was followed and weak tracks
    were held back, 12 px a frame counted a sixth of its products in the wrong direction and slow pans 10% over
    (`make bench-video` prints the table, with Ultralytics' ByteTrack and BoT-SORT beside)."""
    import hub
    from training.data.synth_pan import generate

    clip = generate(tmp_path / "pan", width=640, height=480, shelf_width=1280, step=step, rows=(3, 5),
                    product_width=(0.0125, 0.03), fps=30, seed=3)
    truth = json.loads((clip.parent / "meta.json").read_text())["products"]
    root, repo = demo_weights_hub
    detector = hub.load(repo, variant="onnx-fp32", endpoint=str(root), threads=2)
    assert detector.thresholds  # "best" is the deck's own threshold, not the 0.25 fallback
    report = process_video(clip, detector, lines=[((320, 0), (320, 480))], conf="best", progress=False)
    out, inn = report.lines[0]["out"]["product"], report.lines[0]["in"]["product"]
    assert inn == 0 and abs(out - truth) <= 0.03 * truth, (out, inn, truth)
