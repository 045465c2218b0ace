"""Pre-annotations: a deck's detections over a folder of images, written for a labelling tool to start from.

Formats: ``labelstudio`` (a task list with ``predictions``: ``model_version`` names the repo, its commit and the
variant; a score per box and per task; boxes in percent of the image as shown; and the labeling interface they
refer to, to paste into the project's settings), ``coco`` (a results list, with
the images and categories it refers to in a file beside it), ``yolo`` (a label file per image, with a confidence
column) and ``csv`` (one row per box). Files that are not images, or that do not open, are listed in
``skipped.txt`` and skipped; nothing stops the run.
"""

from __future__ import annotations

import csv
import glob
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from tqdm import tqdm

from hub.base.errors import YolodeckError
from hub.runtime import Detections, Detector
from hub.runtime.detector import Tiles

FORMATS = ("labelstudio", "coco", "yolo", "csv")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass
class Predicted:
    images: int = 0
    boxes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    files: list[Path] = field(default_factory=list)  # what was written


def sources(spec: str) -> list[Path]:
    """A folder (its images, recursively), a text file listing paths, or a glob pattern."""
    path = Path(spec)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if path.is_file() and path.suffix.lower() == ".txt":
        return [Path(line.strip()) for line in path.read_text().splitlines() if line.strip()]
    if path.is_file():
        return [path]
    found = sorted(Path(p) for p in glob.glob(spec, recursive=True))
    if not found:
        raise YolodeckError(f"{spec}: no such folder, file or matching files")
    return found


def detect_all(detector: Detector, images: list[Path], *, conf: float, iou: float, max_det: int, tiles: Tiles,
               progress: bool = True) -> Iterator[tuple[Path, Detections | None, str | None]]:
    """Each image's detections, or None and why it was skipped."""
    for image in tqdm(images, desc="predict", unit="img", disable=not progress):
        try:
            yield image, detector.detect(image, conf=conf, iou=iou, max_det=max_det, tiles=tiles), None
        except (YolodeckError, OSError, ValueError) as exc:
            yield image, None, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


def label_config(names: list[str]) -> str:
    """Label Studio's labeling interface for the tasks: the image, and a rectangle label per class, under the names
    the predictions use (``from_name`` "label", ``to_name`` "image")."""
    labels = "".join(f"\n    <Label value={quoteattr(n)}/>" for n in names)
    return (f'<View>\n  <Image name="image" value="$image"/>\n  <RectangleLabels name="label" toName="image">{labels}'
            "\n  </RectangleLabels>\n</View>\n")


def write(results: list[tuple[Path, Detections]], names: list[str], out: Path, fmt: str, *,
          model_version: str) -> list[Path]:
    """Write ``results`` as ``fmt`` under ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "labelstudio":
        tasks = []
        for image, d in results:
            w, h = d.image_size
            result = [{"id": f"p{i}", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
                       "original_width": w, "original_height": h, "image_rotation": 0, "score": float(s),
                       "value": {"x": x1 / w * 100, "y": y1 / h * 100, "width": (x2 - x1) / w * 100,
                                 "height": (y2 - y1) / h * 100, "rotation": 0, "rectanglelabels": [names[int(c)]]}}
                      for i, ((x1, y1, x2, y2), s, c) in enumerate(zip(d.xyxy.tolist(), d.confidence.tolist(),
                                                                        d.class_id.tolist(), strict=True))]
            score = float(d.confidence.mean()) if len(d) else 0.0
            tasks.append({"data": {"image": str(image)},
                          "predictions": [{"model_version": model_version, "score": score, "result": result}]})
        path, config = out / "labelstudio.json", out / "labelstudio_config.xml"
        path.write_text(json.dumps(tasks, indent=1))
        config.write_text(label_config(names))
        return [path, config]
    if fmt == "coco":
        images = [{"id": i, "file_name": str(p), "width": d.image_size[0], "height": d.image_size[1]}
                  for i, (p, d) in enumerate(results)]
        found = [{"image_id": i, "category_id": int(c), "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(s)}
                 for i, (_, d) in enumerate(results)
                 for (x1, y1, x2, y2), s, c in zip(d.xyxy.tolist(), d.confidence.tolist(), d.class_id.tolist(),
                                                   strict=True)]
        meta = out / "coco_images.json"
        meta.write_text(json.dumps({"images": images, "categories": [{"id": k, "name": n} for k, n in
                                                                     enumerate(names)],
                                    "info": {"description": f"predictions of {model_version}"}}, indent=1))
        path = out / "coco_results.json"
        path.write_text(json.dumps(found))
        return [meta, path]
    if fmt == "yolo":
        folder = out / "labels"
        folder.mkdir(exist_ok=True)
        (out / "classes.txt").write_text("\n".join(names) + "\n")
        written = [out / "classes.txt"]
        for image, d in results:
            w, h = d.image_size
            lines = [f"{int(c)} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} "
                     f"{(y2 - y1) / h:.6f} {s:.4f}"
                     for (x1, y1, x2, y2), s, c in zip(d.xyxy.tolist(), d.confidence.tolist(), d.class_id.tolist(),
                                                       strict=True)]
            path = folder / f"{image.stem}.txt"
            path.write_text("\n".join(lines) + ("\n" if lines else ""))
            written.append(path)
        return written
    if fmt == "csv":
        path = out / "predictions.csv"
        with path.open("w", newline="") as fh:
            table = csv.writer(fh)
            table.writerow(["image", "class", "confidence", "x1", "y1", "x2", "y2", "image_width", "image_height"])
            for image, d in results:
                for (x1, y1, x2, y2), s, c in zip(d.xyxy.tolist(), d.confidence.tolist(), d.class_id.tolist(),
                                                  strict=True):
                    table.writerow([str(image), names[int(c)], f"{s:.4f}", f"{x1:.2f}", f"{y1:.2f}", f"{x2:.2f}",
                                    f"{y2:.2f}", *d.image_size])
        return [path]
    raise YolodeckError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")


def predict(detector: Detector, spec: str, out: str | Path, *, fmt: str, model_version: str, conf: float = 0.25,
            iou: float = 0.7, max_det: int = 1000, tiles: Tiles = None, progress: bool = True) -> Predicted:
    """Run ``detector`` over ``spec`` (folder, list or glob) and write pre-annotations as ``fmt`` under ``out``."""
    if fmt not in FORMATS:
        raise YolodeckError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = Path(out)
    summary, results = Predicted(), []
    for image, found, why in detect_all(detector, sources(spec), conf=conf, iou=iou, max_det=max_det, tiles=tiles,
                                        progress=progress):
        if found is None:
            summary.skipped.append((str(image), why or "?"))
            continue
        results.append((image, found))
        summary.boxes += len(found)
    summary.images = len(results)
    summary.files = write(results, detector.names, out, fmt, model_version=model_version)
    if summary.skipped:
        (out / "skipped.txt").write_text("".join(f"{f}\t{why}\n" for f, why in summary.skipped))
        summary.files.append(out / "skipped.txt")
    return summary
