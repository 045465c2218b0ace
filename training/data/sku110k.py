"""Convert the SKU-110K release (CSV annotations + images folder) into the YOLO layout.

The release has ``images/{train,val,test}_N.jpg`` and ``annotations/annotations_{split}.csv``
with rows ``image_name,x1,y1,x2,y2,class,image_width,image_height`` and no header. Every row
is checked; malformed ones (bad numbers, empty or out-of-image boxes, a size that disagrees
with the image, a missing or unreadable image) are reported and skipped, never kept.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from training.data.layout import SPLITS, Box, prepare, write_data_yaml

NAMES = ["product"]


@dataclass
class ConversionReport:
    """What the conversion kept and what it skipped, with one reason per skipped row or image."""

    images: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    boxes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        kept = ", ".join(f"{s}: {self.images[s]} images / {self.boxes[s]} boxes" for s in SPLITS if s in self.images)
        return f"kept {kept or 'nothing'}; skipped {len(self.skipped)}"


def _image_size(path: Path) -> tuple[int, int] | None:
    try:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            return im.size
    except (OSError, SyntaxError, ValueError, ImportError, Image.DecompressionBombError):
        # ImportError: Ultralytics' Image.open patch tries an optional HEIF plugin on unreadable files
        return None


def _parse_row(row: list[str]) -> tuple[str, float, float, float, float, int, int]:
    if len(row) != 8:
        raise ValueError(f"expected 8 fields, got {len(row)}")
    name, x1, y1, x2, y2, _cls, w, h = row
    return name.strip(), float(x1), float(y1), float(x2), float(y2), int(w), int(h)


def convert(
    release: str | Path, out: str | Path, *, link: bool = True, progress: bool = True
) -> tuple[Path, ConversionReport]:
    """Convert ``release`` (with ``images/`` and ``annotations/``) into ``out``; return data.yaml and the report.

    Args:
        release: the unpacked SKU110K_fixed folder.
        out: where the YOLO layout goes.
        link: hard-link images when possible instead of copying them.
    """
    release, root = Path(release), Path(out)
    if not (release / "images").is_dir() or not (release / "annotations").is_dir():
        raise FileNotFoundError(f"{release} has no images/ and annotations/ folders (is it the SKU110K_fixed release?)")
    prepare(root)
    report = ConversionReport()
    for split in SPLITS:
        csv_path = release / "annotations" / f"annotations_{split}.csv"
        if not csv_path.is_file():
            report.skipped.append(f"{csv_path.name}: missing, split '{split}' left empty")
            continue
        per_image: dict[str, list[Box]] = defaultdict(list)
        sizes: dict[str, tuple[int, int] | None] = {}
        with csv_path.open(newline="") as fh:
            rows = list(csv.reader(fh))
        for lineno, row in enumerate(tqdm(rows, desc=f"sku110k {split}", unit="row", disable=not progress), 1):
            where = f"{csv_path.name}:{lineno}"
            try:
                name, x1, y1, x2, y2, w, h = _parse_row(row)
            except ValueError as exc:
                report.skipped.append(f"{where}: bad row ({exc})")
                continue
            if not name or Path(name).name != name:
                report.skipped.append(f"{where}: bad image name {name!r}")
                continue
            if name not in sizes:
                sizes[name] = _image_size(release / "images" / name) if (release / "images" / name).is_file() else None
            size = sizes[name]
            if size is None:
                report.skipped.append(f"{where}: image {name} missing or unreadable")
                continue
            if size != (w, h):
                report.skipped.append(f"{where}: CSV says {w}x{h} but {name} is {size[0]}x{size[1]}")
                continue
            if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
                report.skipped.append(f"{where}: box ({x1}, {y1}, {x2}, {y2}) outside the {w}x{h} image or empty")
                continue
            per_image[name].append(Box(0, x1, y1, x2, y2))
        for name, boxes in per_image.items():
            src = release / "images" / name
            dst = root / "images" / split / name
            if dst.exists():
                dst.unlink()
            try:
                if not link:
                    raise OSError
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
            w, h = sizes[name]  # type: ignore[misc]
            label = root / "labels" / split / f"{Path(name).stem}.txt"
            label.write_text("\n".join(b.yolo_line(w, h) for b in boxes) + "\n")
            report.images[split] += 1
            report.boxes[split] += len(boxes)
    (root / "skipped.txt").write_text("\n".join(report.skipped) + ("\n" if report.skipped else ""))
    return write_data_yaml(root, NAMES, extra={"source": "SKU-110K", "skipped": len(report.skipped)}), report
