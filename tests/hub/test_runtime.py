"""hub.runtime: parity with Ultralytics' predict, every input kind, every bad input, lean imports."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hub.base.errors import (
    BackendNotAvailableError,
    InvalidImageError,
    UnsupportedModelError,
    UntrustedCheckpointError,
)
from hub.deck.manifest import Manifest
from hub.runtime import BoxAnnotator, Detections, Detector, LabelAnnotator, load_image, nms, ops
from tests.helpers.images import BAD_IMAGES, box_iou
from training.data.layout import read_data_yaml, split_images


@pytest.fixture(scope="module")
def test_images(tiny_data) -> list[Path]:
    return split_images(read_data_yaml(tiny_data), "test")


@pytest.mark.parametrize("variant", ["onnx-fp32", "onnx-int8", "tflite-fp32", "tflite-int8"])
def test_detections_match_ultralytics_predict(tiny_deck, test_images, variant):
    from ultralytics import YOLO

    manifest = Manifest.read(tiny_deck)
    path = tiny_deck / manifest.variant(variant).file
    ours = Detector(path, threads=2)
    theirs = YOLO(str(path), task="detect")
    total = 0
    for image in test_images:
        a = ours.detect(image, conf=0.25, iou=0.7, max_det=300)
        b = Detections.from_ultralytics(theirs.predict(str(image), imgsz=256, conf=0.25, iou=0.7, max_det=300,
                                                       verbose=False)[0])
        assert len(a) == len(b), (image.name, len(a), len(b))
        total += len(a)
        if len(a):
            iou = box_iou(a.xyxy, b.xyxy)
            assert (iou.max(axis=1) >= 0.95).all()
            np.testing.assert_allclose(np.sort(a.confidence), np.sort(b.confidence), atol=0.02)
    assert total > 20  # the comparison compared something


def test_every_input_kind_gives_the_same_detections(tiny_deck, test_images, tmp_path):
    det = Detector(tiny_deck / "model-fp32.onnx")
    path = test_images[0]
    rgb = np.asarray(Image.open(path).convert("RGB"))
    reference = det.detect(rgb)
    png = tmp_path / "x.png"
    Image.fromarray(rgb).save(png)
    for source, kw in [
        (png, {}), (str(png), {}), (png.read_bytes(), {}), (Image.fromarray(rgb), {}),
        (np.ascontiguousarray(rgb[..., ::-1]), {"bgr": True}), (rgb.astype(np.float32) / 255, {}),
        (np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), {}), ((rgb.astype(np.uint16) << 8), {}),
    ]:
        d = det.detect(source, **kw)
        assert len(d) == len(reference), type(source)
        np.testing.assert_allclose(d.xyxy, reference.xyxy, atol=1.5)


@pytest.mark.parametrize("file", ["model-fp32.onnx", "model-int8.onnx"])
def test_openvino_runs_the_onnx_files_like_onnx_runtime(tiny_deck, test_images, file):
    ort = Detector(tiny_deck / file, threads=2)
    ov = Detector(tiny_deck / file, backend="openvino", threads=2)
    assert ov.backend == "openvino" and ov.names == ort.names and ov.imgsz == ort.imgsz
    total = 0
    for image in test_images:
        a, b = ort.detect(image), ov.detect(image)
        # int8 kernels round differently: a few boxes near the threshold may come and go, the rest agree
        assert abs(len(a) - len(b)) <= max(3, len(a) // 10), (len(a), len(b))
        total += len(a)
        clear = a[a.confidence >= 0.35]
        if len(clear):
            best = box_iou(clear.xyxy, b.xyxy).max(axis=1)
            assert np.median(best) >= 0.95, np.sort(best)[:5]
            if "fp32" in file:  # same float graph: every clear box is there; int8 is another int8 implementation,
                assert (best >= 0.9).all(), np.sort(best)[:5]  # its accuracy is the deck's mAP (test_training)
    assert total > 20


def test_a_backend_that_cannot_run_a_file_says_so(tiny_deck):
    with pytest.raises(UnsupportedModelError, match="openvino backend does not run .tflite"):
        Detector(tiny_deck / "model-fp32.tflite", backend="openvino")
    with pytest.raises(UnsupportedModelError, match="unknown backend 'tensorrt'"):
        Detector(tiny_deck / "model-fp32.onnx", backend="tensorrt")


def test_sleeping_worker_threads_give_the_same_detections(tiny_deck, test_images):
    """``busy_wait=False`` (what the apps use) changes scheduling only, never results."""
    image = test_images[0]
    spinning = Detector(tiny_deck / "model-fp32.onnx", threads=2, busy_wait=True).detect(image)
    sleeping = Detector(tiny_deck / "model-fp32.onnx", threads=2, busy_wait=False).detect(image)
    assert len(spinning) > 0
    np.testing.assert_array_equal(sleeping.class_id, spinning.class_id)
    np.testing.assert_allclose(sleeping.xyxy, spinning.xyxy, atol=1e-3)


def test_yolodeck_busy_wait_is_the_default_and_the_argument_wins(tiny_deck, monkeypatch):
    """YOLODECK_BUSY_WAIT=0 (the suite sets it: two workers share two cores) makes ONNX Runtime's idle threads
    sleep where a caller says nothing; unset, they spin; ``busy_wait=`` given wins either way."""
    from hub.base import settings

    def spins(detector: Detector) -> bool:
        options = detector._session._session.get_session_options()
        try:
            return options.get_session_config_entry("session.intra_op.allow_spinning") != "0"
        except RuntimeError:  # not set: ONNX Runtime's default, spinning
            return True

    model = tiny_deck / "model-fp32.onnx"
    try:
        for value, spinning in (("0", False), (None, True)):
            if value is None:
                monkeypatch.delenv("YOLODECK_BUSY_WAIT", raising=False)
            else:
                monkeypatch.setenv("YOLODECK_BUSY_WAIT", value)
            settings.reload()
            assert spins(Detector(model, threads=2)) is spinning, value
            assert spins(Detector(model, threads=2, busy_wait=not spinning)) is not spinning, value
    finally:
        monkeypatch.undo()
        settings.reload()


def test_exif_orientation_grayscale_rgba_and_16bit(tmp_path):
    base = np.zeros((40, 80, 3), np.uint8)
    base[:, :10] = 255  # a white stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    buf = io.BytesIO()
    Image.fromarray(base).save(buf, "JPEG", exif=exif)
    rotated = load_image(buf.getvalue())
    assert rotated.shape == (80, 40, 3) and rotated[:10].mean() > 200  # the stripe is now on top
    gray = io.BytesIO()
    Image.fromarray(base[..., 0]).save(gray, "PNG")
    assert load_image(gray.getvalue()).shape == (40, 80, 3)
    rgba = io.BytesIO()
    Image.fromarray(np.dstack([base, np.zeros((40, 80), np.uint8)])).save(rgba, "PNG")
    assert (load_image(rgba.getvalue()) == 114).all()  # transparent -> the letterbox grey
    deep = io.BytesIO()
    Image.fromarray(base[..., 0].astype(np.uint16) * 257).save(deep, "PNG")
    out = load_image(deep.getvalue())
    assert out.dtype == np.uint8 and out[:, :10].min() >= 250 and out[:, 20:].max() <= 5


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
def test_bad_images_get_a_clear_error(tiny_deck, tmp_path, kind):
    make, message = BAD_IMAGES[kind]
    det = Detector(tiny_deck / "model-fp32.onnx")
    with pytest.raises(InvalidImageError, match=message):
        det.detect(make(tmp_path))
    assert len(det.detect(np.zeros((64, 64, 3), np.uint8), conf=0.99)) == 0  # and it keeps working


def test_dense_postprocessing_keeps_many_boxes_and_respects_max_det():
    rng = np.random.default_rng(0)
    n = 8400
    centers = rng.uniform(10, 630, (2, n))
    head = np.concatenate([centers, np.full((2, n), 6.0), rng.uniform(0, 1, (2, n))]).astype(np.float32)[None]
    xyxy, scores, cls = ops.decode_head(head, conf=0.25)
    assert len(scores) > 5000
    keep = nms.nms(xyxy, scores, cls, iou=0.7, max_det=1000)
    assert len(keep) == 1000 and np.all(np.diff(scores[keep]) <= 0)
    only1 = ops.decode_head(head, conf=0.25, classes=[1])[2]
    assert set(only1.tolist()) == {1}


@pytest.mark.parametrize("shape", [(240, 320), (640, 480), (97, 1203), (320, 320), (7, 5)])
def test_the_nhwc_letterbox_is_the_nchw_one_transposed(shape):
    """TFLite's blob is written in its own layout: the same numbers, in NHWC, bit for bit."""
    image = np.random.default_rng(1).integers(0, 256, (*shape, 3), np.uint8)
    nchw, box = ops.letterbox(image, 320)
    nhwc, box2 = ops.letterbox(image, 320, layout="nhwc", out=np.zeros((1, 320, 320, 3), np.float32))
    assert box == box2 and nhwc.shape == (1, 320, 320, 3)
    assert np.array_equal(nhwc, nchw.transpose(0, 2, 3, 1))
    codes = np.random.default_rng(2).integers(0, 256, 256).astype(np.uint8)  # int8 codes: each pixel's, padding too
    coded, box3 = ops.letterbox(image, 320, codes=codes)
    assert box3 == box and coded.dtype == np.int8
    assert np.array_equal(coded.view(np.uint8), codes[np.rint(nhwc * 255).astype(np.uint8)])


def test_an_int8_tflite_file_takes_int8_codes_and_gives_the_same_head_bit_for_bit(tiny_deck, test_images):
    """LiteRT's int8 export quantizes and transposes a float NCHW image as its first two steps; the Detector cuts
    those out (``backends/_tflite_input.py``) and writes the int8 codes itself. The head is bit for bit what the
    file as it is gives on the float blob; files that do not start so (fp32) are left as they are."""
    from ai_edge_litert.interpreter import Interpreter

    det = Detector(tiny_deck / "model-int8.tflite", threads=2)
    assert det.layout == "nhwc" and det.input_codes is not None and det.input_codes.shape == (256,)
    original = Interpreter(model_path=str(det.path), num_threads=2)
    original.allocate_tensors()
    given, head = original.get_input_details()[0], original.get_output_details()[0]
    assert given["dtype"] == np.float32 and list(given["shape"]) == [1, 3, det.imgsz, det.imgsz]
    for image in [*test_images[:4], np.full((100, 300, 3), 255, np.uint8)]:  # a padded, saturated one too
        rgb = load_image(image)
        original.set_tensor(given["index"], ops.letterbox(rgb, det.imgsz)[0])
        original.invoke()
        expected = original.get_tensor(head["index"]).astype(np.float32)
        expected = expected.transpose(0, 2, 1) if expected.shape[1] > expected.shape[2] else expected
        expected[:, :4] *= det.imgsz  # what the session does to any TFLite head (normalised boxes)
        codes, _ = ops.letterbox(rgb, det.imgsz, codes=det.input_codes)
        assert codes.dtype == np.int8 and codes.shape == (1, det.imgsz, det.imgsz, 3)
        np.testing.assert_array_equal(det.infer(codes), expected)
    fp32 = Detector(tiny_deck / "model-fp32.tflite", threads=2)
    assert fp32.input_codes is None and fp32.layout == "nchw"
    blob, _ = ops.letterbox(load_image(test_images[0]), fp32.imgsz, layout=fp32.layout)
    assert fp32.infer(blob).shape[1] == 5 and det.infer(blob).shape[1] == 5  # a float NCHW blob still runs on both
    assert Detector(tiny_deck / "model-fp32.onnx", threads=2).layout == "nchw"


def _crowd(rng, n: int, classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` boxes in clumps of near-duplicates, as a detect head proposes them on a dense shelf."""
    centers = np.repeat(rng.uniform(20, 300, (n // 5, 2)), 5, axis=0) + rng.normal(0, 2, (n // 5 * 5, 2))
    sizes = np.repeat(rng.uniform(8, 30, (n // 5, 2)), 5, axis=0) * rng.uniform(0.85, 1.15, (n // 5 * 5, 2))
    xyxy = np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1).astype(np.float32)
    return xyxy, rng.uniform(0.25, 1, len(xyxy)).astype(np.float32), rng.integers(0, classes, len(xyxy))


@pytest.mark.parametrize("classes", [1, 3])
@pytest.mark.parametrize("iou", [0.45, 0.7])
def test_onnxruntime_nms_keeps_the_boxes_opencv_keeps(classes, iou):
    """ONNX Runtime's kernel (what detect() runs) against OpenCV's (the fallback without onnxruntime)."""
    session = nms._session()
    assert session is not None
    for seed in range(5):
        xyxy, scores, cls = _crowd(np.random.default_rng(seed), 600, classes)
        one_class = classes == 1
        ours = nms._nms_onnxruntime(session, xyxy, scores, cls, one_class, iou, 1000)
        opencv = nms._nms_opencv(xyxy, scores, cls, one_class, iou)
        assert 50 < len(ours) < 600 and sorted(ours.tolist()) == sorted(opencv.tolist())


def test_nms_is_class_aware_and_keeps_the_best_first():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10.5], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.5, 0.9, 0.8, 0.3], np.float32)
    assert nms.nms(boxes, scores, np.array([0, 0, 1, 0]), iou=0.7, max_det=10).tolist() == [1, 2, 3]
    assert nms.nms(boxes, scores, np.array([0, 0, 0, 0]), iou=0.7, max_det=10).tolist() == [1, 3]
    assert nms.nms(boxes, scores, np.array([0, 0, 0, 0]), iou=0.99, max_det=2).tolist() == [1, 2]
    assert nms.nms(boxes[:0], scores[:0], np.zeros(0, np.int64), iou=0.7, max_det=10).tolist() == []


def test_the_committed_nms_graph_is_what_build_graph_makes():
    assert nms.GRAPH.read_bytes() == nms.build_graph()


def test_without_onnxruntime_a_tflite_model_detects_the_same_through_opencv_nms(tiny_deck, test_images):
    code = (
        "import sys, json; sys.modules['onnxruntime'] = None\n"
        "from hub.runtime import Detector, nms\n"
        "assert nms._session() is None\n"
        f"d = Detector({str(tiny_deck / 'model-fp32.tflite')!r}).detect({str(test_images[0])!r}, conf=0.1)\n"
        "print(json.dumps(d.xyxy.tolist()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    expected = Detector(tiny_deck / "model-fp32.tflite").detect(test_images[0], conf=0.1)
    assert len(expected) > 5 and np.allclose(json.loads(out.stdout.splitlines()[-1]), expected.xyxy)


def test_detections_views(tiny_deck, test_images):
    det = Detector(tiny_deck / "model-fp32.tflite")
    d = det.detect(test_images[0], conf=0.25)
    assert len(d) > 0 and d.counts() == {"product": len(d)}
    rows = d.to_rows()
    assert rows[0].keys() == {"class_name", "class_id", "score", "x1", "y1", "x2", "y2"}
    payload = json.loads(d.to_json())
    assert len(payload["detections"]) == len(d) and set(payload["timing_ms"]) >= {"inference", "total"}
    assert d.to_csv().count("\n") == len(d) + 1
    back = Detections.from_json(d.to_json(), d.names)  # what the app's Shelf panel reads its detections from
    assert back.image_size == d.image_size and back.tiles == d.tiles and (back.class_id == d.class_id).all()
    assert np.allclose(back.xyxy, d.xyxy, atol=0.05) and np.allclose(back.confidence, d.confidence, atol=1e-4)
    assert len(d[d.confidence > 0.5]) == int((d.confidence > 0.5).sum())
    w, h = d.image_size
    assert (d.xyxy[:, [0, 2]] <= w).all() and (d.xyxy[:, [1, 3]] <= h).all() and (d.xyxy >= 0).all()
    scene = np.asarray(Image.open(test_images[0]).convert("RGB"))
    for annotator in (BoxAnnotator(), LabelAnnotator()):
        out = annotator.annotate(scene, d)
        assert out.shape == scene.shape and out.dtype == scene.dtype and (out != scene).any()
    assert d.timing_ms["total"] >= d.timing_ms["inference"] > 0


def test_importing_the_runtime_and_running_onnx_does_not_import_torch(tiny_deck):
    code = (
        "import sys, numpy as np, hub.runtime as r\n"
        "assert 'torch' not in sys.modules\n"
        f"d = r.Detector({str(tiny_deck / 'model-fp32.onnx')!r}).detect(np.zeros((64, 64, 3), np.uint8))\n"
        f"d = r.Detector({str(tiny_deck / 'model-int8.tflite')!r}).detect(np.zeros((64, 64, 3), np.uint8))\n"
        "assert 'torch' not in sys.modules and 'ultralytics' not in sys.modules, 'heavy import'\n"
        "print('lean')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "lean" in out.stdout, out.stderr


def test_a_missing_backend_package_says_what_to_install(tiny_deck):
    code = (
        "import sys; sys.modules['ai_edge_litert'] = None\n"
        "from hub.runtime import Detector\n"
        f"Detector({str(tiny_deck / 'model-fp32.tflite')!r})\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "BackendNotAvailableError" in out.stderr
    assert "pip install ai-edge-litert" in out.stderr
    assert issubclass(BackendNotAvailableError, ImportError)


def test_pickled_checkpoints_are_refused_and_weights_only_ones_load(tiny_run, tiny_deck):
    with pytest.raises(UntrustedCheckpointError, match="weights only"):
        Detector(tiny_run / "weights" / "best.pt")
    det = Detector(tiny_deck / "model.pt")
    assert det.backend == "torch" and det.names == ["product"] and det.imgsz == 256
    onnx = Detector(tiny_deck / "model-fp32.onnx")
    image = np.asarray(Image.open(next((tiny_deck.parent / "tiny-shelves/images/test").iterdir())).convert("RGB"))
    a, b = det.detect(image), onnx.detect(image)
    assert len(a) == len(b) and len(a) > 0


def test_unknown_model_format_is_a_clear_error(tmp_path):
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"x")
    with pytest.raises(UnsupportedModelError, match="unknown model format"):
        Detector(bogus)
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not onnx")
    with pytest.raises(UnsupportedModelError, match="not a loadable ONNX model"):
        Detector(broken)


@pytest.mark.parametrize("cut", ["garbage", "head", "tail"])
def test_a_broken_tflite_file_is_a_clear_error(tiny_deck, tmp_path, cut):
    """Also for the int8 input rewrite, which reads the flatbuffer first: a cut file never half-loads."""
    data = (tiny_deck / "model-int8.tflite").read_bytes()
    broken = tmp_path / "model.tflite"
    broken.write_bytes({"garbage": b"TFL3" * 64, "head": data[:4096], "tail": data[: len(data) // 2]}[cut])
    with pytest.raises(UnsupportedModelError, match="not a loadable TFLite model"):
        Detector(broken)


def test_one_detector_serves_many_threads(tiny_deck, test_images):
    """Apps share one Detector between users; a TFLite interpreter alone would crash on concurrent invokes."""
    code = f"""
import threading, numpy as np
from hub.runtime import Detector
from tests.helpers.images import box_iou
from tests.helpers.images import BAD_IMAGES
images = {[str(p) for p in test_images[:4]]!r}
for name in ("model-int8.tflite", "model-fp32.onnx"):
    det = Detector({str(tiny_deck)!r} + "/" + name, threads=1)
    expected = [len(det.detect(p)) for p in images]
    errors = []
    def work(k):
        try:
            for i in range(12):
                j = (i + k) % len(images)
                assert len(det.detect(images[j])) == expected[j]
        except Exception as exc:
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, (out.returncode, out.stderr[-2000:])


def test_a_pt_file_saved_without_its_scale_loads_without_ultralytics_guessing_it(tiny_deck, tmp_path):
    """A YAML of several scales saved with ``scale: ''`` (as older decks are): the backend names the scale its
    weights have, so Ultralytics' "no model scale passed" warning, which no user can act on, never appears."""
    import logging

    import torch

    weights = torch.load(tiny_deck / "model.pt", map_location="cpu", weights_only=True)
    weights["yaml"] = {**weights["yaml"], "scale": ""}
    torch.save(weights, tmp_path / "model.pt")
    log, records = logging.getLogger("ultralytics"), []
    handler, filters = logging.Handler(), log.filters[:]
    handler.emit = records.append
    log.filters.clear()  # training.quiet's filter would hide the warning, not prevent it
    log.addHandler(handler)
    try:
        det = Detector(tmp_path / "model.pt")
    finally:
        log.removeHandler(handler)
        log.filters[:] = filters
    assert len(det.detect(np.zeros((64, 64, 3), np.uint8))) == 0
    assert not [r.getMessage() for r in records if "scale" in r.getMessage()]


def test_a_torchscript_variant_loads_without_torch_s_deprecation_warning(tiny_deck):
    """``torch.jit.load`` warns that it is deprecated at every load; the deck ships TorchScript on purpose, so the
    backend silences that one warning where it calls it, and only there."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        det = Detector(tiny_deck / "model.torchscript")
    assert det.backend == "torchscript"
    assert not [str(w.message) for w in caught if "deprecated" in str(w.message)]
