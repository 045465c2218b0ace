"""Ultralytics training, from scratch or from a checkpoint, with width/depth multiples and freezing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from hub.base import offline
from training.quiet import quiet_scale_guess


def auto_device() -> str:
    """Every GPU when present (Ultralytics runs DDP for several), else the CPU."""
    import torch

    n = torch.cuda.device_count()
    return ",".join(str(i) for i in range(n)) if n else "cpu"


def model_config(model: str | Path, *, width: float | None = None, depth: float | None = None) -> dict[str, Any]:
    """Load an Ultralytics model YAML (by name or path) and apply width/depth multiples."""
    offline.configure()
    from ultralytics.nn.tasks import yaml_model_load

    cfg = yaml_model_load(str(model))
    if width is None and depth is None:
        return cfg
    scales = cfg.get("scales") or {}
    base = scales.get(cfg.get("scale") or "", next(iter(scales.values()), [1.0, 1.0, 1024]))
    cfg["scales"] = {"custom": [depth or base[0], width or base[1], base[2] if len(base) > 2 else 1024]}
    cfg["scale"] = "custom"
    return cfg


def start_checkpoint(weights: Path, out: Path) -> Path:
    """What ``YOLO.load`` reads: a weights-only file (``python -m training weights``, the demo's
    ``checkpoints/shelves-demo.pt``) is rebuilt as an Ultralytics checkpoint in ``out``; anything else
    is taken to be a full Ultralytics checkpoint you trust (it is unpickled)."""
    import torch

    try:
        head = torch.load(str(weights), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001  (a full checkpoint holds classes a weights-only load refuses)
        return weights
    if not (isinstance(head, dict) and {"yaml", "state_dict", "names"} <= head.keys()):
        return weights
    from training.export import checkpoint_from_weights

    return checkpoint_from_weights(weights, out / "start.pt")


def train(
    *,
    data: str | Path,
    out: str | Path,
    model: str | Path = "yolov8n.yaml",
    epochs: int = 30,
    imgsz: int = 416,
    batch: int = 16,
    width: float | None = None,
    depth: float | None = None,
    freeze: int | None = None,
    weights: str | Path | None = None,
    device: str | None = None,
    seed: int = 0,
    patience: int = 100,
    nbs: int | None = None,
    allow_download: bool = False,
    **overrides: Any,
) -> Path:
    """Train and return the run folder (weights/best.pt, results.csv, plots, yolodeck.json).

    ``nbs`` (nominal batch size) defaults to ``batch``: an optimizer step every batch. Ultralytics'
    default of 64 accumulates gradients, so a small dataset gets almost no steps and learns nothing
    in a short run (measured: 0 mAP50 after 15 epochs on 48 images, 0.66 with nbs=batch).
    ``overrides`` go to ``YOLO.train`` as they are (e.g. ``warmup_epochs=0``, ``mosaic=0``).
    ``weights`` is a file; a bare name (``yolov8n.pt``) that is not one is refused with where to get it, unless
    ``allow_download`` lets Ultralytics fetch it: the one step of yolodeck that may go online, and only when asked.
    """
    if weights and not Path(weights).is_file() and not allow_download:
        raise FileNotFoundError(
            f"{weights}: no such file, and yolodeck downloads nothing unless asked. Get it on a machine that is "
            f"online (Ultralytics publishes yolov8n.pt and its siblings on its GitHub releases, "
            f"ultralytics/assets), put it here as ./{Path(weights).name} or pass its path; or pass --allow-download "
            f"(allow_download=True) to let Ultralytics fetch it")
    offline.configure()
    from ultralytics import YOLO

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    cfg = model_config(model, width=width, depth=depth)
    cfg.pop("yaml_file", None)
    cfg_path = out / "model.yaml"
    scales = cfg.get("scales") or {}
    if scales:  # the one scale in use, alone: Ultralytics re-guesses the scale from a file's name ('model.yaml': none)
        chosen = cfg.get("scale") if cfg.get("scale") in scales else next(iter(scales))
        cfg["scales"] = {chosen: scales[chosen]}
    cfg_path.write_text(yaml.safe_dump({k: v for k, v in cfg.items() if k != "scale"}, sort_keys=False))
    quiet_scale_guess()
    yolo = YOLO(str(cfg_path), task="detect")
    if weights and not Path(weights).is_file():  # allow_download: Ultralytics fetches the named file
        yolo = yolo.load(str(weights))
    elif weights:
        yolo = yolo.load(str(start_checkpoint(Path(weights), out)))  # layers whose shapes match are copied
    device = device or auto_device()
    args: dict[str, Any] = dict(
        data=str(data), epochs=epochs, imgsz=imgsz, batch=batch, device=device, seed=seed, deterministic=True,
        project=str(out.parent), name=out.name, exist_ok=True, patience=patience, plots=True,
        workers=min(4, os.cpu_count() or 1), amp=device != "cpu", verbose=False, nbs=nbs or batch,
    )
    if freeze:
        args["freeze"] = freeze
    args.update(overrides)
    yolo.train(**args)
    (out / "yolodeck.json").write_text(
        json.dumps(
            {"data": str(Path(data).resolve()), "model": str(model), "imgsz": imgsz, "epochs": epochs,
             "width": width, "depth": depth, "freeze": freeze, "weights": str(weights) if weights else None},
            indent=2,
        )
    )
    return out
