"""Evaluate one variant through ``hub.runtime`` (what users run): COCO metrics and latency.

mAP comes from COCOeval (faster-coco-eval's, the same numbers as pycocotools' in C++; maxDets raised
for dense shelves); precision, recall and F1 are read at the confidence where the class-mean F1 peaks
(Ultralytics' convention), from COCOeval's own IoU-0.5 matches. Latency is the warm median and p90 of the
end-to-end ``detect()`` on decoded images, batch 1, with a fixed thread count, read from the
quietest block of calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hub.base.timing import blocks_in_turn, quietest, spread
from hub.deck.manifest import Latency, Metrics
from hub.deck.probe import cpu
from hub.runtime import Detector, load_image
from training.data.layout import read_labels

EVAL_CONF = 0.001  # as Ultralytics' val: the whole PR curve
EVAL_IOU = 0.7
EVAL_MAX_DET = 1000
LATENCY_BLOCK = 10  # calls in one timed block of measure_latencies


@dataclass
class GroundTruth:
    images: list[Path]
    arrays: list[np.ndarray]
    labels: list[np.ndarray]  # (N, 5): class, x1, y1, x2, y2
    crowd: list[np.ndarray] | None = None  # per label: cut by the view's edge, neither found nor missed (COCO's iscrowd)

    @classmethod
    def load(cls, images: list[Path]) -> GroundTruth:
        arrays = [load_image(p) for p in images]
        labels = [read_labels(p, a.shape[1], a.shape[0]) for p, a in zip(images, arrays, strict=True)]
        return cls(images, arrays, labels)


def coco_dataset(gt: GroundTruth, predictions: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 names: list[str]) -> tuple[dict, list[dict]]:
    """The split as a COCO dataset (image ids 0.., labels as annotations, cut ones as crowd) and the predictions
    as COCO results, in image order: what any COCOeval reads."""
    images, annotations, results = [], [], []
    for i, (arr, lab) in enumerate(zip(gt.arrays, gt.labels, strict=True)):
        images.append({"id": i, "width": int(arr.shape[1]), "height": int(arr.shape[0])})
        crowd = gt.crowd[i].tolist() if gt.crowd is not None else [False] * len(lab)
        for (cls, x1, y1, x2, y2), cut in zip(lab.tolist(), crowd, strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": int(cls),
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "area": (x2 - x1) * (y2 - y1), "iscrowd": int(cut)})
    for i, (xyxy, scores, cls) in enumerate(predictions):
        for (x1, y1, x2, y2), s, c in zip(xyxy.tolist(), scores.tolist(), cls.tolist(), strict=True):
            results.append({"image_id": i, "category_id": int(c), "bbox": [x1, y1, x2 - x1, y2 - y1], "score": s})
    categories = [{"id": k, "name": n} for k, n in enumerate(names)]
    return {"images": images, "annotations": annotations, "categories": categories}, results


def coco_metrics(gt: GroundTruth, predictions: list[tuple[np.ndarray, np.ndarray, np.ndarray]], names: list[str],
                 *, max_det: int = EVAL_MAX_DET) -> Metrics:
    """Metrics of predictions (xyxy, scores, class ids) per image, from faster-coco-eval's COCOeval.

    faster-coco-eval runs pycocotools' matching and accumulation in C++ with the same results (the tests hold
    every figure to pycocotools' within 1e-4) at about a fiftieth of the time: pycocotools' Python matching cost
    30 times the model call on a 150-object shelf. Its ``matched`` holds the per-detection matches that the F1
    point needs only when one IoU threshold is evaluated (with ten it mixes thresholds: the tests caught it), so
    a second, cheaper pass at IoU 0.5 gives them.
    """
    from faster_coco_eval import COCO, COCOeval_faster

    dataset, results = coco_dataset(gt, predictions, names)
    truth = COCO()
    truth.dataset = dataset
    truth.createIndex()
    found = truth.loadRes(results) if results else _no_results(COCO, dataset)
    passes = []
    for thresholds, matches in ((None, False), (np.array([0.5]), True)):
        ev = COCOeval_faster(truth, found, "bbox", print_function=_silent, extra_calc=matches)
        ev.params.maxDets = [max_det]  # the figures read area 'all' at the largest maxDet only: a quarter of the work
        ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
        if thresholds is not None:
            ev.params.iouThrs = thresholds
        ev.evaluate()
        ev.accumulate()
        passes.append(ev)
    ev, at50 = passes
    present = [k for k in range(len(names)) if any((lab[:, 0] == k).any() for lab in gt.labels)]
    matches = _matches_at50(results, at50.eval.get("matched") or {}, dataset["annotations"], present, max_det)
    return metrics_from(ev.eval["precision"][:, :, :, 0, 0], matches, names, present)


def _silent(*_args, **_kwargs) -> None:
    pass


def _no_results(coco_type, dataset: dict):
    empty = coco_type()
    empty.dataset = {**dataset, "annotations": []}
    empty.createIndex()
    return empty


def _matches_at50(results: list[dict], matched: dict[str, float], annotations: list[dict], classes: list[int],
                  max_det: int) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per class (scores, is-true-positive, objects), pycocotools' IoU-0.5 evaluation at area 'all': detections
    ranked by score within each image (stable), the first ``max_det`` of each image and class, those matched to a
    crowd region (or unmatched with an area outside 'all', as a box of negative width) left out. ``matched`` maps "detection id_annotation id" (results are numbered from 1 in order)."""
    crowd = {a["id"] for a in annotations if a["iscrowd"]}
    hit = {int(d): int(g) for d, g in (key.split("_") for key in matched)}
    n = len(results)
    image = np.fromiter((r["image_id"] for r in results), np.int64, n)
    cls = np.fromiter((r["category_id"] for r in results), np.int64, n)
    score = np.fromiter((r["score"] for r in results), np.float64, n)
    area = np.fromiter((r["bbox"][2] * r["bbox"][3] for r in results), np.float64, n)
    out = []
    for k in classes:
        idx = np.flatnonzero(cls == k)
        idx = idx[np.lexsort((-score[idx], image[idx]))]  # by image, then score descending; ties in input order
        rank = np.arange(idx.size) - np.searchsorted(image[idx], image[idx])  # rank within its image
        idx = idx[rank < max_det]
        gt_of = np.array([hit.get(int(i) + 1, 0) for i in idx], np.int64)
        keep = np.array([g not in crowd for g in gt_of], bool)
        keep &= (gt_of > 0) | ((area[idx] >= 0) & (area[idx] <= 1e10))  # unmatched outside area 'all': ignored
        objects = sum(1 for a in annotations if a["category_id"] == k and not a["iscrowd"])
        out.append((score[idx][keep], gt_of[keep] > 0, objects))
    return out


def metrics_from(precision: np.ndarray, matches: list[tuple[np.ndarray, np.ndarray, int]], names: list[str],
                 present: list[int]) -> Metrics:
    """``Metrics`` from COCOeval's precision [T, R, K] (area 'all', the largest maxDet) and, per class present in
    the split, its IoU-0.5 matches (scores, true positive, objects)."""

    def ap(p: np.ndarray) -> float:
        p = p[p > -1]
        return float(p.mean()) if p.size else 0.0

    per_class = {names[k]: ap(precision[:, :, k]) for k in present}
    p, r, f1, conf = pr_at_best_f1(matches)
    at50 = np.where(precision[0][:, present] > -1, precision[0][:, present], 0.0)  # [R, K], recall 0..1 by 0.01
    curve = [round(float(x), 4) for x in at50.mean(axis=1)] if present else []
    return Metrics(precision=p, recall=r, f1=f1, map50=ap(precision[0][:, present]),
                   map50_95=ap(precision[:, :, present]), per_class=per_class, conf=conf, pr_curve=curve,
                   thresholds=best_thresholds(matches, names, present))


GRID = np.linspace(0, 1, 1000)  # confidence thresholds the P, R and F1 curves are read at
MIN_OBJECTS = 20  # a class with fewer test objects takes the class-mean F1's peak: its own curve is too coarse
SMOOTH = 0.05  # each class's F1 curve is averaged over this share of the confidence range before its peak is read


def pr_curves(matches: list[tuple[np.ndarray, np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per class, P and R as functions of the confidence threshold (rows: classes, columns: :data:`GRID`)."""
    ps, rs = [], []
    for s, tp, n_gt in matches:
        order = np.argsort(-s, kind="mergesort")
        s, tp = s[order], tp[order]
        ctp, cfp = np.cumsum(tp), np.cumsum(~tp)
        recall = ctp / max(n_gt, 1)
        prec = ctp / np.maximum(ctp + cfp, 1)
        # scores descending -> reversed for np.interp
        ps.append(np.interp(-GRID, -s, prec, left=1) if s.size else np.zeros_like(GRID))
        rs.append(np.interp(-GRID, -s, recall, left=0) if s.size else np.zeros_like(GRID))
    return np.array(ps).reshape(-1, GRID.size), np.array(rs).reshape(-1, GRID.size)


def _f1(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    return 2 * p * r / np.maximum(p + r, 1e-16)


def pr_at_best_f1(matches: list[tuple[np.ndarray, np.ndarray, int]]) -> tuple[float, float, float, float]:
    """Class-mean P, R, F1 at the confidence where the mean F1 peaks (Ultralytics' convention), from each class's
    IoU-0.5 matches (scores, true positive, objects)."""
    ps, rs = pr_curves(matches)
    if not len(ps):
        return 0.0, 0.0, 0.0, 0.0
    p, r = ps.mean(axis=0), rs.mean(axis=0)
    f1 = _f1(p, r)
    best = int(f1.argmax())
    return float(p[best]), float(r[best]), float(f1[best]), float(GRID[best])


def best_thresholds(matches: list[tuple[np.ndarray, np.ndarray, int]], names: list[str],
                    present: list[int]) -> dict[str, float]:
    """Per class present, the confidence where its own F1 peaks (smoothed over :data:`SMOOTH` of the range); a
    class with under :data:`MIN_OBJECTS` test objects takes the class-mean peak."""
    ps, rs = pr_curves(matches)
    if not len(ps):
        return {}
    shared = float(GRID[int(_f1(ps.mean(axis=0), rs.mean(axis=0)).argmax())])
    width = max(1, int(SMOOTH * GRID.size))
    kernel = np.ones(width) / width
    out = {}
    for k, p, r, (_, _, objects) in zip(present, ps, rs, matches, strict=True):
        if objects < MIN_OBJECTS:
            out[names[k]] = round(shared, 3)
            continue
        f1 = np.convolve(np.pad(_f1(p, r), width // 2, mode="edge"), kernel, mode="valid")[:GRID.size]
        out[names[k]] = round(float(GRID[int(f1.argmax())]), 3)
    return out


def measure_latencies(files: dict[str, tuple[Path, str]], arrays: list[np.ndarray], names: list[str], *, imgsz: int,
                      threads: int = 2, warmup: int = 5, rounds: int = 8, per_block: int = LATENCY_BLOCK
                      ) -> dict[str, Latency]:
    """Warm end-to-end ``detect()`` of every variant on decoded images, batch 1, compared at the same moments.

    Blocks of ``per_block`` calls, one variant after another, ``rounds`` times: a shared machine's slow
    spells then fall on every variant alike, so the ratios between variants hold (measured one after
    another, in separate processes, the same two files came out 1.2x and 1.7x apart). ``median`` is the
    median of a variant's quietest block; ``p90`` is over the calls of its quieter half of blocks (one
    noisy moment on a shared machine put 1.7 s in a card whose median was 45 ms); ``spread`` says how far
    its block medians ranged (largest / smallest), so a reader can tell when the machine was not quiet.
    """
    from training.quiet import captured

    with captured():  # the runtimes' load-time lines (TFLite's "Created ... delegate"), not the bar below
        detectors = {vid: Detector(path, backend=backend, names=names, imgsz=imgsz, threads=threads)
                     for vid, (path, backend) in files.items()}
    calls = {vid: (lambda i, det=det: det.detect(arrays[i % len(arrays)], conf=0.25)) for vid, det in detectors.items()}
    blocks = blocks_in_turn(calls, per_block=per_block, rounds=rounds, warmup=warmup,
                            progress=lambda r: tqdm(r, desc="latency: blocks in turn", unit="round", leave=False))
    out = {}
    for vid, runs in blocks.items():
        runs = sorted(runs, key=np.median)  # quietest first
        quiet = [t for run in runs[: max(1, len(runs) // 2)] for t in run]
        out[vid] = Latency(median=quietest(runs), p90=float(np.percentile(quiet, 90)), threads=threads,
                           imgsz=imgsz, cpu=cpu(), spread=spread(runs))
    return out


def evaluate_file(path: str | Path, test_images: list[Path], names: list[str], *, imgsz: int, threads: int = 2,
                  backend: str | None = None, progress: bool = True) -> Metrics:
    """COCO metrics of one variant file on the test images (run by ``backend``: default, the file's own)."""
    detector = Detector(path, backend=backend, names=names, imgsz=imgsz, threads=threads)
    return score(detector, GroundTruth.load(test_images), names, progress=progress)


def score(detector: Detector, gt: GroundTruth, names: list[str], *, conf: float = EVAL_CONF,
          progress: bool = False) -> Metrics:
    """COCO metrics of ``detector`` on every image of ``gt``, at the deck's evaluation IoU and max detections."""
    preds = []
    for arr in tqdm(gt.arrays, desc=f"eval {detector.path.name}", unit="img", disable=not progress, leave=False):
        d = detector.detect(arr, conf=conf, iou=EVAL_IOU, max_det=EVAL_MAX_DET)
        preds.append((d.xyxy, d.confidence, d.class_id))
    return coco_metrics(gt, preds, names)
