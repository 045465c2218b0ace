"""`make bench-video`: end-to-end frames/s (decode, detect, track, count, annotate, encode) on a synthetic pan
with known identities, ours against Ultralytics' ObjectCounter (its model.track + ByteTrack + counting + plot,
written with OpenCV) on the same file and variant, in one run; MOTA / IDF1 / ID switches by motmetrics and
the line count against the true number of crossings. Then the counts alone on pans of several speeds
(``--steps``, px a frame, two shelves each): ours as shipped, ours as before (conf 0.25, the camera not
followed), and Ultralytics' ObjectCounter with ByteTrack and with BoT-SORT.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np

import hub.base.offline

hub.base.offline.configure()


def _truth(folder: Path) -> dict[int, list[tuple[int, list[float]]]]:
    out: dict[int, list] = {}
    for r in csv.DictReader(open(folder / "truth.csv")):
        out.setdefault(int(r["frame"]), []).append((int(r["id"]), [float(r[k]) for k in ("x1", "y1", "x2", "y2")]))
    return out


def _distance(g: np.ndarray, h: np.ndarray, max_iou: float = 0.5) -> np.ndarray:
    """1 - IoU, NaN past ``max_iou`` (motmetrics' convention; its own iou_matrix uses np.asfarray, gone in NumPy 2)."""
    if not len(g) or not len(h):
        return np.empty((len(g), len(h)))
    tl, br = np.maximum(g[:, None, :2], h[None, :, :2]), np.minimum(g[:, None, 2:], h[None, :, 2:])
    inter = np.clip(br - tl, 0, None).prod(-1)
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    d = 1 - inter / (area(g)[:, None] + area(h)[None, :] - inter)
    d[d > max_iou] = np.nan
    return d


def _score(truth: dict, hyp: dict[int, tuple[np.ndarray, np.ndarray]], frames: int) -> dict[str, float]:
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for f in range(frames):
        gt = truth.get(f, [])
        ids, boxes = hyp.get(f, (np.zeros(0, int), np.zeros((0, 4))))
        g = np.array([b for _, b in gt]).reshape(-1, 4)
        h = np.asarray(boxes, float).reshape(-1, 4)
        dist = _distance(g, h)
        acc.update([i for i, _ in gt], list(ids), dist)
    m = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches"], name="x")
    return {k: float(m[k].iloc[0]) for k in ("mota", "idf1", "num_switches")}


# the clips' truth is their products; the demo deck also detects the shelves' gaps (`empty`), which cross the line
# too and are not products: both pipelines' counts of this class are compared with the truth
COUNTED = "product"


def ultralytics_counter(clip: Path, model_path: Path, imgsz: int, line, out: Path | None,
                        tracker: str = "bytetrack.yaml") -> dict:
    import cv2
    from ultralytics import solutions

    counter = solutions.ObjectCounter(show=False, region=[tuple(line[0]), tuple(line[1])], model=str(model_path),
                                      tracker=tracker, conf=0.25, imgsz=imgsz, verbose=False)
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h)) if out else None
    hyp, n, start, result = {}, 0, time.perf_counter(), None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        result = counter(frame)
        if writer:
            writer.write(result.plot_im)
        if counter.track_ids:
            hyp[n] = (np.array(counter.track_ids), counter.boxes.cpu().numpy() if hasattr(counter.boxes, "cpu")
                      else np.asarray(counter.boxes))
        n += 1
    seconds = time.perf_counter() - start
    if writer:
        writer.release()
    counted = counter.classwise_count.get(COUNTED, {"IN": 0, "OUT": 0})  # the truth counts products (see COUNTED)
    return {"frames": n, "fps": n / seconds, "in": counted["IN"], "out": counted["OUT"], "hyp": hyp}


def pans(detector, tmp: Path, steps: list[int], seeds: tuple[int, ...] = (3, 4)) -> None:
    """The count on pans of each speed: in and out against the truth (every product crosses right to left)."""
    from hub.video import process_video
    from training.data.synth_pan import generate

    line = ((320, 0), (320, 480))
    runs = {"ours (conf best, camera followed)": dict(conf="best"),
            "ours before (conf 0.25, camera fixed)": dict(conf=0.25, moving_camera=False),
            "Ultralytics ObjectCounter, ByteTrack": "bytetrack.yaml",
            "Ultralytics ObjectCounter, BoT-SORT": "botsort.yaml"}
    print(f"\ncounts on pans (conf best = {detector.thresholds or 'none in this deck: 0.25'}); "
          "each cell: out/in against the truth, error of out + in", flush=True)
    print(f"{'pipeline':40}" + "".join(f"{f'{s} px s{seed}':>19}" for s in steps for seed in seeds) + f"{'mean |err|':>11}")
    clips = {}
    for step in steps:
        for seed in seeds:
            clip = generate(tmp / f"pan-{step}-{seed}", width=640, height=480, shelf_width=1280, step=step,
                            rows=(3, 5), product_width=(0.0125, 0.03), fps=30, seed=seed)
            clips[step, seed] = (clip, json.loads((clip.parent / "meta.json").read_text())["products"])
    for name, how in runs.items():
        cells, errors = [], []
        for (clip, truth) in clips.values():
            if isinstance(how, dict):
                report = process_video(clip, detector, lines=[line], progress=False, **how)
                out, inn = report.lines[0]["out"][COUNTED], report.lines[0]["in"][COUNTED]
            else:
                r = ultralytics_counter(clip, detector.path, detector.imgsz, line, None, tracker=how)
                out, inn = r["out"], r["in"]
            errors.append((out + inn - truth) / truth)
            cells.append(f"{out}/{inn} of {truth} {100 * errors[-1]:+.1f}%")
        print(f"{name:40}" + "".join(f"{c:>19}" for c in cells) + f"{100 * np.mean(np.abs(errors)):10.1f}%", flush=True)


def main(argv: list[str] | None = None) -> int:
    import hub
    from hub.deck.probe import cpu
    from hub.video import process_video
    from training.data.synth_pan import generate
    from training.demo import DEMO_REPO, ensure_demo_deck

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", help="default: the fastest accurate variant measured here")
    parser.add_argument("--steps", default="2,6,12", help="pan speeds for the count table, px a frame")
    parser.add_argument("--only-pans", action="store_true", help="the count table only")
    args = parser.parse_args(argv)
    ensure_demo_deck()
    detector = hub.load(DEMO_REPO, variant=args.variant, threads=2)
    tmp = Path(tempfile.mkdtemp(prefix="yolodeck-bench-video-"))
    if args.only_pans:
        print(f"cpu: {cpu()}; variant: {detector.path.name} ({detector.backend})", flush=True)
        pans(detector, tmp, [int(s) for s in args.steps.split(",")])
        return 0
    clip = generate(tmp / "pan", width=640, height=480, shelf_width=1280, step=10, rows=(3, 5),
                    product_width=(0.0125, 0.03))
    meta = json.loads((tmp / "pan" / "meta.json").read_text())
    truth = _truth(tmp / "pan")
    line = ((320, 0), (320, 480))
    print(f"cpu: {cpu()}; clip: {meta['frames']} frames 640x480 at {meta['fps']:g} fps, {meta['products']} products "
          f"(each crosses the line once); variant: {detector.path.name} ({detector.backend})", flush=True)
    hyp: dict[int, tuple] = {}
    report = process_video(clip, detector, lines=[line], out=tmp / "ours.mp4", csv=tmp / "ours.csv", progress=False,
                           on_frame=lambda i, t: hyp.__setitem__(i, (t.tracker_id.copy(), t.xyxy.copy())))
    ours = {"fps": report.frames_per_second, "in": report.lines[0]["in"][COUNTED],
            "out": report.lines[0]["out"][COUNTED], **_score(truth, hyp, meta["frames"])}
    theirs = ultralytics_counter(clip, detector.path, detector.imgsz, line, tmp / "ultralytics.mp4")
    theirs.update(_score(truth, theirs.pop("hyp"), meta["frames"]))
    print(f"\n{'pipeline':44} {'frames/s':>8} {'in':>4} {'out':>4} {'true':>5} {'MOTA':>6} {'IDF1':>6} {'IDsw':>5}")
    for name, r in (("yolodeck (hub.video, PyAV, ByteTrack)", ours),
                    ("Ultralytics ObjectCounter + cv2 writer", theirs)):
        print(f"{name:44} {r['fps']:8.1f} {r['in']:4d} {r['out']:4d} {meta['products']:5d} {r['mota']:6.3f} "
              f"{r['idf1']:6.3f} {int(r['num_switches']):5d}")
    print(f"\nframes/s: ours / Ultralytics = {ours['fps'] / theirs['fps']:.2f}x; files in {tmp}")
    pans(detector, tmp, [int(s) for s in args.steps.split(",")])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
