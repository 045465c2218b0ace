"""TorchScript backend (needs torch). TorchScript archives hold code in TorchScript, not pickled Python."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from hub.base.errors import UnsupportedModelError
from hub.runtime.backends import require
from hub.runtime.backends._zipmeta import read_zip_metadata


class TorchScriptSession:
    def __init__(self, path: Path, threads: int | None) -> None:
        self._torch = torch = require("torch", "torchscript")
        if threads:
            torch.set_num_threads(threads)
        try:
            with warnings.catch_warnings():  # TorchScript is a deck format on purpose: nothing a user can change
                warnings.filterwarnings("ignore", r"`torch\.jit\.load` is deprecated", FutureWarning)
                self._module = torch.jit.load(str(path), map_location="cpu").eval()
        except RuntimeError as exc:
            raise UnsupportedModelError(f"{path.name} is not a loadable TorchScript model: {exc}") from exc
        self.metadata = read_zip_metadata(path)
        self.input_size = self.metadata.get("imgsz")

    def run(self, blob: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            y = self._module(self._torch.from_numpy(blob))
        y = y[0] if isinstance(y, list | tuple) else y
        return y.float().numpy()


def load(path: Path, *, threads: int | None = None, busy_wait: bool = True) -> TorchScriptSession:
    return TorchScriptSession(path, threads)
