"""PyTorch backend for yolodeck's weights-only ``.pt`` files (needs torch and ultralytics).

Loading never unpickles arbitrary objects: ``torch.load(weights_only=True)`` reads a dict of
the model YAML, the state dict, names and imgsz (what ``training.export`` writes), and the
network is rebuilt from the YAML. A full pickled Ultralytics checkpoint is refused with the
command that converts it.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from hub.base.errors import UnsupportedModelError, UntrustedCheckpointError
from hub.runtime.backends import require

FORMAT = "yolodeck-weights-v1"


def model_yaml(saved: dict[str, Any]) -> dict[str, Any]:
    """The saved model YAML with its scale named: a YAML of several scales saved with ``scale: ''`` was built at
    the first (Ultralytics assumes it, and warns at every build); its weights only load at the scale they have."""
    cfg = dict(saved)
    if cfg.get("scales") and not cfg.get("scale"):
        cfg["scale"] = next(iter(cfg["scales"]))
    return cfg


class TorchSession:
    dynamic = True  # a PyTorch module runs at any multiple of 32

    def __init__(self, path: Path, threads: int | None) -> None:
        self._torch = torch = require("torch", "torch")
        if threads:
            torch.set_num_threads(threads)
        try:
            ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, AttributeError) as exc:
            raise UntrustedCheckpointError(
                f"{path.name} is a pickled checkpoint that can only be loaded by running its code; yolodeck loads "
                f"weights only. Convert a checkpoint you trust with: python -m training deck RUN ... (variant 'pt')"
            ) from exc
        if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
            raise UnsupportedModelError(f"{path.name} is not a yolodeck weights file (format {FORMAT})")
        tasks = require("ultralytics.nn.tasks", "torch")
        model = tasks.DetectionModel(cfg=model_yaml(ckpt["yaml"]), nc=len(ckpt["names"]), verbose=False)
        model.load_state_dict(ckpt["state_dict"])
        self._model = model.fuse(verbose=False).eval()
        self.metadata = {"names": list(ckpt["names"]), "imgsz": int(ckpt["imgsz"])}
        self.input_size = self.metadata["imgsz"]

    def run(self, blob: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            y = self._model(self._torch.from_numpy(blob))
        y = y[0] if isinstance(y, list | tuple) else y
        return y.float().numpy()


def load(path: Path, *, threads: int | None = None, busy_wait: bool = True) -> TorchSession:
    return TorchSession(path, threads)
