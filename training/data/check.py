"""``python -m training data check``: what is wrong with a dataset before an hour of training finds it.

Errors (the exit status is 1; ``train`` stops on them): images that do not open, label lines that are not five
numbers, class ids outside the names, coordinates outside the image, boxes of no width or height, and the
same image in two splits (the test split would grade what the model trained on). Warnings: images without
labels (fine for background images, worth a look otherwise), duplicates inside one split. The report also
counts images and objects per class and split, and measures the objects at the input size you plan to train
at: an object whose side is under ``MIN_PX`` network pixels is below the model's finest grid cell (stride 8),
and the report names the tile grid (``detect(tiles=...)``) that would show the median such object at
``MIN_PX`` * 2.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from hub.runtime.tiles import grid_for
from training.data.layout import SPLITS, label_path, read_data_yaml, split_images

MIN_PX = 8.0  # the smallest stride of a YOLO detector's heads: one grid cell at the network's input
EPS = 1e-6  # label coordinates are written rounded to 6 decimals


@dataclass
class Finding:
    level: str  # "error" | "warning"
    kind: str
    file: str
    detail: str


@dataclass
class Report:
    root: str
    imgsz: int
    classes: list[str]
    images: dict[str, int] = field(default_factory=dict)  # per split
    objects: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> class -> count
    findings: list[Finding] = field(default_factory=list)
    sizes: dict[str, float] = field(default_factory=dict)  # object sides at the network: median, p05, small

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": not self.errors}, indent=2)

    def table(self) -> str:
        """The report as text: a table per split and class, the sizes, then every finding."""
        head = f"{'split':<6} {'images':>7} " + " ".join(f"{c[:12]:>12}" for c in self.classes)
        rows = [head, "-" * len(head)]
        for split in SPLITS:
            if split in self.images:
                counts = self.objects.get(split, {})
                rows.append(f"{split:<6} {self.images[split]:>7} "
                            + " ".join(f"{counts.get(c, 0):>12}" for c in self.classes))
        s = self.sizes
        if s:
            rows.append(f"object side at {self.imgsz} px: median {s['median_px']:.1f}, 5th percentile "
                        f"{s['p05_px']:.1f}; {int(s['small'])} under {MIN_PX:g} px"
                        + (f" (tiles {int(s['tile_rows'])}x{int(s['tile_cols'])} would show their median at "
                           f"{2 * MIN_PX:g} px)" if s["small"] else ""))
        by_kind = Counter((f.level, f.kind) for f in self.findings)
        rows += [f"{level}: {n} x {kind}" for (level, kind), n in sorted(by_kind.items())]
        rows += [f"  {f.level} {f.kind}: {f.file}: {f.detail}" for f in self.findings[:50]]
        if len(self.findings) > 50:
            rows.append(f"  ... {len(self.findings) - 50} more in the JSON report")
        rows.append("OK" if not self.errors else f"{len(self.errors)} error(s): fix them before training")
        return "\n".join(rows)


def _labels(path: Path, n_classes: int, report: Report, name: str) -> np.ndarray:
    """The label file's rows (class, cx, cy, w, h), each bad line reported and dropped."""
    rows = []
    for k, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            cls, cx, cy, w, h = (float(p) for p in parts)
        except ValueError:
            report.findings.append(Finding("error", "malformed label", name, f"line {k}: {line.strip()[:60]!r}"))
            continue
        if cls != int(cls) or not 0 <= cls < n_classes:
            report.findings.append(Finding("error", "class out of range", name,
                                           f"line {k}: class {parts[0]} (names has {n_classes})"))
            continue
        if w <= 0 or h <= 0:
            report.findings.append(Finding("error", "degenerate box", name, f"line {k}: width {w:g}, height {h:g}"))
            continue
        if min(cx - w / 2, cy - h / 2) < -EPS or max(cx + w / 2, cy + h / 2) > 1 + EPS:
            report.findings.append(Finding("error", "box outside the image", name,
                                           f"line {k}: centre ({cx:g}, {cy:g}) size ({w:g}, {h:g})"))
            continue
        rows.append((cls, cx, cy, w, h))
    return np.array(rows, np.float64).reshape(-1, 5)


def check_dataset(data_yaml: str | Path, *, imgsz: int = 640) -> Report:
    """Check every split of a data.yaml (or a dataset folder holding one)."""
    path = Path(data_yaml)
    data = read_data_yaml(path / "data.yaml" if path.is_dir() else path)
    names = data["names"]
    report = Report(root=str(data["root"]), imgsz=imgsz, classes=names)
    seen: dict[str, tuple[str, str]] = {}  # content sha256 -> (split, file)
    sides, small_sides = [], []
    for split in SPLITS:
        if not data.get(split) or not (data["root"] / data[split]).is_dir():
            continue
        images = split_images(data, split)
        report.images[split] = len(images)
        counts: Counter[str] = Counter()
        for image in images:
            name = str(image.relative_to(data["root"]))
            raw = image.read_bytes()
            digest = hashlib.sha256(raw).hexdigest()
            if digest in seen:
                where, first = seen[digest]
                level = "error" if where != split else "warning"
                report.findings.append(Finding(level, "duplicate image", name, f"same bytes as {first} ({where})"))
            else:
                seen[digest] = (split, name)
            try:
                with Image.open(image) as im:
                    im.load()
                    width, height = im.size
            except Exception as exc:  # Pillow raises many types for a broken file
                report.findings.append(Finding("error", "image does not open", name, f"{type(exc).__name__}: {exc}"))
                continue
            lab = label_path(image)
            rows = _labels(lab, len(names), report, name) if lab.is_file() else np.zeros((0, 5))
            if not len(rows):
                report.findings.append(Finding("warning", "no labels", name, "no boxes (a background image?)"))
                continue
            counts.update(names[int(c)] for c in rows[:, 0])
            side = np.sqrt(rows[:, 3] * width * rows[:, 4] * height) * imgsz / max(width, height)
            sides.append(side)
            small_sides += [(s / imgsz * max(width, height), width, height) for s in side[side < MIN_PX]]
        report.objects[split] = dict(counts)
    if sides:
        every = np.concatenate(sides)
        report.sizes = {"median_px": float(np.median(every)), "p05_px": float(np.percentile(every, 5)),
                        "small": float(len(small_sides)), "tile_rows": 1.0, "tile_cols": 1.0}
        if small_sides:
            side_img = float(np.median([s for s, _, _ in small_sides]))
            w = int(np.median([w for _, w, _ in small_sides]))
            h = int(np.median([h for _, _, h in small_sides]))
            rows_, cols_ = grid_for(w, h, side_img, size=imgsz, object_px=2 * MIN_PX)
            report.sizes.update(tile_rows=float(rows_), tile_cols=float(cols_))
    return report
