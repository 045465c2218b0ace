"""``Detector``: one variant file behind one ``detect()``, whatever the backend."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from hub.errors import UnsupportedModelError
from hub.runtime import ops
from hub.runtime.backends import open_session
from hub.runtime.detections import Detections
from hub.runtime.images import ImageLike, read_image
from hub.runtime.nms import nms

DEFAULT_MAX_DET = 1000  # dense shelves: ~150 objects per image, up to ~200 boxes at conf 0.25


class Detector:
    """Runs one exported model (ONNX, TFLite, TorchScript, weights-only .pt).

    Args:
        path: the variant file.
        names: class names (default: what the file says about itself).
        imgsz: network input size (default: the file's own).
        backend: run the file with this backend (default: the one its format needs; ``"openvino"``
            also runs ``.onnx`` files).
        threads: intra-op threads for the backend (default: the backend's choice).
        busy_wait: let idle worker threads spin between calls: lowest latency for one stream of calls,
            but it takes CPU from everything else; turn it off in servers and next to a browser.
        warmup: run one blank image through it before returning (the backend's first call and the NMS
            session's start are slow), so the first real request is not.

    Example:
        >>> det = Detector("deck/model-int8.tflite")
        >>> detections = det.detect("shelf.jpg", conf=0.25, iou=0.7)
        >>> detections.counts()
        {'product': 143}
    """

    def __init__(
        self,
        path: str | Path,
        *,
        names: list[str] | None = None,
        imgsz: int | None = None,
        backend: str | None = None,
        threads: int | None = None,
        busy_wait: bool = True,
        warmup: bool = True,
    ) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"model file {self.path} does not exist")
        self.backend, self._session = open_session(self.path, backend=backend, threads=threads, busy_wait=busy_wait)
        meta = self._session.metadata
        self.imgsz = int(imgsz or meta.get("imgsz") or self._session.input_size or 0)
        if not self.imgsz:
            raise UnsupportedModelError(f"{self.path.name}: input size unknown; pass imgsz=")
        self.names = list(names or meta.get("names") or [])
        self._buffers = threading.local()  # one input blob per calling thread, reused
        if warmup:
            self._warm()

    def _warm(self) -> None:
        """One call through every stage: a small JPEG (the decoder), non-square (the resize path), the backend,
        and NMS on two overlapping boxes of two classes (a blank image has no candidates: NMS would stay cold)."""
        import io

        from PIL import Image

        jpeg = io.BytesIO()
        Image.new("RGB", (self.imgsz + 32, self.imgsz // 2), (114, 114, 114)).save(jpeg, "JPEG")
        self.detect(jpeg.getvalue())
        boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11]], np.float32)
        nms(boxes, np.array([0.9, 0.8], np.float32), np.array([0, 1], np.int64), iou=0.5, max_det=10)

    @property
    def dynamic(self) -> bool:
        """Whether the network takes any input size (PyTorch) or only the one it was exported at."""
        return bool(getattr(self._session, "dynamic", False))

    def __repr__(self) -> str:
        return f"Detector({self.path.name!r}, backend={self.backend!r}, imgsz={self.imgsz}, classes={len(self.names)})"

    def infer(self, blob):
        """The raw backend call: NCHW float32 blob -> head output. Exposed for benchmarks."""
        return self._session.run(blob)

    def detect(
        self,
        image: ImageLike,
        *,
        conf: float = 0.25,
        iou: float = 0.7,
        classes: list[int] | None = None,
        max_det: int = DEFAULT_MAX_DET,
        bgr: bool = False,
        imgsz: int | None = None,
    ) -> Detections:
        """Detect objects in one image.

        Args:
            image: numpy array (RGB, or BGR with ``bgr=True``), PIL image, path or encoded bytes.
            conf: minimum class score.
            iou: NMS IoU threshold (class-aware).
            classes: keep only these class ids.
            max_det: most boxes returned.
            imgsz: network input size, for backends that take any size (PyTorch); others run at their own.

        Returns:
            Detections in original-image pixels, with per-stage timing in ``timing_ms`` (read, letterbox,
            inference, postprocess, total).

        Raises:
            InvalidImageError: the image is corrupt, empty, of an unsupported type, or too large.
        """
        if not 0.0 <= conf <= 1.0 or not 0.0 <= iou <= 1.0:
            raise ValueError(f"conf and iou must be in [0, 1] (got conf={conf}, iou={iou})")
        size = imgsz or self.imgsz
        if size != self.imgsz and not self.dynamic:
            raise ValueError(f"{self.path.name} was exported at {self.imgsz} px and runs only at that size "
                             f"(asked for {size}); only PyTorch variants take any size")
        if size % 32:
            raise ValueError(f"image size must be a multiple of 32, not {size}")
        t0 = time.perf_counter()
        rgb, (w, h) = read_image(image, bgr=bgr, fit=size)  # a large JPEG is decoded reduced, to >= size
        t1 = time.perf_counter()
        blob, box = ops.letterbox(rgb, size, out=getattr(self._buffers, "blob", None))
        self._buffers.blob = blob
        t2 = time.perf_counter()
        out = self._session.run(blob)
        t3 = time.perf_counter()
        xyxy, scores, class_ids = ops.decode_head(out, conf=conf, classes=classes)
        keep = nms(xyxy, scores, class_ids, iou=iou, max_det=max_det)
        rh, rw = rgb.shape[:2]
        xyxy = ops.rescale(xyxy[keep], box, rw, rh)
        if (rw, rh) != (w, h):  # back from the reduced decode to the image's own pixels
            xyxy *= np.array([w / rw, h / rh, w / rw, h / rh], np.float32)
        t4 = time.perf_counter()
        names = self.names or [str(i) for i in range(max(out.shape[1] - 4, 0))]
        timing = {
            "read": (t1 - t0) * 1e3,
            "letterbox": (t2 - t1) * 1e3,
            "inference": (t3 - t2) * 1e3,
            "postprocess": (t4 - t3) * 1e3,
            "total": (t4 - t0) * 1e3,
        }
        return Detections(xyxy, scores[keep], class_ids[keep], names, timing, (w, h))
