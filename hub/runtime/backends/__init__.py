"""One small module per backend, each with the same shape: ``load(path, threads) -> Session``.

A ``Session`` has ``run(blob) -> head output`` (float32 in [0, 1] in, NCHW or, where the session
says ``layout = "nhwc"`` (TFLite), NHWC; the Ultralytics head (1, 4 + nc, N) in network-input
pixels out), ``metadata`` (what the file says about itself: names, imgsz) and ``input_size``. Which backends exist, the suffixes they run and the
packages they need is ``hub.base.catalog``'s; backend packages are imported only when used, so
``hub.runtime`` never imports torch.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from hub.base import catalog
from hub.base.errors import BackendNotAvailableError, UnsupportedModelError


class Session(Protocol):
    metadata: dict[str, Any]
    input_size: int | None

    def run(self, blob: Any) -> Any: ...


def require(module: str, backend: str) -> ModuleType:
    """Import ``module`` for ``backend`` or say which package to install (the catalog's)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        spec = catalog.BACKENDS[backend]
        raise BackendNotAvailableError(
            f"the {spec.label} backend needs the '{spec.package}' package: pip install {spec.package}"
        ) from exc


def available(backend: str) -> bool:
    """Whether the packages a backend needs are installed (without importing them)."""
    return backend in catalog.BACKENDS and catalog.BACKENDS[backend].installed


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
        backend = catalog.default_backend(suffix)
        if backend is None:
            known = ", ".join(dict.fromkeys(s for b in catalog.BACKENDS.values() for s in b.suffixes))
            raise UnsupportedModelError(f"{path.name}: unknown model format '{suffix}'; known: {known}")
    if backend not in catalog.BACKENDS:
        raise UnsupportedModelError(f"unknown backend {backend!r}; known: {', '.join(catalog.BACKENDS)}")
    spec = catalog.BACKENDS[backend]
    if suffix not in spec.suffixes:
        raise UnsupportedModelError(f"the {backend} backend does not run {suffix} files ({path.name})")
    return backend, importlib.import_module(f"hub.runtime.backends.{spec.module}").load(
        path, threads=threads, busy_wait=busy_wait)
