"""The YOLO dataset layout every yolodeck dataset uses, and its data.yaml."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml
from tqdm import tqdm

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Box:
    """One labelled box in pixels (x1, y1, x2, y2) with its class id."""

    cls: int
    x1: float
    y1: float
    x2: float
    y2: float

    def yolo_line(self, width: int, height: int) -> str:
        cx, cy = (self.x1 + self.x2) / 2 / width, (self.y1 + self.y2) / 2 / height
        w, h = (self.x2 - self.x1) / width, (self.y2 - self.y1) / height
        return f"{self.cls} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}"


def prepare(root: Path) -> None:
    for split in SPLITS:
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)


def write_sample(root: Path, split: str, stem: str, image_bgr: np.ndarray, boxes: Iterable[Box]) -> None:
    """Write one image (JPEG, quality 92) and its label file."""
    h, w = image_bgr.shape[:2]
    if not cv2.imwrite(str(root / "images" / split / f"{stem}.jpg"), image_bgr, [cv2.IMWRITE_JPEG_QUALITY, 92]):
        raise OSError(f"could not write image {stem}.jpg under {root}")
    lines = [b.yolo_line(w, h) for b in boxes]
    (root / "labels" / split / f"{stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))


def generate_splits(
    root: Path,
    counts: dict[str, int],
    render: Callable[[np.random.Generator], tuple[np.ndarray, list[Box]]],
    *,
    seed: Sequence[int],
    desc: str,
    progress: bool = True,
) -> None:
    """Render ``counts[split]`` images per split; image i of a split always comes from the same RNG stream."""
    prepare(root)
    jobs = [(split, i) for split, n in counts.items() for i in range(n)]
    for split, i in tqdm(jobs, desc=desc, unit="img", disable=not progress):
        image, boxes = render(np.random.default_rng([*seed, SPLITS.index(split), i]))
        write_sample(root, split, f"{split}_{i:05d}", image, boxes)


def write_data_yaml(root: Path, names: Sequence[str], *, extra: dict | None = None) -> Path:
    """Write ``root/data.yaml`` in the form Ultralytics accepts (absolute path, split folders, names)."""
    data = {
        "path": str(root.resolve()),
        "train": "images/train",
        "val": "images/val",
        "test": "images/test",
        "names": dict(enumerate(names)),
    }
    if extra:
        data["yolodeck"] = extra
    path = root / "data.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def read_data_yaml(path: str | Path) -> dict:
    """Read a data.yaml; resolve its root and return the dict with ``names`` as a list."""
    path = Path(path)
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "names" not in data:
        raise ValueError(f"{path} is not a YOLO data.yaml (no 'names')")
    names = data["names"]
    data["names"] = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
    root = Path(data.get("path") or path.parent)
    data["root"] = root if root.is_absolute() else (path.parent / root).resolve()
    return data


def split_images(data: dict, split: str) -> list[Path]:
    """Sorted image paths of one split of a data.yaml dict from :func:`read_data_yaml`."""
    folder = data["root"] / data[split]
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp", ".webp"})


def label_path(image: Path) -> Path:
    """images/<split>/x.jpg -> labels/<split>/x.txt (Ultralytics' rule)."""
    parts = list(image.parts)
    idx = len(parts) - 1 - parts[::-1].index("images")
    parts[idx] = "labels"
    return Path(*parts).with_suffix(".txt")


def read_labels(image: Path, width: int, height: int) -> np.ndarray:
    """Ground truth of one image as an (N, 5) array: class, x1, y1, x2, y2 in pixels."""
    path = label_path(image)
    if not path.is_file() or not path.read_text().strip():
        return np.zeros((0, 5), dtype=np.float32)
    rows = np.loadtxt(path, ndmin=2, dtype=np.float32)
    cls, cx, cy, w, h = rows.T
    return np.stack(
        [cls, (cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], axis=1
    )
