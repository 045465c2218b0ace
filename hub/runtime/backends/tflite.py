"""TFLite backend via ``ai-edge-litert`` (fp32, fp16 weights, int8).

``tflite-runtime`` is not used: it is unmaintained and fails on numpy 2 (``_ARRAY_API not found``).
Boxes come out normalised to [0, 1] (Ultralytics' LiteRT export) and are scaled back to pixels here.
"""

from __future__ import annotations

import mmap
import threading
from pathlib import Path

import numpy as np

from hub.base.errors import UnsupportedModelError
from hub.runtime.backends import require
from hub.runtime.backends._tflite_input import int8_input
from hub.runtime.backends._zipmeta import read_zip_metadata


class TfliteSession:
    def __init__(self, path: Path, threads: int | None) -> None:
        interpreter = require("ai_edge_litert.interpreter", "tflite")
        try:  # mapped, not read: a file that does not match is only looked at, and the interpreter reads it
            with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as model:
                shortcut = int8_input(model)
        except Exception:  # noqa: BLE001  (not a flatbuffer we understand: the interpreter will say what is wrong)
            shortcut = None
        self.input_codes: np.ndarray | None = None  # pixel -> int8 code, when the model takes int8 NHWC pixels
        source: dict[str, str | bytes] = {"model_path": str(path)}
        if shortcut:
            source = {"model_content": shortcut[0]}
            self.input_codes = shortcut[1]
        try:
            self._interp = interpreter.Interpreter(**source, num_threads=threads or None)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise UnsupportedModelError(f"{path.name} is not a loadable TFLite model: {exc}") from exc
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        shape = self._in["shape"]
        self._nhwc = shape[-1] == 3
        self.layout = "nhwc" if self._nhwc else "nchw"  # what letterbox writes for this file
        self.input_size = int(shape[1] if self._nhwc else shape[2])
        self.metadata = read_zip_metadata(path)
        self._lock = threading.Lock()  # an Interpreter is not thread-safe: two invokes at once crash the process

    def run(self, blob: np.ndarray) -> np.ndarray:
        x = blob.transpose(0, 2, 3, 1) if self._nhwc and blob.shape[-1] != 3 else blob  # an NCHW blob still runs
        if self._in["dtype"] in (np.int8, np.uint8, np.int16) and x.dtype.kind == "f":  # else: codes already
            scale, zero = self._in["quantization"]
            info = np.iinfo(self._in["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(self._in["dtype"])
        with self._lock:
            self._interp.set_tensor(self._in["index"], np.ascontiguousarray(x, dtype=self._in["dtype"]))
            self._interp.invoke()
            y = self._interp.get_tensor(self._out["index"])
        if self._out["dtype"] in (np.int8, np.uint8, np.int16):
            scale, zero = self._out["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        else:
            y = y.astype(np.float32, copy=True)
        if y.shape[1] > y.shape[2]:  # (1, N, 4 + nc) -> (1, 4 + nc, N)
            y = y.transpose(0, 2, 1).copy()
        y[:, :4] *= self.input_size  # normalised xywh -> input pixels (square input)
        return y


def load(path: Path, *, threads: int | None = None, busy_wait: bool = True) -> TfliteSession:
    return TfliteSession(path, threads)
