"""Roboflow's own Python client (inference-sdk, pinned, in its own venv) against a real service on loopback: v0 and
v1 modes on one image and on a list, async, the registry, load, describe, /info, the key in the query, the body
and the Authorization header; answers equal Detector.detect; a wrong key is the client's 401."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hub.runtime import Detector, load_image
from tests.helpers.images import box_iou
from tests.helpers.service import REDIS, RedisServer, service_env, start_api, start_worker, stop

CLIENT = Path(__file__).resolve().parents[2] / "build" / "venv-inference-sdk" / "bin" / "python"
pytestmark = [pytest.mark.skipif(REDIS is None, reason="redis-server is not installed (make install-system)"),
              pytest.mark.skipif(not CLIENT.is_file(), reason="needs `make install-clients`")]
CONF, IOU = 0.25, 0.7


@pytest.fixture(scope="module")
def service(demo_hub, state_dir, tmp_path_factory):
    """Redis, workers for onnx-fp32 (the default: two) and onnx-int8, an API that wants keys."""
    from hub.server.tokens import TokenStore

    root, repo = demo_hub
    tmp = tmp_path_factory.mktemp("roboflow")
    key, _ = TokenStore(tmp / "keys").create(role="read", name="roboflow-client")
    server = RedisServer(tmp / "redis").start()
    env = service_env(root, state_dir / "service-cache")
    procs = []
    try:
        procs += [start_worker(server.url, repo, env, tmp / f"w{i}.log", "--variant", v)
                  for i, v in enumerate(("onnx-fp32", "onnx-fp32", "onnx-int8"))]
        api, url = start_api(server.url, env, "--tokens", str(tmp / "keys"))
        procs.append(api)
        yield dict(url=url, repo=repo, key=key, tmp=tmp, env=env)
    finally:
        for p in procs:
            stop(p)
        server.stop()


def _run_client(service, images: list[Path], **spec) -> dict:
    spec = {"url": service["url"], "key": service["key"], "model": service["repo"], "images": [str(p) for p in images],
            "conf": CONF, "iou": IOU, **spec}
    done = subprocess.run([str(CLIENT), str(Path(__file__).parents[1] / "clients" / "roboflow_client.py"), json.dumps(spec)],
                          capture_output=True, text=True, timeout=300, env=service["env"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert service["key"] not in done.stderr  # the key is never printed, warnings included
    return json.loads(done.stdout)


def _corners(predictions: list[dict]) -> np.ndarray:
    """Roboflow's centre boxes (x, y, width, height) as x1, y1, x2, y2."""
    return np.array([[d["x"] - d["width"] / 2, d["y"] - d["height"] / 2, d["x"] + d["width"] / 2,
                      d["y"] + d["height"] / 2] for d in predictions], np.float32).reshape(-1, 4)


def _same(answer: dict, expected, name: str, *, tol: float = 1e-3) -> None:
    """Roboflow's centre boxes against the runtime's, matched by IoU >= 0.99, confidences within ``tol``."""
    p = answer["predictions"]
    boxes = _corners(p)
    assert len(boxes) == len(expected) >= 3, (name, len(boxes), len(expected))
    iou = box_iou(expected.xyxy, boxes)
    assert (iou.max(axis=1) >= 0.99).all(), name
    got = np.array([d["confidence"] for d in p])[iou.argmax(axis=1)]
    assert np.abs(got - expected.confidence).max() <= tol, name
    assert {d["class"] for d in p} <= set(expected.names) and answer["image"]["width"] == expected.image_size[0]


def test_the_roboflow_client_runs_unchanged_against_the_service(service, tiny_deck, tiny_data, tmp_path):
    tests = sorted((Path(tiny_data).parent / "images" / "test").iterdir())[:3]
    got = _run_client(service, tests, variant="onnx-int8", wrong_key="ydk_" + "x" * 43)
    fp32 = Detector(tiny_deck / "model-fp32.onnx", threads=1)
    want = [fp32.detect(p, conf=CONF, iou=IOU, max_det=300) for p in tests]
    for mode in ("v0_one", "v1_one", "v0_async", "header", "header_v0"):
        _same(got[mode], want[0], mode)
    for mode in ("v0_list", "v1_list", "v1_batch", "v1_async"):
        assert len(got[mode]) == len(tests), mode  # one answer per image, in order
        for answer, expected, path in zip(got[mode], want, tests, strict=True):
            _same(answer, expected, f"{mode} {path.name}")
    int8 = Detector(tiny_deck / "model-int8.onnx", threads=1)
    _same(got["variant"], int8.detect(tests[0], conf=CONF, iou=IOU, max_det=300), "repo@onnx-int8")
    ids = {m["model_id"] for m in got["registry"]["models"]}
    assert ids == {service["repo"], f"{service['repo']}@onnx-fp32", f"{service['repo']}@onnx-int8"}
    assert got["load"] == got["registry"]
    assert got["describe"]["model_id"] == service["repo"] and got["describe"]["task_type"] == "object-detection"
    assert got["describe"]["input_height"] == got["describe"]["input_width"] == fp32.imgsz
    assert got["info"]["name"].startswith("yolodeck")
    assert got["unknown_model"]["status"] == 404 and service["repo"] in got["unknown_model"]["message"]
    assert got["unload"]["status"] == 409
    assert got["wrong_key_v0"]["status"] == got["wrong_key_v1"]["status"] == 401


def test_a_larger_image_downsized_by_the_client_comes_back_in_its_own_pixels(service, tiny_deck, tiny_data, tmp_path):
    """v1 reads the model's input size from the registry and sends the image shrunk to it; the answer's boxes
    still land on the image the caller holds (the client scales them back from the size the service saw)."""
    test = sorted((Path(tiny_data).parent / "images" / "test").iterdir())[0]
    big = tmp_path / "big.png"
    Image.fromarray(load_image(test)).resize((768, 768), Image.BILINEAR).save(big)
    got = _run_client(service, [big])["v1_one"]
    want = Detector(tiny_deck / "model-fp32.onnx", threads=1).detect(big, conf=CONF, iou=IOU, max_det=300)
    p = got["predictions"]
    boxes = _corners(p)
    assert boxes[:, 2].max() > 400  # in the 768 px image, not the 256 px one sent
    best = box_iou(want.xyxy, boxes).max(axis=1)
    assert abs(len(p) - len(want)) <= max(2, len(want) // 10) and np.median(best) > 0.9, np.sort(best)[:5]


def test_the_v0_route_takes_a_multipart_file_and_percent_thresholds(service, tiny_deck, tiny_data):
    import httpx

    test = sorted((Path(tiny_data).parent / "images" / "test").iterdir())[0]
    url = f"{service['url']}/{service['repo']}"
    params = {"api_key": service["key"], "confidence": 25, "overlap": 70}
    r = httpx.post(url, params=params, files={"file": ("shelf.jpg", test.read_bytes(), "image/jpeg")}, timeout=60)
    assert r.status_code == 200, r.text
    _same(r.json(), Detector(tiny_deck / "model-fp32.onnx", threads=1).detect(test, conf=CONF, iou=IOU, max_det=300),
          "multipart, percent")
    bad = httpx.post(url, params={**params, "confidence": 250}, content=b"aGVsbG8=", timeout=60)
    assert bad.status_code == 422 and "confidence" in bad.json()["error"]
    words = httpx.post(url, params={**params, "confidence": "high"}, content=b"aGVsbG8=", timeout=60)
    assert words.status_code == 422 and "a number between 0 and 1" in words.json()["error"]
    from hub.deck.manifest import Manifest  # "best": each class from the deck's own threshold

    cut = Manifest.read(tiny_deck).variant("onnx-fp32").metrics.thresholds
    r = httpx.post(url, params={**params, "confidence": "best"}, files={"file": ("shelf.jpg", test.read_bytes())},
                   timeout=60)
    assert r.status_code == 200, r.text
    _same(r.json(), Detector(tiny_deck / "model-fp32.onnx", threads=1, thresholds=cut).detect(
        test, conf="best", iou=IOU, max_det=300), "multipart, best")
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    assert httpx.post(f"{service['url']}/nobody/nothing", params=params, files={"file": ("a.png", png.getvalue())},
                      timeout=60).status_code == 404
