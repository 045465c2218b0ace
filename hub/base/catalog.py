"""The one list of backends and variant kinds. Everything else reads it.

A backend is a runtime that runs model files (its module in ``hub.runtime.backends``); a
variant kind is one file of a deck (which backend runs it, at what precision, made how).
Adding a backend is one :class:`Backend` entry plus its runtime module; adding a variant is
one :class:`VariantKind` entry plus its exporter step in ``training.export``.

This module imports nothing of yolodeck, so the lean runtime may read it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class Backend:
    """A runtime for model files.

    Attributes:
        name: the id used everywhere (manifests, ``Detector(backend=)``, pickers).
        label: what people read.
        module: its module under ``hub.runtime.backends``.
        suffixes: the file suffixes it runs (a folder counts as ``.xml``: an OpenVINO IR).
        imports: the import names it needs (checked without importing them).
        package: what to ``pip install`` for it.
        runtime: the distribution whose version is recorded as the variant's runtime.
        side_by_side: one-thread copies of a model can run at once, each on its own core (tiles do); not
            where the thread count is the whole process's (torch).
    """

    name: str
    label: str
    module: str
    suffixes: tuple[str, ...]
    imports: tuple[str, ...]
    package: str
    runtime: str
    side_by_side: bool = True

    @property
    def installed(self) -> bool:
        return all(importlib.util.find_spec(name) is not None for name in self.imports)


@dataclass(frozen=True)
class VariantKind:
    """One file of a deck.

    Attributes:
        id: the variant id (``onnx-int8``).
        backend: the backend that runs it.
        precision: one of :data:`PRECISIONS`.
        file: its file name in the deck.
        shares: the variant whose file it runs (OpenVINO runs the ONNX files): nothing to export.
        derived_from: the variant whose file it is made from (exported first).
        exporter: the distribution that makes the file.
    """

    id: str
    backend: str
    precision: str
    file: str
    exporter: str
    shares: str | None = None
    derived_from: str | None = None


# In order of preference: a suffix's default backend is the first that runs it.
BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("torch", "PyTorch", "torch", (".pt",), ("torch", "ultralytics"), "torch ultralytics", "torch",
            side_by_side=False),
    Backend("torchscript", "TorchScript", "torchscript", (".torchscript",), ("torch",), "torch", "torch",
            side_by_side=False),
    Backend("onnxruntime", "ONNX Runtime", "onnx", (".onnx",), ("onnxruntime",), "onnxruntime", "onnxruntime"),
    Backend("tflite", "TFLite", "tflite", (".tflite",), ("ai_edge_litert",), "ai-edge-litert", "ai-edge-litert"),
    Backend("openvino", "OpenVINO", "openvino", (".xml", ".onnx"), ("openvino",), "openvino", "openvino"),
)}

# In export order: a variant comes after the one it shares or derives from.
VARIANTS: dict[str, VariantKind] = {v.id: v for v in (
    VariantKind("pt", "torch", "fp32", "model.pt", "torch"),
    VariantKind("torchscript", "torchscript", "fp32", "model.torchscript", "ultralytics"),
    VariantKind("onnx-fp32", "onnxruntime", "fp32", "model-fp32.onnx", "ultralytics"),
    VariantKind("onnx-fp16", "onnxruntime", "fp16", "model-fp16.onnx", "onnxruntime", derived_from="onnx-fp32"),
    VariantKind("onnx-int8", "onnxruntime", "int8", "model-int8.onnx", "onnxruntime", derived_from="onnx-fp32"),
    VariantKind("tflite-fp32", "tflite", "fp32", "model-fp32.tflite", "ultralytics"),
    VariantKind("tflite-fp16", "tflite", "fp16", "model-fp16.tflite", "ai-edge-quantizer",
                derived_from="tflite-fp32"),
    VariantKind("tflite-int8", "tflite", "int8", "model-int8.tflite", "ai-edge-quantizer",
                derived_from="tflite-fp32"),
    # OpenVINO runs the ONNX files themselves: same file, its own kernels
    VariantKind("openvino-fp32", "openvino", "fp32", "model-fp32.onnx", "ultralytics", shares="onnx-fp32"),
    VariantKind("openvino-int8", "openvino", "int8", "model-int8.onnx", "onnxruntime", shares="onnx-int8"),
)}

# The fp32 variant the others are compared with ("loss against fp32"), first present wins.
REFERENCES = ("onnx-fp32", "pt", "tflite-fp32", "torchscript")


def backend(name: str) -> Backend:
    """The backend called ``name``; ValueError naming those that exist otherwise."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}") from None


def installed() -> list[str]:
    """The backends whose packages are installed here, in order of preference."""
    return [b.name for b in BACKENDS.values() if b.installed]


def default_backend(suffix: str) -> str | None:
    """The backend that runs files with ``suffix`` unless told otherwise."""
    return next((b.name for b in BACKENDS.values() if suffix in b.suffixes), None)


def label(name: str) -> str:
    return BACKENDS[name].label if name in BACKENDS else name
