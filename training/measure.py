"""Measure a deck's variants side by side: each one's metrics (with where it misses gaps, for a deck that has an
``empty`` class: ``training.gaps``) and the fp32 reference's object-scale curve.

Every model call is cut into batches (``training.batches``) that run on one-thread detectors, one process per
core; each variant (and each zoom of the curve) is scored as soon as its last batch is in, while the others
run. The curve reuses the reference's own evaluation at zoom 1 and runs on a sample of a large split.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from hub.base import catalog
from hub.deck.manifest import Metrics, ObjectScale
from hub.runtime.shelf import EMPTY
from training.batches import Batch, Collected, Predictions, chunks, cores, run_local
from training.evaluate import coco_metrics
from training.gaps import gap_recall
from training.scale import SCALE_CONF, ZOOMS, object_scale, point, sample


@dataclass
class Measured:
    metrics: dict[str, Metrics] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # variant -> why its evaluation failed
    objects: ObjectScale | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # wall, model calls and scoring, by stage


def _views(zoom: float) -> int:
    return 1 if zoom <= 1 else math.ceil(zoom - 1e-9) ** 2


def measure_deck(files: dict[str, tuple[Path, str]], test: list[Path], names: list[str], *, imgsz: int,
                 object_scale_curve: bool = True, jobs: int | None = None, progress: bool = True,
                 workers: str | None = None) -> Measured:
    """Metrics of every variant in ``files`` (id -> (file, backend)) on ``test``, and the scale curve of the first
    of the catalog's references among them; ``jobs`` processes (default: one per core), or the deck workers on
    the Redis at ``workers`` (``training.remote``: ``jobs`` then sizes the batches only)."""
    jobs = jobs or cores()
    size = max(1, min(32, math.ceil(len(test) / (jobs * 2))))
    reference = next((vid for vid in catalog.REFERENCES if vid in files), None)
    scaled = sample(test) if object_scale_curve and reference else []
    zooms = [z for z in ZOOMS if z != 1.0]
    batches = [Batch(vid, str(path), backend, tuple(names), imgsz, images)
               for vid, (path, backend) in files.items() for images in chunks(test, size)]
    if scaled:
        path, backend = files[reference]
        batches += [Batch(f"scale@{z:g}", str(path), backend, tuple(names), imgsz, images, zoom=z, conf=SCALE_CONF)
                    for z in zooms for images in chunks(scaled, max(1, math.ceil(size / _views(z))))]
    order = [str(p) for p in test]
    out, collected = Measured(), Collected()
    seconds = dict.fromkeys(("inference", "metrics", "scale_inference", "scale_metrics"), 0.0)
    curve: dict[float, object] = {}
    total = sum(len(b.images) * _views(b.zoom) for b in batches)
    bar = tqdm(total=total, desc="deck: evaluate + scale", unit="call", disable=not progress)

    def done(result: Predictions) -> None:
        batch = result.batch
        bar.update(len(batch.images) * _views(batch.zoom))
        if result.error:
            out.failed.setdefault(batch.key, result.error)
            return
        collected.add(result)
        expected = len(scaled) if batch.key.startswith("scale@") else len(test)
        if not collected.complete(batch.key, expected):
            return
        gt, predictions, model_s = collected.joined(batch.key, order)
        t = time.perf_counter()
        if batch.zoom != 1.0:
            curve[batch.zoom] = point(gt, predictions, names, imgsz)
            seconds["scale_inference"] += model_s
            seconds["scale_metrics"] += time.perf_counter() - t
        else:
            metrics = coco_metrics(gt, predictions, names)
            metrics.gaps = gap_recall(gt, predictions, names, conf=metrics.thresholds.get(EMPTY, metrics.conf or 0.25))
            out.metrics[batch.key] = metrics
            seconds["inference"] += model_s
            seconds["metrics"] += time.perf_counter() - t

    start = time.perf_counter()
    if workers:
        from training.remote import run_remote

        run_remote(batches, done, url=workers)
    else:
        run_local(batches, done, jobs=jobs)
    bar.close()
    for vid in out.failed:
        out.metrics.pop(vid, None)
    if scaled and reference in out.metrics and len(curve) == len(zooms):
        t = time.perf_counter()
        gt, predictions, _ = collected.joined(reference, order)  # zoom 1: the reference's own evaluation, sampled
        chosen = set(scaled)
        keep = [i for i, p in enumerate(gt.images) if p in chosen]
        gt.images, gt.arrays, gt.labels = ([x[i] for i in keep] for x in (gt.images, gt.arrays, gt.labels))
        curve[1.0] = point(gt, [predictions[i] for i in keep], names, imgsz)
        seconds["scale_metrics"] += time.perf_counter() - t
        out.objects = object_scale([curve[z] for z in sorted(curve)], gt, imgsz, reference)
    out.seconds = {"wall": time.perf_counter() - start, **seconds,
                   "images": float(len(test)), "scale_images": float(len(scaled))}
    return out
