"""ONNX Runtime backend (fp32, fp16 with fp32 I/O or fp16 I/O, int8 QDQ)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hub.runtime.backends import parse_metadata, require


class OnnxSession:
    def __init__(self, path: Path, threads: int | None, busy_wait: bool = True) -> None:
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        ort = require("onnxruntime", "onnxruntime")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        if not busy_wait:  # idle workers sleep instead of spinning: the CPU is shared with other work
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            from hub.base.errors import UnsupportedModelError

            raise UnsupportedModelError(f"{path.name} is not a loadable ONNX model: {exc}") from exc
        inp = self._session.get_inputs()[0]
        self._input = inp.name
        self._dtype = np.float16 if "float16" in inp.type else np.float32
        shape = inp.shape
        self.input_size = shape[2] if len(shape) == 4 and isinstance(shape[2], int) else None
        self.metadata = parse_metadata(self._session.get_modelmeta().custom_metadata_map)

    def run(self, blob: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {self._input: blob.astype(self._dtype, copy=False)})[0]
        return out.astype(np.float32, copy=False)


def load(path: Path, *, threads: int | None = None, busy_wait: bool = True) -> OnnxSession:
    return OnnxSession(path, threads, busy_wait)
