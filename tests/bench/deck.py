"""``make bench-deck``: how a deck build's time grows with the test split, by stage, and how small a sample the
object-scale curve may run on.

The committed demo weights at 320 px, four variants (onnx-fp32, onnx-int8, tflite-int8, openvino-int8), on
generated dense shelves (about 120 products an image): test splits of 24, 240 and 960 images. Per split: the
build's wall time and its stages (from the manifest's ``build``), and per test image and variant the model call
and the scoring. Then the scale curve's sample: the reference runs every zoom on the whole 240-image split once,
and ``min_px`` is read from evenly spread samples of each size (several offsets) against the whole split's.

Then ``--workers``: the evaluation of the largest split's deck (``measure_deck``) run here with one process per
core, and over Redis on deck workers (``python -m training worker``) on one test host and on two (network
namespaces joined by a veth pair, one worker each; Redis and the build on the first), twice:
- the hosts sharing this machine's cores: two hosts can at best match the local run (the ratio says what the
  queue costs);
- each host one core of its own (``taskset``; on a machine of two cores or more): a second host brings a core of
  its own, as a second machine would, so the ratio is what the fan-out gains.

    python -m tests.bench.deck [--sizes 24 240 960] [--skip-sample] [--no-workers]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hub.deck.probe import cpu

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "build" / "bench-deck"
VARIANTS = ("onnx-fp32", "onnx-int8", "tflite-int8", "openvino-int8")
IMGSZ = 320


def dataset(largest: int) -> Path:
    """Dense shelves with a test split of ``largest`` images (made once), and data.yaml files for its prefixes."""
    data = WORK / f"shelves-{largest}"
    if not (data / "data.yaml").is_file():
        subprocess.run([sys.executable, "-m", "training", "data", "synth-shelves", "--out", str(data), "--train", "64",
                        "--val", "8", "--test", str(largest), "--seed", "3"], check=True)
    return data


def subset(data: Path, n: int) -> Path:
    """A data.yaml whose test split is the first ``n`` test images (links, labels beside them)."""
    for kind in ("images", "labels"):
        folder = data / kind / f"test{n}"
        if folder.is_dir():
            continue
        folder.mkdir(parents=True)
        for f in sorted((data / kind / "test").iterdir())[:n]:
            (folder / f.name).symlink_to(Path("..") / "test" / f.name)
    yaml = WORK / f"data{n}.yaml"
    yaml.write_text((data / "data.yaml").read_text().replace("test: images/test", f"test: images/test{n}"))
    return yaml


def checkpoint() -> Path:
    from training.demo import CHECKPOINT
    from training.export import checkpoint_from_weights

    return checkpoint_from_weights(CHECKPOINT, WORK / "demo-ckpt.pt")


def build(n: int, data_yaml: Path, ckpt: Path) -> tuple[float, dict]:
    out = WORK / f"deck{n}"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "training", "deck", str(ckpt), "--data", str(data_yaml), "--out", str(out),
                    "--imgsz", str(IMGSZ), "--examples", "0", "--variants", *VARIANTS], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return wall, json.loads((out / "manifest.json").read_text())


def sample_study(deck: Path, data_yaml: Path, sizes=(12, 24, 48, 96), offsets: int = 4) -> None:
    """min_px from samples of the split against the whole split's: the reference's views are run once."""
    from hub.deck.manifest import Manifest
    from training.batches import Batch, Collected, chunks, run_local
    from training.data.layout import read_data_yaml, split_images
    from training.scale import SCALE_CONF, ZOOMS, object_scale, point

    manifest = Manifest.read(deck)
    ref = manifest.reference()
    test = split_images(read_data_yaml(data_yaml), "test")
    batches = [Batch(f"{z:g}", str(deck / ref.file), ref.backend, tuple(manifest.classes), manifest.imgsz, images,
                     zoom=z, conf=SCALE_CONF) for z in ZOOMS for images in chunks(test, 16)]
    collected = Collected()
    run_local(batches, collected.add)
    order = [str(p) for p in test]
    per_zoom = {z: collected.joined(f"{z:g}", order) for z in ZOOMS}

    def min_px(chosen: list[int]) -> float:
        curve, parts = [], {}
        for z, (gt, preds, _) in per_zoom.items():
            per_image = len(gt.labels) // len(test)  # views per image: 1, or the windows of a zoom above 1
            views = [i * per_image + k for i in chosen for k in range(per_image)]
            parts[z] = type(gt)([], [gt.arrays[v] for v in views], [gt.labels[v] for v in views],
                                None if gt.crowd is None else [gt.crowd[v] for v in views])
            curve.append(point(parts[z], [preds[v] for v in views], manifest.classes, manifest.imgsz))
        return object_scale(curve, parts[1.0], manifest.imgsz, ref.id).min_px

    whole = min_px(list(range(len(test))))
    print(f"\nscale curve sample ({len(test)} test images; whole split min_px {whole:.2f} px)")
    print(f"{'sample':>7} {'max |min_px - whole|':>22} {'mean':>6}")
    for size in sizes:
        diffs = []
        for k in range(offsets):
            idx = np.linspace(k * len(test) / (size * offsets), len(test) - 1, size).round().astype(int)
            diffs.append(abs(min_px(sorted(set(idx.tolist()))) - whole))
        print(f"{size:>7} {max(diffs):>20.2f} px {np.mean(diffs):>6.2f}")


def per_image_costs(deck: Path, data_yaml: Path) -> None:
    """The model call against the scoring, per image, alone in one process (the build runs them side by side)."""
    from hub.deck.manifest import Manifest
    from hub.runtime import Detector
    from tests.helpers.coco_oracle import pycocotools_metrics
    from training.data.layout import read_data_yaml, split_images
    from training.evaluate import EVAL_CONF, EVAL_IOU, EVAL_MAX_DET, GroundTruth, coco_metrics

    manifest = Manifest.read(deck)
    gt = GroundTruth.load(split_images(read_data_yaml(data_yaml), "test")[:48])
    print(f"\nper image, alone in one process ({len(gt.arrays)} test images; the model on one thread)")
    print(f"{'variant':>14} {'boxes/img':>10} {'model ms':>9} {'metrics ms':>11} {'pycocotools ms':>15}")
    for vid in VARIANTS:
        v = manifest.variant(vid)
        det = Detector(deck / v.file, backend=v.backend, names=manifest.classes, imgsz=manifest.imgsz, threads=1)
        det.detect(gt.arrays[0])
        t = time.perf_counter()
        found = [det.detect(a, conf=EVAL_CONF, iou=EVAL_IOU, max_det=EVAL_MAX_DET) for a in gt.arrays]
        model = (time.perf_counter() - t) / len(gt.arrays) * 1e3
        preds = [(d.xyxy, d.confidence, d.class_id) for d in found]
        t = time.perf_counter()
        coco_metrics(gt, preds, manifest.classes)
        fast = (time.perf_counter() - t) / len(gt.arrays) * 1e3
        slow = ""
        if vid == VARIANTS[0]:
            t = time.perf_counter()
            pycocotools_metrics(gt, preds, manifest.classes)
            slow = f"{(time.perf_counter() - t) / len(gt.arrays) * 1e3:.0f}"
        boxes = np.mean([len(d) for d in found])
        print(f"{vid:>14} {boxes:>10.0f} {model:>9.1f} {fast:>11.1f} {slow:>15}")


MEASURE = """
import json, sys, time
from hub.deck.manifest import Manifest
from training.data.layout import read_data_yaml, split_images
from training.measure import measure_deck
deck, data, url, variants = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
m = Manifest.read(deck)
files = {v.id: (f"{deck}/{v.file}", v.backend) for v in m.variants if v.ok and v.id in variants}
test = split_images(read_data_yaml(data), "test")
t = time.perf_counter()
out = measure_deck(files, test, m.classes, imgsz=m.imgsz, progress=False, workers=url or None)
print(json.dumps({"s": time.perf_counter() - t, "metrics": {k: v.map50_95 for k, v in out.metrics.items()}}))
"""


def workers_study(deck: Path, data_yaml: Path) -> None:
    """measure_deck here (a process per core) and on deck workers on one test host and on two: the hosts sharing
    the cores, then each host pinned to a core of its own."""
    from tests.helpers.service import REDIS, can_make_hosts, two_hosts

    if not can_make_hosts():
        print("\n--workers: needs root, iproute2 and redis-server (test hosts are network namespaces)")
        return
    net = "10.78.0"
    env = {**os.environ, "NETGUARD_OWN_HOSTS": f"{net}.1,{net}.2", "PYTHONPATH": str(ROOT)}

    def on(ns: str | None, core: int | None) -> list[str]:
        """The command prefix that runs on test host ``ns`` (None: here), on ``core`` alone (None: any core)."""
        return (["ip", "netns", "exec", ns] if ns else []) + (["taskset", "-c", str(core)] if core is not None else [])

    def measure(url: str = "", prefix: list[str] | None = None) -> dict:
        cmd = [sys.executable, "-c", MEASURE, str(deck), str(data_yaml), url, *VARIANTS]
        out = subprocess.run([*(prefix or []), *cmd], env=env, check=True, capture_output=True, text=True,
                             cwd=ROOT).stdout
        return json.loads(out.strip().splitlines()[-1])

    layouts = [("sharing the cores", (None, None))]
    if len(os.sched_getaffinity(0)) >= 2 and shutil.which("taskset"):
        layouts.append(("a core each", (0, 1)))
    rows = [("here, a process per core", "", measure())]
    with two_hosts(net) as (a, b):
        port = 6390
        url = f"redis://{net}.1:{port}/0"
        for layout, cores in layouts:
            redis = subprocess.Popen([*on(a, cores[0]), REDIS, "--port", str(port), "--bind", f"{net}.1", "--save",
                                      "", "--appendonly", "no", "--protected-mode", "no"], stdout=subprocess.DEVNULL)
            try:
                time.sleep(0.5)
                for hosts in ((a,), (a, b)):
                    workers = [subprocess.Popen([*on(ns, cores[i]), sys.executable, "-m", "training", "worker",
                                                 "--redis", url, "--name", f"w{i}"], env=env, cwd=ROOT,
                                                stdout=subprocess.DEVNULL) for i, ns in enumerate(hosts)]
                    try:
                        label = "2 hosts, a worker each" if len(hosts) > 1 else "1 host, a worker"
                        rows.append((label, layout, measure(url, on(a, cores[0]))))
                        print(f"{label}, {layout}: {rows[-1][2]['s']:.1f} s", flush=True)
                    finally:
                        for w in workers:
                            w.terminate()
                            w.wait(timeout=60)
            finally:
                redis.terminate()
                redis.wait(timeout=30)
    print(f"\nevaluation of {deck.name} ({', '.join(VARIANTS)}; the scale curve included)")
    print(f"{'where':>28} {'hosts':>18} {'wall s':>7} {'vs one host':>12}  mAP50-95 per variant")
    for label, layout, r in rows:
        one = next((x[2]["s"] for x in rows if x[1] == layout and x[0].startswith("1 host")), None)
        ratio = f"{one / r['s']:>11.2f}x" if one and layout else f"{'':>12}"
        maps = " ".join(f"{v:.4f}" for v in r["metrics"].values())
        print(f"{label:>28} {layout:>18} {r['s']:>7.1f} {ratio}  {maps}")
    same = all(r["metrics"] == rows[0][2]["metrics"] for _, _, r in rows)
    print(f"the same metrics everywhere: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[24, 240, 960])
    parser.add_argument("--skip-sample", action="store_true")
    parser.add_argument("--workers", action=argparse.BooleanOptionalAction, default=True,
                        help="the largest split's evaluation on deck workers on test hosts (default: on)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu()}, {os.cpu_count()} cores")
    data = dataset(max(args.sizes))
    ckpt = checkpoint()
    rows = []
    for n in args.sizes:
        wall, manifest = build(n, subset(data, n), ckpt)
        rows.append((n, wall, manifest.get("build", {})))
        b = rows[-1][2]
        print(f"{n} images: {wall:.0f} s (export {b.get('export_s', 0):.0f} s, evaluate + scale "
              f"{b.get('evaluate_s', 0):.0f} s, latency {b.get('latency_s', 0):.0f} s)", flush=True)
    print(f"\ndeck build, {len(VARIANTS)} variants at {IMGSZ} px ({', '.join(VARIANTS)})")
    print(f"{'test images':>11} {'wall s':>7} {'export s':>9} {'eval+scale s':>13} {'latency s':>10} "
          f"{'infer ms/img':>13} {'metrics ms/img':>15} {'scale s':>8} {'s per image':>12}")
    for n, wall, b in rows:
        scale = b.get("scale_inference_s", 0) + b.get("scale_metrics_s", 0)
        print(f"{n:>11} {wall:>7.0f} {b.get('export_s', 0):>9.0f} {b.get('evaluate_s', 0):>13.1f} "
              f"{b.get('latency_s', 0):>10.0f} {b.get('inference_ms', 0):>13.1f} {b.get('metrics_ms', 0):>15.1f} "
              f"{scale:>8.1f} {b.get('evaluate_s', 0) / n:>12.3f}")
    print("infer and metrics: per test image and variant (one-thread detectors, one process per core); scale: CPU "
          "seconds of the curve's model calls and scoring, on a sample; s per image: evaluate + scale wall / images")
    if not args.skip_sample:
        n = 240 if 240 in args.sizes else args.sizes[-1]
        sample_study(WORK / f"deck{n}", WORK / f"data{n}.yaml")
        per_image_costs(WORK / f"deck{n}", WORK / f"data{n}.yaml")
    if args.workers:
        n = max(args.sizes)
        workers_study(WORK / f"deck{n}", WORK / f"data{n}.yaml")


if __name__ == "__main__":
    main()
