"""``python -m training data import``: a labelling tool's export into the YOLO layout and a data.yaml.

COCO, Pascal VOC and YOLO are read by supervision's ``DetectionDataset`` (it maps COCO's category ids, sparse
or zero-based, to contiguous ones in id order; shifts VOC's 1-based pixels; takes VOC's float coordinates).
Label Studio's JSON export and CVAT's "CVAT for images 1.1" XML are read here: each is one small, documented
format that no maintained package reads without its tool's server. What this module adds:

- one class order that does not change between runs: COCO's by category id, the others' sorted by name
  (VOC's loader would number classes in the order it meets them), or the order given with ``--classes``;
- every image re-encoded as it is shown (EXIF turned, RGBA and palette images flattened to RGB), so what
  trains is what the labels were drawn on;
- Roboflow's YOLO exports (``train``/``valid``/``test`` with a data.yaml) keep their splits; other sources
  are split by ``split`` fractions with a seed (the same files give the same split).
"""

from __future__ import annotations

import json
import random
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageOps

from hub.base.errors import DatasetError
from training.data.layout import SPLITS, Box, prepare, write_data_yaml

FORMATS = ("coco", "voc", "labelstudio", "cvat", "yolo")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass
class Labelled:
    """One image and its boxes in its own pixels, class names as the export names them."""

    image: Path
    boxes: list[tuple[str, float, float, float, float]]  # name, x1, y1, x2, y2
    split: str | None = None


def read_export(fmt: str, src: str | Path) -> list[Labelled]:
    """Every labelled image of an export, in a stable order."""
    src = Path(src)
    if not src.exists():
        raise DatasetError(f"{src}: no such file or folder")
    reader = {"coco": _coco, "voc": _voc, "labelstudio": _labelstudio, "cvat": _cvat, "yolo": _yolo}.get(fmt)
    if reader is None:
        raise DatasetError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    items = reader(src)
    if not items:
        raise DatasetError(f"{src}: no labelled images found as {fmt}")
    return sorted(items, key=lambda it: str(it.image))


def _images_in(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES}


def _from_sv(dataset, split: str | None = None) -> list[Labelled]:
    out = []
    for path, _, det in dataset:
        names = [dataset.classes[int(c)] for c in det.class_id] if det.class_id is not None else []
        out.append(Labelled(Path(path), [(n, *map(float, b)) for n, b in zip(names, det.xyxy, strict=True)], split))
    return out


def _coco(src: Path) -> list[Labelled]:
    import supervision as sv

    files = [src] if src.is_file() else sorted(src.rglob("*.json"))
    if not files:
        raise DatasetError(f"{src}: no COCO annotations (*.json) in it")
    out = []
    for ann in files:
        split = _split_name(ann.parent.name) if src.is_dir() else None
        images = ann.parent if any(ann.parent.glob("*.jp*g")) or any(ann.parent.glob("*.png")) else ann.parent.parent
        out += _from_sv(sv.DetectionDataset.from_coco(str(_coco_images(ann, images)), str(ann)), split)
    return out


def _coco_images(ann: Path, guess: Path) -> Path:
    """Where a COCO file's ``file_name`` s are: beside it, an ``images`` folder beside it, or its parent."""
    first = (json.loads(ann.read_text()).get("images") or [{}])[0].get("file_name", "")
    for folder in (ann.parent, ann.parent / "images", guess, guess / "images"):
        if (folder / first).is_file():
            return folder
    return ann.parent


def _voc(src: Path) -> list[Labelled]:
    import supervision as sv

    annotations = src / "Annotations" if (src / "Annotations").is_dir() else src
    images = src / "JPEGImages" if (src / "JPEGImages").is_dir() else src
    return _from_sv(sv.DetectionDataset.from_pascal_voc(str(images), str(annotations)))


def _yolo(src: Path) -> list[Labelled]:
    """Ultralytics' layout (``images/train`` beside ``labels/train``) or Roboflow's (``train/images`` beside
    ``train/labels``), splits as its data.yaml names them."""
    import supervision as sv

    data = src / "data.yaml"
    if not data.is_file():
        raise DatasetError(f"{src}: a YOLO export has a data.yaml at its top")
    cfg = yaml.safe_load(data.read_text()) or {}
    out = []
    for key in ("train", "val", "test"):
        images = _resolve(src, str(cfg.get(key) or ""))
        if images is None:
            continue
        labels = images.parent / "labels" if images.name == "images" else images.parent.parent / "labels" / images.name
        out += _from_sv(sv.DetectionDataset.from_yolo(str(images), str(labels), str(data)), key)
    return out


def _resolve(root: Path, rel: str) -> Path | None:
    """A data.yaml split folder. Roboflow writes ``../train/images``, as seen from a folder inside the export."""
    if not rel:
        return None
    parts = Path(rel).parts
    while parts and parts[0] == "..":
        parts = parts[1:]
    for candidate in (root / rel, root.joinpath(*parts) if parts else root):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def _labelstudio(src: Path) -> list[Labelled]:
    """Label Studio's JSON export: tasks whose annotations hold ``rectanglelabels`` in percent of the image."""
    path = src if src.is_file() else next(iter(sorted(src.glob("*.json"))), None)
    if path is None:
        raise DatasetError(f"{src}: no Label Studio export (*.json) in it")
    tasks = json.loads(path.read_text())
    if not isinstance(tasks, list):
        raise DatasetError(f"{path}: a Label Studio JSON export is a list of tasks")
    images = _images_in(path.parent)
    out = []
    for i, task in enumerate(tasks):
        ref = str((task.get("data") or {}).get("image", ""))
        name = ref.rsplit("/", 1)[-1].split("?")[0]
        name = name.split("-", 1)[1] if name not in images and "-" in name else name  # uploads get a prefix
        if name not in images:
            raise DatasetError(f"{path}: task {i}: image {ref!r} is not in {path.parent}")
        boxes = []
        for annotation in task.get("annotations") or []:
            for r in annotation.get("result") or []:
                if r.get("type") != "rectanglelabels":
                    continue
                v, w, h = r["value"], r["original_width"], r["original_height"]
                x, y = v["x"] / 100 * w, v["y"] / 100 * h
                boxes.append((v["rectanglelabels"][0], x, y, x + v["width"] / 100 * w, y + v["height"] / 100 * h))
            break  # the first annotation of a task (Label Studio's own export of several: one per annotator)
        out.append(Labelled(images[name], boxes))
    return out


def _cvat(src: Path) -> list[Labelled]:
    """CVAT's "CVAT for images 1.1" XML: ``<image name width height>`` with ``<box label xtl ytl xbr ybr>``."""
    path = src if src.is_file() else src / "annotations.xml"
    if not path.is_file():
        raise DatasetError(f"{src}: no annotations.xml (CVAT for images 1.1)")
    root = ET.parse(path).getroot()
    images = _images_in(path.parent)
    out = []
    for node in root.iter("image"):
        name = Path(node.get("name", "")).name
        if name not in images:
            raise DatasetError(f"{path}: image {node.get('name')!r} is not in {path.parent}")
        boxes = [(b.get("label"), float(b.get("xtl")), float(b.get("ytl")), float(b.get("xbr")), float(b.get("ybr")))
                 for b in node.iter("box")]
        out.append(Labelled(images[name], boxes))
    return out


def _split_name(name: str) -> str | None:
    return {"train": "train", "valid": "val", "val": "val", "test": "test"}.get(name.lower())


def class_order(fmt: str, src: Path, items: list[Labelled], given: list[str] | None) -> list[str]:
    """The classes in an order that holds between runs: given, COCO's by category id, else sorted by name."""
    seen = sorted({b[0] for it in items for b in it.boxes})
    if given:
        missing = [n for n in seen if n not in given]
        if missing:
            raise DatasetError(f"classes {missing} are labelled but not in --classes {given}")
        return list(given)
    if fmt == "coco":
        files = [src] if src.is_file() else sorted(src.rglob("*.json"))
        cats = sorted({(c["id"], c["name"]) for f in files for c in json.loads(f.read_text()).get("categories", [])})
        ordered = list(dict.fromkeys(name for _, name in cats))
        return [n for n in ordered if n in seen] + [n for n in seen if n not in ordered]
    if fmt == "yolo":
        names = (yaml.safe_load((src / "data.yaml").read_text()) or {}).get("names") or []
        names = [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)
        return names + [n for n in seen if n not in names]
    return seen


def write_dataset(items: list[Labelled], names: list[str], out: Path, *, split: tuple[float, float, float],
                  seed: int, source: str) -> Path:
    """The YOLO layout under ``out``: each image re-encoded as shown (RGB JPEG, or PNG kept as PNG), its labels."""
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    cut1 = round(split[0] * len(items))
    cut2 = cut1 + round(split[1] * len(items))
    assigned = {i: ("train" if k < cut1 else "val" if k < cut2 else "test") for k, i in enumerate(order)}
    prepare(out)
    index = {n: k for k, n in enumerate(names)}
    stems: set[str] = set()
    for i, item in enumerate(items):
        part = item.split or assigned[i]
        stem = _unique(item.image.stem, stems)
        with Image.open(item.image) as im:
            as_is = im.mode == "RGB" and im.format in ("JPEG", "PNG") and im.getexif().get(0x0112, 1) == 1
            suffix = ".png" if im.format == "PNG" else ".jpg"
            if as_is:  # the file itself: no second JPEG generation
                w, h = im.size
                shutil.copyfile(item.image, out / "images" / part / f"{stem}{suffix}")
            else:  # as shown: EXIF turned, RGBA / palette / grey flattened to RGB
                rgb = ImageOps.exif_transpose(im).convert("RGB")
                w, h = rgb.size
                rgb.save(out / "images" / part / f"{stem}{suffix}", quality=95)
        boxes = [Box(index[n], max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2))
                 for n, x1, y1, x2, y2 in item.boxes]
        lines = [b.yolo_line(w, h) for b in boxes]
        (out / "labels" / part / f"{stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    return write_data_yaml(out, names, extra={"imported_from": source, "seed": seed})


def _unique(stem: str, taken: set[str]) -> str:
    name, k = stem, 1
    while name in taken:
        k += 1
        name = f"{stem}_{k}"
    taken.add(name)
    return name


def import_dataset(fmt: str, src: str | Path, out: str | Path, *, split: tuple[float, float, float] = (0.8, 0.1, 0.1),
                   seed: int = 0, classes: list[str] | None = None) -> Path:
    """Read ``src`` as ``fmt`` and write it under ``out``; returns the data.yaml."""
    if len(split) != 3 or any(f < 0 for f in split) or not np.isclose(sum(split), 1.0):
        raise DatasetError(f"--split {','.join(map(str, split))}: three fractions (train, val, test) that sum to 1")
    src = Path(src)
    items = read_export(fmt, src)
    names = class_order(fmt, src, items, classes)
    return write_dataset(items, names, Path(out), split=split, seed=seed, source=f"{fmt}:{src.name}")


__all__ = ["FORMATS", "SPLITS", "DatasetError", "Labelled", "import_dataset", "read_export"]
