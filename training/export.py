"""Export one trained model into every variant of a deck, one file per variant (OpenVINO shares ONNX's).

What keeps int8 accurate and fast here (as measured on the dense shelves; each deck's card shows the result):
- ONNX int8: ONNX Runtime static QDQ, per-channel, Conv only (quantizing every op collapses
  the scores), with the DFL box-decode conv kept float. Ultralytics' own ONNX int8 is slower
  than fp32 on this CPU, so it is not used.
- TFLite int8: ai-edge-quantizer static int8 (weights and activations), with the head's
  box-decode steps (DFL, anchors, strides, normalisation) and the graph I/O kept float.
- TFLite fp16: LiteRT refuses fp16 through Ultralytics, so ai-edge-quantizer casts the fp32
  file's weights to fp16 (``float_casting``).
- ONNX fp16: ``onnxruntime.transformers.float16`` with fp32 I/O.
- OpenVINO fp32 / int8: the ONNX fp32 / int8 files, run by OpenVINO (it reads ONNX and runs QDQ
  int8 with its own kernels), so they share those files.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from hub.base import catalog, offline
from hub.runtime.backends.torch import FORMAT as WEIGHTS_FORMAT
from hub.runtime.images import load_image
from hub.runtime.ops import letterbox


def calibration_blobs(images: list[Path], imgsz: int) -> list[np.ndarray]:
    """Letterboxed NCHW float32 inputs, exactly as the runtime prepares them."""
    return [letterbox(load_image(p), imgsz)[0] for p in images]


class Exporter:
    """Exports variants of one checkpoint into ``deck``; a scratch dir holds Ultralytics' own outputs."""

    def __init__(self, checkpoint: Path, deck: Path, *, imgsz: int | None, calibration: list[Path]) -> None:
        offline.configure()
        from ultralytics import YOLO

        self.deck = deck
        self.scratch = Path(tempfile.mkdtemp(prefix="yolodeck-export-"))
        self.checkpoint = self.scratch / "model.pt"
        shutil.copyfile(checkpoint, self.checkpoint)
        self.yolo = YOLO(str(self.checkpoint), task="detect")  # our own run: a checkpoint we trust
        self.names = [self.yolo.names[i] for i in sorted(self.yolo.names)]
        self.train_args = dict(self.yolo.ckpt.get("train_args") or {})
        self.imgsz = int(imgsz or self.train_args.get("imgsz") or 640)
        self._calibration = calibration
        self._blobs: list[np.ndarray] | None = None

    def blobs(self) -> list[np.ndarray]:
        if self._blobs is None:
            self._blobs = calibration_blobs(self._calibration, self.imgsz)
        return self._blobs

    def export(self, variant_id: str) -> Path:
        """Make one variant's file (its ``_<id>`` method, as the catalog names it); return its path."""
        kind = catalog.VARIANTS[variant_id]
        target = self.deck / kind.file
        if kind.shares:  # nothing to export: the file is another variant's
            return target if target.is_file() else self.export(kind.shares)
        fn: Callable[[Path], None] = getattr(self, "_" + variant_id.replace("-", "_"))
        fn(target)
        return target

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    # --- one method per variant ---------------------------------------------------------------

    def _pt(self, target: Path) -> None:
        save_weights(self.yolo.model, target, names=self.names, imgsz=self.imgsz)

    def _ultralytics(self, fmt: str, target: Path, **kwargs) -> None:
        out = self.yolo.export(format=fmt, imgsz=self.imgsz, device="cpu", verbose=False, **kwargs)
        shutil.move(str(out), target)

    def _torchscript(self, target: Path) -> None:
        self._ultralytics("torchscript", target)

    def _onnx_fp32(self, target: Path) -> None:
        self._ultralytics("onnx", target, simplify=True)

    def _onnx_fp16(self, target: Path) -> None:
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        src = self._require(target, "onnx-fp32")
        model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
        onnx.save(model, str(target))

    def _onnx_int8(self, target: Path) -> None:
        import onnx
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
        from onnxruntime.quantization.shape_inference import quant_pre_process

        src = self._require(target, "onnx-fp32")
        pre = self.scratch / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        graph = onnx.load(str(pre)).graph
        keep_float = [n.name for n in graph.node if n.op_type == "Conv" and "dfl" in n.name.lower()]
        input_name = graph.input[0].name
        blobs = self.blobs()

        class Reader(CalibrationDataReader):
            def __init__(self) -> None:
                self._it: Iterator[np.ndarray] = iter(blobs)

            def get_next(self):
                blob = next(self._it, None)
                return None if blob is None else {input_name: blob}

        quantize_static(
            str(pre), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"],
            nodes_to_exclude=keep_float, calibrate_method=CalibrationMethod.MinMax,
        )
        self._copy_onnx_metadata(src, target)

    @staticmethod
    def _copy_onnx_metadata(src: Path, target: Path) -> None:
        import onnx

        meta = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
        model = onnx.load(str(target))
        have = {p.key for p in model.metadata_props}
        for key, value in meta.items():
            if key not in have:
                model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(target))

    def _tflite_fp32(self, target: Path) -> None:
        self._ultralytics("litert", target)

    def _tflite_fp16(self, target: Path) -> None:
        from ai_edge_quantizer import quantizer

        src = self._require(target, "tflite-fp32")
        qt = quantizer.Quantizer(str(src))
        qt.load_quantization_recipe([{
            "regex": ".*", "operation": "*", "algorithm_key": "float_casting",
            "op_config": {"weight_tensor_config": {"num_bits": 16, "dtype": "FLOAT"}, "compute_precision": "FLOAT",
                          "explicit_dequantize": True},
        }])
        qt.quantize().export_model(str(target), overwrite=True)
        self._copy_tflite_metadata(src, target)

    def _tflite_int8(self, target: Path) -> None:
        from ai_edge_quantizer import qtyping, quantizer, recipe

        src = self._require(target, "tflite-fp32")
        qt = quantizer.Quantizer(str(src))
        qt.load_quantization_recipe(recipe.static_wi8_ai8())
        # op scopes are output tensor names joined by ';' with a trailing ';'
        keep_float = r"(Detect_\d+;\d+;$|DFL_dfl|_NormalizeCoords;\d+;$|serving_default_output)"
        for op in (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT):
            qt.update_quantization_recipe(regex=".*", operation_name=op, algorithm_key=recipe.AlgorithmName.NO_QUANTIZE)
        qt.update_quantization_recipe(
            regex=keep_float, operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
            algorithm_key=recipe.AlgorithmName.NO_QUANTIZE,
        )
        result = qt.calibrate({"serving_default": [{"args_0": b} for b in self.blobs()]})
        qt.quantize(calibration_result=result).export_model(str(target), overwrite=True)
        self._copy_tflite_metadata(src, target)

    @staticmethod
    def _copy_tflite_metadata(src: Path, target: Path) -> None:
        try:
            with zipfile.ZipFile(src) as z:
                meta = z.read("metadata.json")
        except (zipfile.BadZipFile, KeyError):
            return
        with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED) as z:
            z.writestr("metadata.json", meta)

    def _require(self, target: Path, base_id: str) -> Path:
        src = target.parent / catalog.VARIANTS[base_id].file
        if not src.is_file():
            self.export(base_id)
        return src


def save_weights(model, target: Path, *, names: list[str], imgsz: int, half: bool = False) -> Path:
    """A weights-only checkpoint (model YAML, state dict, names, imgsz): loads with ``weights_only=True``."""
    import torch

    state = {k: (v.half() if half and v.is_floating_point() else v.float() if v.is_floating_point() else v)
             for k, v in model.state_dict().items()}
    from hub.runtime.backends.torch import model_yaml

    torch.save({"format": WEIGHTS_FORMAT, "yaml": model_yaml(model.yaml), "state_dict": state, "names": list(names),
                "imgsz": int(imgsz)}, target)
    return target


def checkpoint_from_weights(weights: Path, target: Path) -> Path:
    """Rebuild an Ultralytics checkpoint (what the exporters read) from a weights-only file we trust."""
    offline.configure()
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from hub.runtime.backends.torch import model_yaml

    w = torch.load(str(weights), map_location="cpu", weights_only=True)
    model = DetectionModel(cfg=model_yaml(w["yaml"]), nc=len(w["names"]), verbose=False)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in w["state_dict"].items()})
    model.names = dict(enumerate(w["names"]))
    torch.save({"model": model.half(), "train_args": {"imgsz": int(w["imgsz"]), "task": "detect"},
                "date": None, "version": "yolodeck"}, target)
    return target
