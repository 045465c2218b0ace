"""The tests' oracle for deck metrics: pycocotools' own COCOeval, scored the way ``training.evaluate`` reads it.

``training.evaluate.coco_metrics`` uses faster-coco-eval (C++); this module is the slow reference it must equal.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from hub.deck.manifest import Metrics
from training.evaluate import EVAL_MAX_DET, GroundTruth, coco_dataset, metrics_from


def pycocotools_metrics(gt: GroundTruth, predictions: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                        names: list[str], *, max_det: int = EVAL_MAX_DET) -> Metrics:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    dataset, results = coco_dataset(gt, predictions, names)
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = dataset
        truth.createIndex()
        if results:
            found = truth.loadRes(results)
        else:
            found = COCO()
            found.dataset = {**dataset, "annotations": []}
            found.createIndex()
        ev = COCOeval(truth, found, "bbox")
        ev.params.maxDets = [1, 100, max_det]
        ev.evaluate()
        ev.accumulate()
    present = [k for k in range(len(names)) if any((lab[:, 0] == k).any() for lab in gt.labels)]
    n_area, n_img = len(ev.params.areaRng), len(ev.params.imgIds)
    matches = []
    for k_idx, cat in enumerate(ev.params.catIds):
        if cat not in present:
            continue
        scores, tps, n_gt = [], [], 0
        for i in range(n_img):
            e = ev.evalImgs[k_idx * n_area * n_img + i]  # area index 0: 'all'
            if e is None:
                continue
            keep = ~np.asarray(e["dtIgnore"][0], bool)
            scores.append(np.asarray(e["dtScores"])[keep])
            tps.append(np.asarray(e["dtMatches"][0])[keep] > 0)
            n_gt += int((~np.asarray(e["gtIgnore"], bool)).sum())
        matches.append((np.concatenate(scores) if scores else np.zeros(0),
                        np.concatenate(tps) if tps else np.zeros(0, bool), n_gt))
    return metrics_from(ev.eval["precision"][:, :, :, 0, -1], matches, names, present)
