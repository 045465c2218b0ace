"""``Detector``: one variant file behind one ``detect()``, whatever the backend."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from hub.base import catalog, settings
from hub.base.errors import UnsupportedModelError
from hub.runtime import ops
from hub.runtime import tiles as tiles_mod
from hub.runtime.backends import open_session
from hub.runtime.detections import Detections
from hub.runtime.images import ImageLike, read_image
from hub.runtime.nms import nms
from hub.runtime.tiles import Found, Region

Tiles = tuple[int, int] | str | None
MAX_TILE_COPIES = 8  # one-thread model copies for tiles at most (each holds its own weights and buffers)
DEFAULT_CONF = 0.25  # the apps' long-standing default; conf="best" uses the deck's own per class
DEFAULT_MAX_DET = 1000  # dense shelves: ~150 objects per image, up to ~200 boxes at conf 0.25


class Detector:
    """Runs one exported model (ONNX, TFLite, TorchScript, weights-only .pt).

    Args:
        path: the variant file.
        names: class names (default: what the file says about itself).
        imgsz: network input size (default: the file's own).
        backend: run the file with this backend (default: the one its format needs; ``"openvino"``
            also runs ``.onnx`` files).
        threads: intra-op threads for the backend (default: the backend's choice). Tiles run side by side
            instead, on as many one-thread copies of the model (8 at most), opened at the first tiled call.
        busy_wait: let idle worker threads spin between calls: lowest latency for one stream of calls,
            but it takes CPU from everything else; turn it off in servers and next to a browser (default:
            ``YOLODECK_BUSY_WAIT``, on unless it is 0; measured on 2 cores, AMD EPYC: a 641-frame video 3% faster
            alone with it on, two side by side 40% slower).
        tile_px: the size of the images the model learned on: ``detect(tiles="auto")`` tiles no finer (default:
            twice the input size).
        min_object_px: the smallest object side, in network pixels, that the model finds about as well as any
            (the deck measured it: ``manifest.objects.min_px``): ``tiles="auto"`` then measures the image's
            objects and picks the coarsest grid that shows them that large (:func:`hub.runtime.tiles.choose`);
            without it, "auto" tiles by ``tile_px`` alone.
        thresholds: per class name, the confidence where the deck measured its F1 to peak
            (``metrics.thresholds``): what ``detect(conf="best")`` keeps.
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
        busy_wait: bool | None = None,
        warmup: bool = True,
        tile_px: int | None = None,
        min_object_px: float | None = None,
        thresholds: dict[str, float] | None = None,
    ) -> None:
        self.path = Path(path)
        self.thresholds = dict(thresholds or {})
        if not self.path.exists():
            raise FileNotFoundError(f"model file {self.path} does not exist")
        if busy_wait is None:
            busy_wait = settings.current().busy_wait
        self.backend, self._session = open_session(self.path, backend=backend, threads=threads, busy_wait=busy_wait)
        self._threads, self._busy_wait = threads, busy_wait
        self._copies: tuple[ThreadPoolExecutor, queue.SimpleQueue[Any]] | None = None  # for tiles (_side_by_side)
        self._copies_lock = threading.Lock()
        meta = self._session.metadata
        self.imgsz = int(imgsz or meta.get("imgsz") or self._session.input_size or 0)
        if not self.imgsz:
            raise UnsupportedModelError(f"{self.path.name}: input size unknown; pass imgsz=")
        self.names = list(names or meta.get("names") or [])
        self._buffers = threading.local()  # one input blob per calling thread, reused
        self._classes = len(self.names)
        self.tile_px = tile_px or 2 * self.imgsz
        self.min_object_px = min_object_px
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
    def layout(self) -> str:
        """The input layout the backend takes, ``"nchw"`` or ``"nhwc"`` (TFLite): what ``infer`` wants."""
        return getattr(self._session, "layout", "nchw")

    @property
    def dynamic(self) -> bool:
        """Whether the network takes any input size (PyTorch) or only the one it was exported at."""
        return bool(getattr(self._session, "dynamic", False))

    @property
    def input_codes(self) -> np.ndarray | None:
        """For a model that takes int8 pixels: each pixel value's code (``ops.letterbox(codes=)``); else None."""
        return getattr(self._session, "input_codes", None)

    def __repr__(self) -> str:
        return f"Detector({self.path.name!r}, backend={self.backend!r}, imgsz={self.imgsz}, classes={len(self.names)})"

    def infer(self, blob: np.ndarray) -> np.ndarray:
        """The raw backend call: a float32 blob in ``layout`` (or int8 codes, :attr:`input_codes`) -> head output.
        Exposed for benchmarks."""
        out: np.ndarray = self._session.run(blob)
        return out

    def detect(
        self,
        image: ImageLike,
        *,
        conf: float | str = DEFAULT_CONF,
        iou: float = 0.7,
        classes: list[int] | None = None,
        max_det: int = DEFAULT_MAX_DET,
        bgr: bool = False,
        imgsz: int | None = None,
        tiles: Tiles = None,
        overlap: float = 0.2,
        whole: bool = False,
    ) -> Detections:
        """Detect objects in one image.

        Args:
            image: numpy array (RGB, or BGR with ``bgr=True``), PIL image, path or encoded bytes.
            conf: minimum class score; ``"best"``: each class's own, where the deck measured its F1 to peak
                (``thresholds``; :data:`DEFAULT_CONF` for a class it has none for, as with decks made before).
            iou: NMS IoU threshold (class-aware).
            classes: keep only these class ids.
            max_det: most boxes returned.
            imgsz: network input size, for backends that take any size (PyTorch); others run at their own.
            tiles: run on a grid of overlapping tiles, each at the network's size, merged across borders
                (:mod:`hub.runtime.tiles`): ``(rows, cols)``, or ``"auto"`` (the coarsest grid that shows the
                image's objects at ``min_object_px``, measured by a whole-image pass and a few centre probes; none
                when the whole image does; never finer than tiles of ``tile_px``); None: the whole image.
            overlap: how much neighbouring tiles share (a fraction of a tile).
            whole: with tiles, also run the whole image once (large objects no tile holds whole).

        Returns:
            Detections in original-image pixels, with per-stage timing in ``timing_ms`` (read, letterbox,
            inference, postprocess, total; summed over tiles, which run side by side: the stages can add up to
            more than the total).

        Raises:
            InvalidImageError: the image is corrupt, empty, of an unsupported type, or too large.
        """
        conf, per_class = self._confidence(conf)
        if not 0.0 <= conf <= 1.0 or not 0.0 <= iou <= 1.0:
            raise ValueError(f"conf and iou must be in [0, 1] (got conf={conf}, iou={iou})")
        size = imgsz or self.imgsz
        if size != self.imgsz and not self.dynamic:
            raise ValueError(f"{self.path.name} was exported at {self.imgsz} px and runs only at that size "
                             f"(asked for {size}); only PyTorch variants take any size")
        if size % 32:
            raise ValueError(f"image size must be a multiple of 32, not {size}")
        if not (tiles is None or tiles == "auto" or (len(tiles) == 2 and all(int(n) >= 1 for n in tiles))):
            raise ValueError(f"tiles must be None, 'auto' or (rows, cols) of positive numbers, not {tiles!r}")
        timing = dict.fromkeys(("read", "letterbox", "inference", "postprocess"), 0.0)
        t0 = time.perf_counter()
        # a large JPEG is decoded reduced, to no less than each tile (or the whole image) needs at the network
        rgb, (w, h) = read_image(image, bgr=bgr, fit=lambda w, h: tiles_mod.fit(w, h, self._grid(w, h, tiles),
                                                                                size, overlap))
        timing["read"] = (time.perf_counter() - t0) * 1e3
        rh, rw = rgb.shape[:2]

        def run(region: Region, session: Any = self._session) -> Found:
            x0, y0, x1, y1 = region
            return region, *self._region(rgb[y0:y1, x0:x1], region, size, conf, iou, classes, max_det, session)

        grid = self._grid(w, h, tiles)  # from the image's own size (tile_px is in its pixels), cut in the read one
        ran: dict[Region, Found] = {}  # regions already run to choose the grid
        if tiles == "auto" and self.min_object_px:
            grid, ran = tiles_mod.choose(rw, rh, run, size=size, object_px=self.min_object_px, finest=grid,
                                         overlap=overlap)
        regions = tiles_mod.grid(rw, rh, int(grid[0]), int(grid[1]), overlap) if grid != (1, 1) else [(0, 0, rw, rh)]
        if whole and len(regions) > 1:
            regions.append((0, 0, rw, rh))
        todo = [r for r in regions if r not in ran]
        copies = self._side_by_side() if len(todo) > 1 else None
        ran.update((f[0], f) for f in (copies[0].map(lambda r: _borrowing(copies[1], run, r), todo) if copies else
                                        map(run, todo)))
        for *_, spent in ran.values():  # every region run, the probes that chose the grid included
            for stage, ms in zip(("letterbox", "inference", "postprocess"), spent, strict=True):
                timing[stage] += ms
        found = [ran[r][:4] for r in regions]
        t4 = time.perf_counter()
        if len(found) == 1:
            xyxy, scores, class_ids = found[0][1:]
        else:
            xyxy, scores, class_ids = tiles_mod.stitch(found, rw, rh)
            xyxy, scores, class_ids = xyxy[:max_det], scores[:max_det], class_ids[:max_det]
        if per_class is not None:  # NMS ran at the lowest class threshold; each class keeps its own
            keep = scores >= per_class[class_ids]
            xyxy, scores, class_ids = xyxy[keep], scores[keep], class_ids[keep]
        if (rw, rh) != (w, h):  # back from the reduced decode to the image's own pixels
            xyxy = xyxy * np.array([w / rw, h / rh, w / rw, h / rh], np.float32)
        timing["postprocess"] += (time.perf_counter() - t4) * 1e3
        timing["total"] = (time.perf_counter() - t0) * 1e3
        names = self.names or [str(i) for i in range(self._classes)]
        return Detections(xyxy.astype(np.float32, copy=False), scores, class_ids, names, timing, (w, h),
                          tiles=(int(grid[0]), int(grid[1])))

    def _confidence(self, conf: float | str) -> tuple[float, np.ndarray | None]:
        """(the threshold NMS runs at, each class's own or None) for ``conf``: a number, or "best"."""
        if isinstance(conf, str):
            if conf != "best":
                raise ValueError(f"conf is a number in [0, 1] or 'best', not {conf!r}")
            names = self.names or [str(i) for i in range(self._classes)]
            cut = np.array([self.thresholds.get(n, DEFAULT_CONF) for n in names], np.float32)
            return (float(cut.min()) if cut.size else DEFAULT_CONF), cut
        return float(conf), None

    def _grid(self, width: int, height: int, tiles: Tiles) -> tuple[int, int]:
        if tiles == "auto":
            return tiles_mod.auto_grid(width, height, self.tile_px)
        if isinstance(tiles, str):
            raise ValueError(f"tiles is 'auto', (rows, cols) or None, not {tiles!r}")
        rows, cols = tiles or (1, 1)
        return int(rows), int(cols)

    def _side_by_side(self) -> tuple[ThreadPoolExecutor, queue.SimpleQueue[Any]] | None:
        """Threads and one-thread copies of the model, one per thread the detector was given, for tiles: on 2
        cores two one-thread ONNX Runtime sessions run 20 tiles in 168 ms, one two-thread session in 198-206
        (Intel Xeon); their pre- and post-processing overlaps the other's call too. None where that cannot be."""
        n = min(self._threads or os.cpu_count() or 1, MAX_TILE_COPIES)
        if n < 2 or not catalog.BACKENDS[self.backend].side_by_side:
            return None
        with self._copies_lock:
            if self._copies is None:
                free: queue.SimpleQueue[Any] = queue.SimpleQueue()
                for _ in range(n):
                    copy = open_session(self.path, backend=self.backend, threads=1, busy_wait=self._busy_wait)[1]
                    copy.run(ops.letterbox(np.zeros((8, 8, 3), np.uint8), self.imgsz, layout=self.layout,
                                           codes=self.input_codes)[0])  # its slow first call, here
                    free.put(copy)
                self._copies = ThreadPoolExecutor(n, thread_name_prefix="tiles"), free
        return self._copies

    def _region(self, rgb: np.ndarray, region: Region, size: int, conf: float, iou: float, classes: list[int] | None,
                max_det: int, session: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[float, float, float]]:
        """Letterbox, run (on ``session``), decode and NMS one region of the image; boxes in image pixels, and
        the ms of the three stages."""
        t1 = time.perf_counter()
        blob, box = ops.letterbox(rgb, size, out=getattr(self._buffers, "blob", None), layout=self.layout,
                                  codes=self.input_codes)
        self._buffers.blob = blob
        t2 = time.perf_counter()
        out = session.run(blob)
        t3 = time.perf_counter()
        self._classes = max(min(out.shape[-2:]) - 4, 0) if out.ndim >= 2 else self._classes
        xyxy, scores, class_ids = ops.decode_head(out, conf=conf, classes=classes)
        keep = nms(xyxy, scores, class_ids, iou=iou, max_det=max_det)
        xyxy = ops.rescale(xyxy[keep], box, rgb.shape[1], rgb.shape[0])
        if region[0] or region[1]:
            xyxy += np.array([region[0], region[1], region[0], region[1]], np.float32)
        return xyxy, scores[keep], class_ids[keep], ((t2 - t1) * 1e3, (t3 - t2) * 1e3, (time.perf_counter() - t3) * 1e3)


def _borrowing(free: queue.SimpleQueue[Any], run: Callable[[Region, Any], Found], region: Region) -> Found:
    """``run(region)`` on a model copy no other call holds meanwhile (a TFLite interpreter runs one call at a time)."""
    session = free.get()
    try:
        return run(region, session)
    finally:
        free.put(session)
