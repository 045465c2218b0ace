"""One small module per backend, each with the same shape: ``load(path, threads) -> Session``.

A ``Session`` has ``run(blob) -> head output`` (NCHW float32 in [0, 1] in; the Ultralytics
head (1, 4 + nc, N) in network-input pixels out), ``metadata`` (what the file says about
itself: names, imgsz) and ``input_size``. Backend packages are imported only when used, so
``hub.runtime`` never imports torch.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from hub.errors import BackendNotAvailableError, UnsupportedModelError

# file suffix -> the backend that runs it by default
BY_SUFFIX = {".onnx": "onnxruntime", ".tflite": "tflite", ".torchscript": "torchscript", ".pt": "torch",
             ".xml": "openvino"}
# backend -> (module, the file suffixes it runs); OpenVINO also runs the deck's ONNX files
BY_BACKEND = {
    "onnxruntime": ("onnx", (".onnx",)),
    "tflite": ("tflite", (".tflite",)),
    "torchscript": ("torchscript", (".torchscript",)),
    "torch": ("torch", (".pt",)),
    "openvino": ("openvino", (".xml", ".onnx")),
}
PACKAGES = {"onnxruntime": ("onnxruntime",), "tflite": ("ai_edge_litert",), "torchscript": ("torch",),
            "torch": ("torch", "ultralytics"), "openvino": ("openvino",)}


class Session(Protocol):
    metadata: dict[str, Any]
    input_size: int | None

    def run(self, blob: Any) -> Any: ...


def require(module: str, package: str, backend: str) -> ModuleType:
    """Import ``module`` or say which package to install for ``backend``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendNotAvailableError(
            f"the {backend} backend needs the '{package}' package: pip install {package}"
        ) from exc


def available(backend: str) -> bool:
    """Whether the package a backend needs is installed (without importing it)."""
    return all(importlib.util.find_spec(name) is not None for name in PACKAGES.get(backend, (backend,)))


def parse_metadata(raw: dict[str, str]) -> dict[str, Any]:
    """Ultralytics export metadata (strings of Python literals) -> names list and imgsz int."""
    meta: dict[str, Any] = {}
    try:
        if "names" in raw:
            names = ast.literal_eval(raw["names"]) if isinstance(raw["names"], str) else raw["names"]
            meta["names"] = [names[k] for k in sorted(names, key=int)] if isinstance(names, dict) else list(names)
        if "imgsz" in raw:
            imgsz = ast.literal_eval(raw["imgsz"]) if isinstance(raw["imgsz"], str) else raw["imgsz"]
            meta["imgsz"] = int(imgsz[0] if isinstance(imgsz, list | tuple) else imgsz)
    except (ValueError, SyntaxError, TypeError, KeyError):
        pass
    return meta


def open_session(path: Path, *, backend: str | None = None, threads: int | None = None,
                 busy_wait: bool = True) -> tuple[str, Session]:
    """Open ``path`` with ``backend`` (default: the one its format needs); return (backend name, session).

    ``busy_wait=False`` lets idle worker threads sleep between calls (ONNX Runtime spins by default).
    """
    path = Path(path)
    suffix = ".xml" if path.is_dir() else path.suffix.lower()
    if backend is None:
        if suffix not in BY_SUFFIX:
            known = ", ".join(BY_SUFFIX)
            raise UnsupportedModelError(f"{path.name}: unknown model format '{suffix}'; known: {known}")
        backend = BY_SUFFIX[suffix]
    if backend not in BY_BACKEND:
        raise UnsupportedModelError(f"unknown backend {backend!r}; known: {', '.join(BY_BACKEND)}")
    module, suffixes = BY_BACKEND[backend]
    if suffix not in suffixes:
        raise UnsupportedModelError(f"the {backend} backend does not run {suffix} files ({path.name})")
    return backend, importlib.import_module(f"hub.runtime.backends.{module}").load(
        path, threads=threads, busy_wait=busy_wait)
