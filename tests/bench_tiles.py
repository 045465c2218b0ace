"""``make bench-tiles``: high-resolution dense shelves with tiles off, "auto" and fixed grids.

Shelves rendered at 3000 x 4000 with products 40-80 px wide (SKU-110K's photos), labelled; one
variant of the demo deck; mAP50, mAP50-95, recall (pycocotools, as the deck's own metrics) and
median ms per image, measured in this one run. SAHI and supervision's InferenceSlicer are not
installed in this environment (their dependencies are not in the pinned set), so they are not in
the table.

    python -m tests.bench_tiles [--variant onnx-fp32] [--images 4] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import hub.offline

hub.offline.configure()


def make_shelves(folder: Path, n: int) -> list[Path]:
    from training.data.layout import prepare, write_sample
    from training.data.synth_shelves import render

    prepare(folder)
    for i in range(n):
        image, boxes = render(np.random.default_rng([2026, i]), width=3000, height=4000, rows=(12, 16),
                              product_width=(0.013, 0.027))
        write_sample(folder, "test", f"hires-{i:02d}", image, boxes)
    return sorted((folder / "images" / "test").iterdir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="onnx-fp32")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import hub
    from hub.probe import cpu
    from training.demo import ensure_demo
    from training.evaluate import EVAL_CONF, EVAL_IOU, EVAL_MAX_DET, GroundTruth, coco_metrics

    repo = ensure_demo()
    deck = hub.open_deck(repo)
    det = deck.load(hub.VariantQuery(args.variant), threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        images = make_shelves(Path(tmp), args.images)
        gt = GroundTruth.load(images)
        objects = sum(len(lab) for lab in gt.labels)
        widths = np.concatenate([lab[:, 3] - lab[:, 1] for lab in gt.labels])
        print(f"{args.images} shelves at 3000 x 4000, {objects} products (median {np.median(widths):.0f} px wide); "
              f"{args.variant} of {repo} at {deck.manifest.imgsz} px, trained on "
              f"{deck.manifest.dataset.get('image_size')} px images; {args.threads} threads; CPU {cpu()}\n")
        head = f"{'tiles':<14} {'mAP50':>7} {'mAP50-95':>9} {'recall':>7} {'ms/image':>9}"
        print(head + "\n" + "-" * len(head))
        for name, tiles, whole in (("off", None, False), ("auto", "auto", False), ("auto + whole", "auto", True),
                                   ("4 x 3", (4, 3), False), ("8 x 6", (8, 6), False)):
            preds, times = [], []
            for path in images:  # from the file, as a user would send it
                t = time.perf_counter()
                d = det.detect(path, conf=EVAL_CONF, iou=EVAL_IOU, max_det=EVAL_MAX_DET, tiles=tiles, whole=whole)
                times.append((time.perf_counter() - t) * 1e3)
                preds.append((d.xyxy, d.confidence, d.class_id))
            m = coco_metrics(gt, preds, deck.manifest.classes)
            print(f"{name:<14} {m.map50:7.3f} {m.map50_95:9.3f} {m.recall:7.3f} {np.median(times):9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
