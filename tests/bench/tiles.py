"""``make bench-tiles``: high-resolution dense shelves with tiles off, "auto" and fixed grids.

Shelves rendered at 3000 x 4000 with products 40-80 px wide (SKU-110K's photos), labelled; one
variant of the demo deck; "auto" as it is (the grid from the objects it measures, against the deck's
measured object scale), as it was ("by image size": tiles of the deck's training images) and fixed grids; mAP50, mAP50-95, recall (pycocotools, as the deck's own metrics) and
median ms per image, measured in this one run. Beside ours: SAHI's ``get_sliced_prediction`` and
supervision's ``InferenceSlicer`` around the same variant file, on the same tiles (the size and
overlap of the grid our "auto" chose most often), each twice: as their docs show it (SAHI's own Ultralytics model
class, or an Ultralytics ``YOLO`` callback, on the ONNX file: "UL"), and calling our ``Detector``
on each tile ("ours": the same model, pre-processing and NMS, so those rows differ from ours only
in the slicing and the merge across tiles). Accuracy is scored at the deck's evaluation confidence; time per image is
taken at the apps' default confidence (0.25), from the file, as a user sends it.

    python -m tests.bench.tiles [--variant onnx-fp32] [--images 4] [--threads 2] [--rounds 3] [--rows REGEX]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

import hub.base.offline

hub.base.offline.configure()


def make_shelves(folder: Path, n: int) -> list[Path]:
    from training.data.layout import prepare, write_sample
    from training.data.synth_shelves import render

    prepare(folder)
    for i in range(n):
        image, boxes = render(np.random.default_rng([2026, i]), width=3000, height=4000, rows=(12, 16),
                              product_width=(0.013, 0.027))
        write_sample(folder, "test", f"hires-{i:02d}", image, boxes)
    return sorted((folder / "images" / "test").iterdir())


def _sahi(det, names: list[str], tile: tuple[int, int], overlap: float, whole: bool, ultralytics: bool = False):
    """SAHI's sliced prediction with our Detector as its model, or (``ultralytics``) SAHI's own Ultralytics model
    class on the same ONNX file, as SAHI's docs show it: ``(path, conf) -> (xyxy, scores, class ids)``."""
    from sahi import AutoDetectionModel
    from sahi.models.base import DetectionModel
    from sahi.predict import get_sliced_prediction
    from sahi.prediction import ObjectPrediction

    class DeckModel(DetectionModel):
        def load_model(self) -> None:
            self.model = det

        def perform_inference(self, image: np.ndarray) -> None:  # SAHI hands over RGB slices
            self._original_predictions = det.detect(image, conf=self.confidence_threshold, iou=0.7, max_det=1000)

        def _create_object_prediction_list_from_original_predictions(self, shift_amount_list=None,
                                                                     full_shape_list=None) -> None:
            d, shift, full = self._original_predictions, shift_amount_list or [0, 0], full_shape_list
            shift = shift[0] if isinstance(shift[0], list | tuple) else shift  # one [x, y] or a list of them
            full = full[0] if full and isinstance(full[0], list | tuple) else full
            self._object_prediction_list_per_image = [[
                ObjectPrediction(bbox=b.tolist(), category_id=int(c), category_name=names[int(c)], score=float(s),
                                 shift_amount=list(shift), full_shape=full)
                for b, s, c in zip(d.xyxy, d.confidence, d.class_id, strict=True)]]

    models = {}

    def model_at(conf: float):
        if conf not in models:
            models[conf] = AutoDetectionModel.from_pretrained(
                model_type="ultralytics", model_path=str(det.path), confidence_threshold=conf, device="cpu",
                image_size=det.imgsz) if ultralytics else DeckModel(confidence_threshold=conf, device="cpu")
        return models[conf]

    def run(path: Path, conf: float):
        model = model_at(conf)
        result = get_sliced_prediction(str(path), model, slice_width=tile[0], slice_height=tile[1],
                                       overlap_width_ratio=overlap, overlap_height_ratio=overlap,
                                       perform_standard_pred=whole, verbose=0)
        found = result.object_prediction_list
        return (np.array([p.bbox.to_xyxy() for p in found], np.float32).reshape(-1, 4),
                np.array([p.score.value for p in found], np.float32), np.array([p.category.id for p in found]))

    return run


def _slicer(det, tile: tuple[int, int], overlap: float, overlap_filter: str, ultralytics: bool = False):
    """supervision's InferenceSlicer with our Detector as its callback, or (``ultralytics``) Ultralytics' YOLO on
    the same ONNX file, as supervision's docs show it; the image read with OpenCV."""
    import cv2
    import supervision as sv

    if ultralytics:
        from ultralytics import YOLO

        model = YOLO(str(det.path), task="detect")

    def run(path: Path, conf: float):
        def callback(rgb: np.ndarray) -> sv.Detections:
            if ultralytics:  # Ultralytics takes BGR arrays
                result = model.predict(np.ascontiguousarray(rgb[..., ::-1]), imgsz=det.imgsz, conf=conf, iou=0.7,
                                       max_det=1000, verbose=False, device="cpu")[0]
                return sv.Detections.from_ultralytics(result)
            d = det.detect(rgb, conf=conf, iou=0.7, max_det=1000)
            return sv.Detections(xyxy=d.xyxy, confidence=d.confidence, class_id=d.class_id)

        slicer = sv.InferenceSlicer(callback, slice_wh=tile, overlap_filter=overlap_filter, iou_threshold=0.5,
                                    overlap_wh=(round(tile[0] * overlap), round(tile[1] * overlap)))
        found = slicer(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
        return found.xyxy.astype(np.float32), found.confidence.astype(np.float32), found.class_id

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="onnx-fp32")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds, rows in turn (default: 3)")
    parser.add_argument("--rows", default="", help="only the rows whose name matches this regular expression "
                                                   "(the 'auto' row always runs: the others are timed against it)")
    parser.add_argument("--more", default="openvino-fp32,tflite-int8",
                        help="other variants of the deck for an 'auto' row each (openvino-fp32 runs the same ONNX file)")
    args = parser.parse_args(argv)
    import logging

    import sahi.predict  # noqa: F401  (its logger, set up on import, then quietened)
    import ultralytics  # noqa: F401

    import hub
    import hub.runtime

    logging.getLogger("sahi").setLevel(logging.ERROR)  # it says at each call that eval confidence switches it to NMS
    logging.getLogger("ultralytics").setLevel(logging.WARNING)  # "Loading ... for ONNX Runtime inference"
    from hub.deck.probe import cpu
    from tests.bench.runtime import _interleaved
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
        from hub.runtime.tiles import grid

        objects = deck.manifest.objects
        print(f"the deck's objects: median {objects.median_px:.1f} px at the network on its test split, found as well "
              f"as any down to {objects.min_px:.1f} px (mAP50-95 by size: "
              + ", ".join(f"{p.object_px:.0f} px {p.map50_95:.3f}" for p in objects.curve) + ")\n"
              if objects else "the deck has no object scale: auto tiles by image size\n")
        chosen = [det.detect(path, tiles="auto").tiles for path in images]
        rows, cols = max(set(chosen), key=chosen.count)
        x0, y0, x1, y1 = grid(3000, 4000, rows, cols, 0.2)[0]
        tile = (x1 - x0, y1 - y0)
        print(f"auto tiles per image: {', '.join(f'{r} x {c}' for r, c in chosen)}; SAHI and supervision slice as the "
              f"most common, {rows} x {cols}: {tile[0]} x {tile[1]} px, overlap 0.2\n")
        by_size = hub.runtime.Detector(det.path, backend=det.backend, names=det.names, imgsz=det.imgsz,
                                       threads=args.threads, tile_px=det.tile_px)  # the rule before the deck measured its objects

        def ours(tiles, whole=False, detector=det):
            def run(path: Path, conf: float):
                d = detector.detect(path, conf=conf, iou=EVAL_IOU, max_det=EVAL_MAX_DET, tiles=tiles, whole=whole)
                return d.xyxy, d.confidence, d.class_id
            return run

        names = deck.manifest.classes
        runs = [("off", ours(None)), ("auto", ours("auto")), ("auto + whole", ours("auto", True)),
                ("auto by image size", ours("auto", detector=by_size)),
                *((f"{r} x {c}", ours((r, c))) for r, c in ((3, 2), (3, 3), (4, 3), (5, 4), (6, 4), (8, 6))),
                ("SAHI, UL model", _sahi(det, names, tile, 0.2, False, ultralytics=True)),
                ("SAHI, ours", _sahi(det, names, tile, 0.2, False)),
                ("SAHI + whole", _sahi(det, names, tile, 0.2, True)),
                ("sv NMS, UL", _slicer(det, tile, 0.2, "non_max_suppression", ultralytics=True)),
                ("sv NMS, ours", _slicer(det, tile, 0.2, "non_max_suppression")),
                ("sv NMM, ours", _slicer(det, tile, 0.2, "non_max_merge"))]
        for vid in filter(None, args.more.split(",")):
            runs.append((f"auto, {vid}", ours("auto", detector=deck.load(hub.VariantQuery(vid), threads=args.threads))))
        runs = [(name, run) for name, run in runs if name == "auto" or re.search(args.rows, name)]
        scores = {}
        for name, run in tqdm(runs, desc="accuracy", unit="row", leave=False):
            scores[name] = coco_metrics(gt, [run(path, EVAL_CONF) for path in images], names)
        # time: from the file, as a user sends it, at the apps' confidence; rows in turn, each round over every image,
        # the quietest round's median kept (a shared machine's bursts moved single passes by 20-30% here)
        ms = _interleaved({name: (lambda path, run=run: run(path, 0.25)) for name, run in runs},
                          dict.fromkeys(scores, images), runs=len(images) * args.rounds, warmup=1, rounds=args.rounds)
        head = f"{'tiles':<20} {'mAP50':>7} {'mAP50-95':>9} {'recall':>7} {'ms/image':>9} {'vs auto':>8}"
        print(head + "\n" + "-" * len(head))
        for name, m in scores.items():
            print(f"{name:<20} {m.map50:7.3f} {m.map50_95:9.3f} {m.recall:7.3f} {ms[name]:9.0f} "
                  f"{ms[name] / ms['auto']:7.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
