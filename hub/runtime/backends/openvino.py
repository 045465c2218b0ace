"""OpenVINO backend: runs the deck's ONNX files (fp32, and int8 QDQ with OpenVINO's own int8 kernels).

OpenVINO reads ONNX directly, so its variants share the ONNX variants' files: no second export,
no second copy in the repo. Its telemetry is opted out by ``hub.base.offline`` (the consent file).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from hub.base.errors import UnsupportedModelError
from hub.runtime.backends import parse_metadata, require


def _onnx_metadata(path: Path) -> dict[str, str]:
    """Ultralytics' metadata from an ONNX file (OpenVINO does not expose it); empty without the onnx package."""
    if path.suffix.lower() != ".onnx":
        return {}
    try:
        import onnx
    except ImportError:
        return {}
    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


class OpenVinoSession:
    def __init__(self, path: Path, threads: int | None) -> None:
        ov = require("openvino", "openvino")
        # no pinning: each compiled model pins its threads from the first core on, so two one-thread models run
        # side by side (tiles, Compare) shared one core: 20 tiles in 111 ms, against 54 unpinned; a two-thread
        # model is as fast either way (72-75 ms; Intel Xeon, 2 cores)
        config = {"PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            core = ov.Core()
            model = core.read_model(str(path))
            self._compiled = core.compile_model(model, "CPU", config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses of its own
            raise UnsupportedModelError(f"{path.name} is not a model OpenVINO can load: {exc}") from exc
        self._requests = threading.local()  # an infer request serves one call at a time: one per thread
        shape = model.inputs[0].get_partial_shape()
        self.input_size = shape[2].get_length() if shape.rank.get_length() == 4 and shape[2].is_static else None
        self.metadata = parse_metadata(_onnx_metadata(path))

    def run(self, blob: np.ndarray) -> np.ndarray:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._compiled.create_infer_request()
        out = request.infer({0: blob})[self._compiled.outputs[0]]
        return np.array(out, dtype=np.float32)  # a copy: the request reuses its output memory


def load(path: Path, *, threads: int | None = None, busy_wait: bool = True) -> OpenVinoSession:
    return OpenVinoSession(path, threads)
