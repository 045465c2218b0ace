"""``make bench-photos``: photos as people send them, through ``detect()`` and Ultralytics' ``predict``.

A 12 MP JPEG, a 1080p JPEG and a 640 px PNG (synthetic shelves scaled up, with sensor-like
noise), each as a file path and as bytes, through our ``detect()`` and Ultralytics'
``predict`` on the same file: for the variant ``hub.load`` picks on this machine and for ONNX
fp32. One process per variant (runtimes' thread pools distort each other), blocks of calls in
turn, the quietest block of each kept (``tests.bench._interleaved``). Prints medians and ratios.

    python -m tests.bench.photos [--deck DIR] [--threads 2] [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

import hub.base.offline

hub.base.offline.configure()

PHOTOS = {"12 MP JPEG": ((4032, 3024), ".jpg"), "1080p JPEG": ((1920, 1080), ".jpg"), "640 px PNG": ((640, 480), ".png")}


def make_photos(folder: Path) -> dict[str, Path]:
    from training.data.synth_shelves import render

    rgb = render(np.random.default_rng(7))[0]
    out = {}
    for name, ((w, h), suffix) in PHOTOS.items():
        big = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.int16)
        big = (big + np.random.default_rng(0).integers(-6, 7, big.shape)).clip(0, 255).astype(np.uint8)
        path = folder / f"{name.split()[0]}{suffix}"
        cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90] if suffix == ".jpg" else [])
        out[name] = path
    return out


def one(path: Path, imgsz: int, threads: int, runs: int, photos: dict[str, str]) -> dict:
    """Every photo, as path and bytes, through detect() and predict() of one variant file (a fresh process)."""
    import ultralytics.nn.backends.litert as litert_backend
    from ultralytics import YOLO

    from hub.runtime import Detector
    from tests.bench.runtime import _interleaved

    litert_backend.NUM_THREADS = threads
    det = Detector(path, imgsz=imgsz, threads=threads)
    model = YOLO(str(path), task="detect")
    fns, inputs = {}, {}
    for name, file in photos.items():
        data = Path(file).read_bytes()
        fns[f"{name}|path|ours"] = lambda x: det.detect(x, conf=0.25, iou=0.7)
        inputs[f"{name}|path|ours"] = [file]
        fns[f"{name}|bytes|ours"] = lambda x: det.detect(x, conf=0.25, iou=0.7)
        inputs[f"{name}|bytes|ours"] = [data]
        fns[f"{name}|path|ultralytics"] = lambda x: model.predict(x, imgsz=imgsz, conf=0.25, iou=0.7, verbose=False,
                                                                  device="cpu")
        inputs[f"{name}|path|ultralytics"] = [file]
    return _interleaved(fns, inputs, runs, warmup=2, rounds=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deck", help="deck folder (default: the demo model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30, help="calls of each (default: 30)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--imgsz", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--photos", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(Path(args.one), args.imgsz, args.threads, args.runs, json.loads(args.photos))))
        return 0
    import hub
    from hub.deck import choose
    from hub.deck.manifest import Manifest
    from hub.deck.probe import cpu

    if args.deck:
        deck_dir = Path(args.deck)
        fastest = choose.by_figures(Manifest.read(deck_dir))
    else:
        from training.demo import ensure_demo

        repo = ensure_demo()
        deck_dir = hub.pull(repo)
        fastest = hub.open_deck(repo).default_variant(threads=args.threads)
    manifest = Manifest.read(deck_dir)
    with tempfile.TemporaryDirectory() as tmp:
        photos = {k: str(v) for k, v in make_photos(Path(tmp)).items()}
        results = {}
        for v in [manifest.variant(i) for i in dict.fromkeys([fastest.id, "onnx-fp32"])]:
            proc = subprocess.run([sys.executable, "-m", "tests.bench.photos", "--one", str(deck_dir / v.file),
                                   "--imgsz", str(manifest.imgsz), "--threads", str(args.threads), "--runs",
                                   str(args.runs), "--photos", json.dumps(photos)], capture_output=True, text=True)
            if proc.returncode:
                print(f"{v.id}: failed: {proc.stderr.strip().splitlines()[-1:]}")
                return 1
            results[v.id] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"deck {deck_dir} ({manifest.model}, {manifest.imgsz} px), {args.threads} threads, CPU {cpu()}\n"
          f"median ms of the quietest of 5 blocks; ours = detect(), UL = Ultralytics predict() on the same file\n")
    ref = results["onnx-fp32"]
    head = f"{'photo':<12} {'as':<6} {'variant':<12} {'ours':>8} {'UL same':>8} {'x UL':>6} {'UL fp32':>8} {'x UL fp32':>9}"
    print(head + "\n" + "-" * len(head))
    for name in PHOTOS:
        for kind in ("path", "bytes"):
            for vid, r in results.items():
                ours, ul = r[f"{name}|{kind}|ours"], r[f"{name}|path|ultralytics"]
                ul32 = ref[f"{name}|path|ultralytics"]
                print(f"{name:<12} {kind:<6} {vid:<12} {ours:8.1f} {ul:8.1f} {ul / ours:6.2f} {ul32:8.1f} {ul32 / ours:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
