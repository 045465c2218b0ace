"""``make bench-parity``: the demo deck's mAP through our runtime, fed arrays, files (the read as shipped), and
files forced to a half-scale JPEG decode, against Ultralytics' val on the same variant file and test split; and
what the half-scale decode saves per image. The question it answers: should a JPEG only twice the network's
size be decoded reduced? (hub.runtime.images.REDUCE_FROM_PIXELS says no below 2 MP.)

    python -m tests.bench.parity
"""

from __future__ import annotations

import time
from pathlib import Path

import hub.base.offline

hub.base.offline.configure()


def main() -> int:
    import hub.runtime.images as images
    from hub.deck.manifest import Manifest
    from hub.deck.probe import cpu
    from hub.runtime import Detector
    from training.demo import build_demo_deck
    from training.evaluate import EVAL_CONF, EVAL_IOU, EVAL_MAX_DET, GroundTruth, coco_metrics

    work = Path("build/bench-parity")
    deck = work / "deck"
    if not (deck / "manifest.json").is_file():
        build_demo_deck(deck, variants=["onnx-fp32", "tflite-int8"])  # its test split lands in work/demo-data
    data = work / "demo-data"
    test = sorted((data / "images" / "test").glob("*.jpg"))
    gt = GroundTruth.load(test)
    names = Manifest.read(deck).classes
    shipped = images.REDUCE_FROM_PIXELS
    print(f"cpu: {cpu()}; {len(test)} test JPEGs of {gt.arrays[0].shape[1]} px; network 320 px", flush=True)
    print(f"{'variant':12} {'input':34} {'mAP50':>7} {'mAP50-95':>9}")
    for vid, file in (("onnx-fp32", "model-fp32.onnx"), ("tflite-int8", "model-int8.tflite")):
        det = Detector(deck / file, names=names, imgsz=320, threads=2)
        for how in ("arrays (decoded whole by the test)", "files, read as shipped", "files, half-scale JPEG decode"):
            images.REDUCE_FROM_PIXELS = 0 if "half" in how else shipped  # 0: the old rule, reduced from 2x
            preds = []
            for path, arr in zip(test, gt.arrays, strict=True):
                d = det.detect(arr if how.startswith("arrays") else str(path), conf=EVAL_CONF, iou=EVAL_IOU,
                               max_det=EVAL_MAX_DET)
                preds.append((d.xyxy, d.confidence, d.class_id))
            images.REDUCE_FROM_PIXELS = shipped
            m = coco_metrics(gt, preds, names)
            print(f"{vid:12} {how:34} {m.map50:7.4f} {m.map50_95:9.4f}", flush=True)
        from ultralytics import YOLO

        r = YOLO(str(deck / file), task="detect").val(data=str(data / "data.yaml"), imgsz=320, split="test",
                                                      conf=EVAL_CONF, iou=EVAL_IOU, batch=1, verbose=False,
                                                      plots=False)
        print(f"{vid:12} {'Ultralytics val':34} {r.box.map50:7.4f} {r.box.map:9.4f}", flush=True)
    blobs = [p.read_bytes() for p in test]
    for rule, floor in (("whole", shipped), ("at half scale", 0)):
        images.REDUCE_FROM_PIXELS = floor
        best = min(_time(images.read_image, blobs) for _ in range(5))
        print(f"JPEG decode {rule}: {best:.2f} ms an image")
    images.REDUCE_FROM_PIXELS = shipped
    return 0


def _time(read, blobs) -> float:
    start = time.perf_counter()
    for b in blobs:
        read(b, fit=320)
    return (time.perf_counter() - start) / len(blobs) * 1000


if __name__ == "__main__":
    raise SystemExit(main())
