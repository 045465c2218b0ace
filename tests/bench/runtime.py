"""``make bench``: speed of our runtime against the raw backend call and Ultralytics' predict.

Every variant runs in its own process (thread pools of different runtimes distort each other),
on the same decoded images, batch 1, the same thread count. Prints medians and ratios
measured in this one run; there are no timed assertions anywhere in the test suite.

    python -m tests.bench.runtime [--deck DIR] [--threads 2] [--runs 120] [--pairs 200] [--only onnx-int8,tflite-int8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import hub.base.offline

hub.base.offline.configure()


def _images(n: int = 6) -> list[np.ndarray]:
    from training.data.synth_shelves import render

    return [render(np.random.default_rng([99, i]))[0][..., ::-1].copy() for i in range(n)]  # RGB


def _interleaved(fns: dict, inputs: dict, runs: int, warmup: int = 5, rounds: int = 6) -> dict[str, float]:
    """Median ms of each function: blocks of calls taken in turn, the quietest block of each kept.

    Calling different runtimes one call at a time makes their thread pools fight (each spins a while
    after its own call); blocks in turn keep that out, and keeping each one's quietest block keeps out
    a shared machine's neighbours. ``runs`` calls per function in all.
    """
    from hub.base.timing import blocks_in_turn, quietest

    calls = {key: (lambda i, fn=fn, xs=inputs[key]: fn(xs[i % len(xs)])) for key, fn in fns.items()}
    blocks = blocks_in_turn(calls, per_block=max(1, runs // rounds), rounds=rounds, warmup=warmup)
    return {key: quietest(b) for key, b in blocks.items()}


def _paired(detect, raw, images: list, blobs: list, runs: int, warmup: int = 5) -> dict[str, float]:
    """detect() and the raw backend call, alternating one call each on the same session and image.

    Both share one thread pool and see the same machine moment, so the median of the per-pair
    differences is what detect() adds to the raw call, with little of a shared machine's noise.
    """
    for i in range(warmup):
        detect(images[i % len(images)])
        raw(blobs[i % len(blobs)])
    pairs = []
    for i in range(runs):
        t0 = time.perf_counter()
        detect(images[i % len(images)])
        t1 = time.perf_counter()
        raw(blobs[i % len(blobs)])
        t2 = time.perf_counter()
        pairs.append((t1 - t0, t2 - t1))
    d, r = np.array(pairs).T * 1e3
    return {"raw_ms": float(np.median(r)), "added_ms": float(np.median(d - r))}


def one(path: Path, imgsz: int, threads: int, runs: int, pairs: int, backend: str | None = None) -> dict:
    """Measure one variant file (run in a fresh process)."""
    from hub.runtime import Detector
    from hub.runtime.ops import letterbox

    images = _images()
    det = Detector(path, backend=backend, imgsz=imgsz, threads=threads)
    blobs = [letterbox(im, imgsz, layout=det.layout, codes=det.input_codes)[0] for im in images]
    fns = {"detect_ms": lambda im: det.detect(im, conf=0.25, iou=0.7)}
    inputs = {"detect_ms": images}
    if det.backend in ("onnxruntime", "tflite", "torchscript"):  # what Ultralytics' predict runs these files on
        import ultralytics.nn.backends.litert as litert_backend
        from ultralytics import YOLO

        litert_backend.NUM_THREADS = threads  # Ultralytics uses cores - 1 for LiteRT; compare like with like
        model = YOLO(str(path), task="detect")
        fns["ultralytics_ms"] = lambda im: model.predict(im, imgsz=imgsz, conf=0.25, iou=0.7, verbose=False,
                                                         device="cpu")
        inputs["ultralytics_ms"] = [np.ascontiguousarray(im[..., ::-1]) for im in images]  # predict wants BGR
    out = _interleaved(fns, inputs, runs)
    out.update(_paired(fns["detect_ms"], det.infer, images, blobs, pairs))
    out["boxes"] = len(det.detect(images[0], conf=0.25, iou=0.7))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deck", help="deck folder (default: the demo model, built or pulled from the embedded hub)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=120, help="calls of detect() and of predict() (default: 120)")
    parser.add_argument("--pairs", type=int, default=200,
                        help="detect()/raw pairs for the overhead (default: 200; a shared machine's bursts move a short "
                             "median by a millisecond)")
    parser.add_argument("--only", help="comma-separated variant ids (default: every available variant)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--imgsz", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(Path(args.one), args.imgsz, args.threads, args.runs, args.pairs, args.backend)))
        return 0

    from hub.deck.manifest import Manifest

    deck = Path(args.deck) if args.deck else _demo_deck()
    manifest = Manifest.read(deck)
    print(f"deck {deck} ({manifest.model}, imgsz {manifest.imgsz}), {args.threads} threads, {args.runs} calls of each "
          f"kind and {args.pairs} detect/raw pairs, each variant in its own process\n")
    head = (f"{'variant':<13} {'raw ms':>8} {'+ detect':>9} {'overhead':>9} {'detect ms':>9} {'ultralytics ms':>14} "
            f"{'ours vs UL':>10} {'boxes':>6}")
    print(head + "\n" + "-" * len(head))
    only = set(args.only.split(",")) if args.only else None
    for v in manifest.available:
        if only and v.id not in only:
            continue
        cmd = [sys.executable, "-m", "tests.bench.runtime", "--one", str(deck / v.file), "--imgsz", str(manifest.imgsz),
               "--threads", str(args.threads), "--runs", str(args.runs), "--pairs", str(args.pairs), "--backend", v.backend]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{v.id:<13} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else '?'}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        overhead = r["added_ms"] / r["raw_ms"] * 100
        ul = r.get("ultralytics_ms")
        ul_text = f"{ul:.2f}" if ul else "-"
        ratio = f"{ul / r['detect_ms']:.2f}x" if ul else "-"
        print(f"{v.id:<13} {r['raw_ms']:8.2f} {r['added_ms']:9.2f} {overhead:8.1f}% {r['detect_ms']:9.2f} {ul_text:>14} "
              f"{ratio:>10} {r['boxes']:>6}", flush=True)
    print("\nraw ms: the backend call alone; + detect: what detect() adds to it (letterbox, decode, NMS, rescale, from a "
          "decoded RGB array),\nthe median of per-pair differences over alternating detect/raw calls on one session; "
          "overhead = + detect / raw.\ndetect ms and ultralytics ms: blocks of calls in turn, quietest block of each; "
          "ours vs UL = predict / detect (above 1: we are faster);\nUltralytics runs OpenVINO only from its "
          "own IR export and pt only as a pickled checkpoint, so those rows have no predict column.")
    return 0


def _demo_deck() -> Path:
    from training.demo import ensure_demo_deck

    return ensure_demo_deck()


if __name__ == "__main__":
    raise SystemExit(main())
