"""``python -m training deck``: export every variant of a run, evaluate each, write manifest + card."""

from __future__ import annotations

import importlib.metadata
import multiprocessing
import shutil
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hub.base import catalog, offline
from hub.deck import card
from hub.deck.manifest import Manifest, Variant, sha256_of
from training.data.layout import read_data_yaml, read_labels, split_images
from training.evaluate import LATENCY_BLOCK, GroundTruth, measure_latencies
from training.export import Exporter
from training.measure import Measured, measure_deck
from training.quiet import captured, quiet_scale_guess

PLOTS = ("results.png", "confusion_matrix.png", "BoxPR_curve.png", "BoxF1_curve.png", "labels.jpg",
         "val_batch0_pred.jpg")
# what made and ran the variants (from the catalog), and what else shapes the numbers
TOOLS = tuple(dict.fromkeys([*(v.exporter for v in catalog.VARIANTS.values()),
                             *(b.runtime for b in catalog.BACKENDS.values()),
                             "ultralytics", "onnx", "litert-torch", "pycocotools", "yolodeck"]))


def tool_versions() -> dict[str, str]:
    out = {}
    for name in TOOLS:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def model_size(checkpoint: Path, imgsz: int) -> tuple[int, float]:
    """(parameters, GFLOPs at ``imgsz``) of a checkpoint's model, as Ultralytics counts them."""
    from ultralytics import YOLO
    from ultralytics.utils.torch_utils import get_flops, get_num_params

    offline.configure()
    model = YOLO(str(checkpoint), task="detect").model
    return int(get_num_params(model)), round(float(get_flops(model, imgsz)), 3)


def checkpoint_of(run: Path) -> Path:
    if run.is_file():
        return run
    for candidate in (run / "weights" / "best.pt", run / "weights" / "last.pt"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no weights/best.pt in {run}: is it a training run folder?")


def _in_subprocess(fn, *args, **kwargs):
    """A fresh process: runtimes keep their threads and memory to themselves, and a crash stays there."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def _latencies(files: dict[str, tuple[Path, str]], test: list[Path], names: list[str], imgsz: int, threads: int,
               rounds: int):
    # the calls use at most rounds x LATENCY_BLOCK images: the rest of a large split is not decoded
    arrays = GroundTruth.load(test[:rounds * LATENCY_BLOCK]).arrays
    return measure_latencies(files, arrays, names, imgsz=imgsz, threads=threads, rounds=rounds)


def build_deck(
    run: str | Path,
    *,
    data: str | Path,
    out: str | Path,
    variants: list[str] | None = None,
    imgsz: int | None = None,
    threads: int = 2,
    calibration: int = 64,
    name: str | None = None,
    examples: int = 4,
    object_scale: bool = True,
    jobs: int | None = None,
    workers: str | None = None,
    latency_rounds: int = 8,
) -> Manifest:
    """Export and evaluate ``variants`` (default: all) of ``run`` into the deck folder ``out``.

    A variant that cannot be made here is kept in the manifest as ``unavailable`` with the reason.
    The first ``examples`` test images travel with the deck (``examples/``) for the apps. ``object_scale``: measure
    how small its objects may get (``training.scale``, what ``detect(tiles="auto")`` reads). ``jobs``: processes
    that evaluate side by side (default: one per core, each a one-thread detector); ``threads`` is latency's.
    ``workers``: a Redis URL whose deck workers (``python -m training worker``) run the evaluation instead.
    ``latency_rounds``: blocks of 10 calls per variant, in turn (fewer: a quicker, noisier latency).
    """
    if latency_rounds < 1:
        raise ValueError(f"latency_rounds must be 1 or more, not {latency_rounds}")
    run, out = Path(run), Path(out)
    checkpoint = checkpoint_of(run)
    run_dir = checkpoint.parent.parent if checkpoint.parent.name == "weights" else checkpoint.parent
    data_cfg = read_data_yaml(data)
    test = split_images(data_cfg, "test") or split_images(data_cfg, "val")
    split = "test" if split_images(data_cfg, "test") else "val"
    calib = split_images(data_cfg, "train")[:calibration]
    wanted = variants or list(catalog.VARIANTS)
    unknown = [v for v in wanted if v not in catalog.VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; known: {', '.join(catalog.VARIANTS)}")
    wanted = [v for v in catalog.VARIANTS if v in wanted]  # in export order: shared files are made first
    out.mkdir(parents=True, exist_ok=True)

    quiet_scale_guess()
    with captured():
        exporter = Exporter(checkpoint, out, imgsz=imgsz, calibration=calib)
    train_args, imgsz = exporter.train_args, exporter.imgsz
    names = exporter.names
    tools = tool_versions()
    entries: list[Variant] = []
    stages = {"start": time.perf_counter()}
    try:
        for vid in tqdm(wanted, desc="deck: export", unit="variant"):
            kind = catalog.VARIANTS[vid]
            try:
                with captured():  # the exporters' banners and timings; kept with the error if the step fails
                    path = exporter.export(vid)
            except Exception as exc:  # an exporter failing is recorded, not fatal: the rest of the deck stands
                entries.append(_unavailable(vid, exc, out, entries))
                continue
            entries.append(Variant(
                id=vid, backend=kind.backend, precision=kind.precision, file=kind.file, bytes=path.stat().st_size,
                sha256=sha256_of(path),
                tools={"exporter": _exporter_of(vid, tools), "runtime": _runtime_of(kind.backend, tools)},
            ))
    finally:
        exporter.close()
    stages["export"] = time.perf_counter()
    made = {v.id: (out / v.file, v.backend) for v in entries if v.ok}
    measured = measure_deck(made, test, names, imgsz=imgsz, object_scale_curve=object_scale, jobs=jobs,
                            workers=workers)
    for i, v in enumerate(entries):
        if v.id in measured.failed:
            entries[i] = _unavailable(v.id, RuntimeError(measured.failed[v.id]), out, entries[:i] + entries[i + 1:])
        elif v.id in measured.metrics:
            v.metrics = measured.metrics[v.id]
    stages["evaluate"] = time.perf_counter()
    made = {v.id: (out / v.file, v.backend) for v in entries if v.ok}
    if made:
        tqdm.write(f"deck: latency of {len(made)} variants, blocks of calls in turn")
        for vid, latency in _in_subprocess(_latencies, made, test, names, imgsz, threads,
                                                latency_rounds).items():
            next(v for v in entries if v.id == vid).latency_ms = latency
    stages["latency"] = time.perf_counter()

    files = {}
    (out / "training").mkdir(exist_ok=True)
    for plot in PLOTS + ("results.csv",):
        if (run_dir / plot).is_file():
            shutil.copyfile(run_dir / plot, out / "training" / plot)
            files[Path(plot).stem] = f"training/{plot}"
    if examples:
        (out / "examples").mkdir(exist_ok=True)
        for i, image in enumerate(test[:examples]):
            shutil.copyfile(image, out / "examples" / image.name)
            files[f"example_{i}"] = f"examples/{image.name}"
    instances = sum(len(read_labels(p, 1, 1)) for p in test)
    with captured():
        size = model_size(checkpoint, imgsz)
    manifest = Manifest(
        model=name or (run_dir.name if run.is_dir() else checkpoint.stem),
        classes=names,
        imgsz=imgsz,
        variants=entries,
        dataset={"name": (data_cfg.get("yolodeck") or {}).get("generator") or Path(data_cfg["root"]).name,
                 "split": split, "images": len(test), "instances": instances, "image_size": _median_size(test)},
        tools=tools,
        training={k: train_args[k] for k in ("model", "epochs", "imgsz", "batch", "optimizer", "lr0", "seed")
                  if k in train_args},
        architecture=dict(zip(("parameters", "gflops"), size, strict=True)),
        files=files,
    )
    manifest.objects = measured.objects
    manifest.build = _build_times(stages, measured, len(made))
    manifest.write(out)
    (out / "README.md").write_text(card.render(manifest))
    return manifest


def _unavailable(vid: str, exc: Exception, out: Path, others: list[Variant]) -> Variant:
    """A variant that could not be made or run here: kept in the manifest with the reason, its file removed."""
    kind = catalog.VARIANTS[vid]
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    tqdm.write(f"{vid}: unavailable ({reason})\n{''.join(traceback.format_exception(exc, limit=3))}")
    if not any(v.ok and v.file == kind.file for v in others):  # OpenVINO shares ONNX's files
        (out / kind.file).unlink(missing_ok=True)
    return Variant(id=vid, backend=kind.backend, precision=kind.precision, file=kind.file, status="unavailable",
                   reason=reason)


def _build_times(stages: dict[str, float], measured: Measured, variants: int) -> dict[str, float]:
    """Wall seconds per stage; per test image and variant, the model call and the scoring, in milliseconds."""
    t = measured.seconds
    per = 1e3 / max(1.0, t.get("images", 0.0) * max(variants, 1))
    out = {"export_s": stages["export"] - stages["start"], "evaluate_s": stages["evaluate"] - stages["export"],
           "latency_s": stages["latency"] - stages["evaluate"],
           "inference_ms": t.get("inference", 0.0) * per, "metrics_ms": t.get("metrics", 0.0) * per,
           "scale_inference_s": t.get("scale_inference", 0.0), "scale_metrics_s": t.get("scale_metrics", 0.0),
           "scale_images": t.get("scale_images", 0.0), "total_s": time.perf_counter() - stages["start"]}
    return {k: round(float(v), 3) for k, v in out.items()}


def _exporter_of(vid: str, tools: dict[str, str]) -> str:
    kind = catalog.VARIANTS[vid]
    kind = catalog.VARIANTS[kind.shares] if kind.shares else kind
    note = " (weights only)" if kind.id == "pt" else ""
    return f"{kind.exporter} {tools.get(kind.exporter, '?')}{note}"


def _runtime_of(backend: str, tools: dict[str, str]) -> str:
    pkg = catalog.BACKENDS[backend].runtime
    return f"{pkg} {tools.get(pkg, '?')}"


def _median_size(images: list[Path]) -> list[int]:
    """The median (width, height) of the test images: what ``detect(tiles="auto")`` sizes its tiles by."""
    from PIL import Image

    sizes = []
    for p in images:
        with Image.open(p) as im:
            sizes.append(im.size)
    return [int(v) for v in np.median(np.array(sizes), axis=0)] if sizes else []
