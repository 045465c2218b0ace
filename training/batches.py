"""A deck build's model calls as batches: one variant file on a few test images, at one object zoom.

Evaluating a deck is (variants x zooms x images) independent model calls. Cut into :class:`Batch` es, they run
side by side on one-thread detectors (:func:`run_local`: a process per core, as tiles do; two one-thread
ONNX Runtime sessions do more on two cores than one two-thread session) and the metrics are scored from the
collected :class:`Predictions` as they arrive. A batch names files and settings only, so any process that
sees the same files can run it.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.evaluate import EVAL_CONF, EVAL_IOU, EVAL_MAX_DET, GroundTruth


@dataclass(frozen=True)
class Batch:
    """``file`` (run by ``backend``) on ``images`` shown at ``zoom`` (``training.scale.view``), at ``conf``."""

    key: str  # what the predictions belong to, e.g. "onnx-fp32" or "scale@0.5"
    file: str
    backend: str
    names: tuple[str, ...]
    imgsz: int
    images: tuple[str, ...]
    zoom: float = 1.0
    conf: float = EVAL_CONF


@dataclass
class Predictions:
    """What a batch found, with the views' truth (a zoom changes the labels), and how long its model calls took."""

    batch: Batch
    boxes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per view: xyxy, scores, class ids
    labels: list[np.ndarray]
    crowd: list[np.ndarray] | None
    sizes: list[tuple[int, int]]  # per view: height, width
    seconds: float = 0.0  # model calls only (decode and views aside)
    error: str | None = None  # why the batch could not run (the file does not load here, ...)

    def truth(self) -> GroundTruth:
        """The views' ground truth; arrays stand in for the pixels by their shape (all the metrics read)."""
        arrays = [np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (h, w, 3)) for h, w in self.sizes]
        return GroundTruth([Path(p) for p in self.batch.images], arrays, self.labels, self.crowd)


def chunks(images: list[Path], size: int) -> Iterator[tuple[str, ...]]:
    for start in range(0, len(images), size):
        yield tuple(str(p) for p in images[start:start + size])


_DETECTORS: dict[tuple[str, str, int], object] = {}  # per worker process: a file is opened once, not per batch


def run_batch(batch: Batch, threads: int = 1) -> Predictions:
    """Run one batch here (one-thread detector by default): the unit every executor calls. A batch that cannot
    run comes back with its ``error``, so one broken variant does not stop the others."""
    try:
        return _run(batch, threads)
    except Exception as exc:  # recorded against the variant (unavailable), as a failed export is
        return Predictions(batch, [], [], None, [], error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])


def _run(batch: Batch, threads: int) -> Predictions:
    from hub.runtime import Detector
    from training.scale import view

    key = (batch.file, batch.backend, batch.imgsz)
    if key not in _DETECTORS:
        _DETECTORS[key] = Detector(batch.file, backend=batch.backend, names=list(batch.names), imgsz=batch.imgsz,
                                   threads=threads)
    detector = _DETECTORS[key]
    shown = view(GroundTruth.load([Path(p) for p in batch.images]), batch.zoom)
    boxes, seconds = [], 0.0
    for arr in shown.arrays:
        t = time.perf_counter()
        d = detector.detect(arr, conf=batch.conf, iou=EVAL_IOU, max_det=EVAL_MAX_DET)
        seconds += time.perf_counter() - t
        boxes.append((d.xyxy, d.confidence, d.class_id))
    return Predictions(batch, boxes, shown.labels, shown.crowd, [a.shape[:2] for a in shown.arrays], seconds)


def _quiet_worker() -> None:
    from training.quiet import quiet_scale_guess

    quiet_scale_guess()


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_local(batches: list[Batch], on_result: Callable[[Predictions], None], *, jobs: int | None = None) -> None:
    """Run ``batches`` in ``jobs`` processes (default: one per core) of one-thread detectors, calling
    ``on_result`` in this process as each finishes (in completion order)."""
    jobs = max(1, min(jobs or cores(), len(batches)))
    ctx = multiprocessing.get_context("spawn")  # fresh processes: runtimes keep threads and memory to themselves
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_quiet_worker) as pool:
        pending = {pool.submit(run_batch, b) for b in batches}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                on_result(future.result())


@dataclass
class Collected:
    """Predictions gathered per key, put back in image order however the batches finished."""

    parts: dict[str, list[Predictions]] = field(default_factory=dict)

    def add(self, result: Predictions) -> None:
        self.parts.setdefault(result.batch.key, []).append(result)

    def complete(self, key: str, expected: int) -> bool:
        return sum(len(p.batch.images) for p in self.parts.get(key, [])) == expected

    def joined(self, key: str, order: list[str]) -> tuple[GroundTruth, list, float]:
        """(truth, predictions, model seconds) of ``key``'s batches, in the order of the batches' first images."""
        parts = sorted(self.parts[key], key=lambda p: order.index(p.batch.images[0]))
        truths = [p.truth() for p in parts]
        gt = GroundTruth([i for t in truths for i in t.images], [a for t in truths for a in t.arrays],
                         [lab for t in truths for lab in t.labels],
                         None if any(t.crowd is None for t in truths) else [c for t in truths for c in t.crowd])
        return gt, [b for p in parts for b in p.boxes], sum(p.seconds for p in parts)
