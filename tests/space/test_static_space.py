"""The static Space in headless Chromium on loopback: the page served from one origin loads the deck from a
`hub serve` on another (CORS, sha256, the Cache API) and computes what `Detector.detect` computes; every
control, the webcam on a fake camera, the Metrics charts, bad input and a tampered model file."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from hub.runtime import Detector, load_image
from tests.helpers.apps import CHROMIUM, free_port, launch_browser, start_server, stop, write_y4m
from tests.helpers.images import box_iou

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")]
VENDOR = Path(__file__).resolve().parents[2] / "build" / "web" / "node_modules"
needs_vendor = pytest.mark.skipif(not (VENDOR / "onnxruntime-web").is_dir(), reason="needs `make install-web`")


def _hub(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, check=True).stdout


def _serve_folder(folder: Path):
    from space.serve_static import serve

    server = serve(folder, port=free_port())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture(scope="module")
def hub_url(demo_hub):
    port = free_port()
    proc = start_server([sys.executable, "-m", "hub.cli", "serve", "--root", str(demo_hub[0]), "--port", str(port)],
                        port, dict(os.environ))
    yield f"http://127.0.0.1:{port}"
    stop(proc)


@pytest.fixture(scope="module")
def space_url(hub_url, demo_hub, tmp_path_factory):
    """The static Space of acme/tiny, built against the `hub serve` endpoint and served on another port."""
    folder = tmp_path_factory.mktemp("static") / "space"
    _hub("space", "build", "--sdk", "static", "--model", demo_hub[1], "--revision", "v1", "--endpoint", hub_url,
         "--out", str(folder))
    server, url = _serve_folder(folder)
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def pw():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw, space_url):
    browser, context = launch_browser(pw)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    yield browser, context, requests
    browser.close()


def _open(context, url: str):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1'], #error:not([hidden])", timeout=90_000)
    return page, errors


def _outcome(page, action) -> bool:
    """Run ``action`` (a UI change) and wait for its outcome, a new run or a new error (an earlier error may
    still be showing, so the page's counters decide); True for a run."""
    runs, errors = page.evaluate("[window.yolodeck.runs || 0, window.yolodeck.errors || 0]")
    action()
    page.wait_for_function(f"(window.yolodeck.runs || 0) > {runs} || (window.yolodeck.errors || 0) > {errors}",
                           timeout=90_000)
    return page.evaluate(f"(window.yolodeck.runs || 0) > {runs}")


def _result(page, action) -> dict:
    """Run ``action`` and return the page's next detection result (its JSON download's content)."""
    assert _outcome(page, action) and page.locator("#error").is_hidden(), page.inner_text("#error")
    return page.evaluate("window.yolodeck.last")


def _first_result(context, url: str, tiny_data):
    """The page opened and the first of ``_images`` detected: (page, its name, its bytes, the result)."""
    page, _ = _open(context, url)
    name, data = next(iter(_images(tiny_data).items()))
    return page, name, data, _result(page, _upload(page, name, data))


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


def _images(tiny_data) -> dict[str, bytes]:
    """The deck's test images and non-square cuts and enlargements of them, as PNG (lossless: the browser and
    Pillow decode the same pixels; a JPEG's decoders may differ in the last bit, and the runtime reads large
    JPEGs reduced)."""
    tests = sorted((Path(tiny_data).parent / "images" / "test").iterdir())
    out = {p.name: _png(load_image(p)) for p in tests[:3]}
    rgb = load_image(tests[3])
    out["wide 256x150"] = _png(np.ascontiguousarray(rgb[50:200]))
    out["tall 140x256"] = _png(np.ascontiguousarray(rgb[:, 60:200]))
    out["enlarged 700x433"] = _png(np.asarray(Image.fromarray(rgb).resize((700, 433), Image.BILINEAR)))
    return out


def _upload(page, name: str, data: bytes, mime: str = "image/png"):
    return lambda: page.locator("#file").set_input_files({"name": name, "mimeType": mime, "buffer": data})


@needs_vendor
@pytest.mark.parametrize("variant, score_tol", [("onnx-fp32", 1e-3), ("onnx-int8", 2e-2), ("onnx-fp16", 1e-2)])
def test_the_page_detects_what_detector_detects(browser, space_url, tiny_deck, tiny_data, variant, score_tol):
    from hub.deck.manifest import Manifest

    _, context, _ = browser
    page, errors = _open(context, space_url)
    page.locator("#variant").select_option(variant)
    detector = Detector(tiny_deck / Manifest.read(tiny_deck).variant(variant).file, threads=1)
    for name, data in _images(tiny_data).items():
        got = _result(page, _upload(page, name, data))
        want = detector.detect(data, conf=0.25, iou=0.7)
        assert got["variant"] == variant and got["image_size"] == list(want.image_size), name
        boxes = np.array([[d[k] for k in ("x1", "y1", "x2", "y2")] for d in got["detections"]], np.float32)
        scores = np.array([d["score"] for d in got["detections"]], np.float32)
        assert len(want) >= 3, name  # a test that can fail: the model finds the shelf's products
        if variant == "onnx-fp32":  # the same file, the same pixels in: the same boxes
            assert len(boxes) == len(want), (name, len(boxes), len(want))
            iou = box_iou(want.xyxy, boxes)
            assert (iou.max(axis=1) >= 0.99).all(), (name, np.sort(iou.max(axis=1))[:3])
            assert np.abs(scores[iou.argmax(axis=1)] - want.confidence).max() <= score_tol + 5e-5, name
        else:  # another engine's int8 / fp16 kernels: boxes near the threshold may come and go
            assert abs(len(boxes) - len(want)) <= max(1, len(want) // 10), (name, len(boxes), len(want))
            best = box_iou(want.xyxy, boxes).max(axis=1)
            assert np.median(best) >= 0.95, (name, np.sort(best)[:3])
    assert not errors


@needs_vendor
def test_every_control_changes_the_result_and_downloads_say_what_ran(browser, space_url, tiny_data):
    page, _, _, base = _first_result(browser[1], space_url, tiny_data)
    n = len(base["detections"])
    assert n >= 3 and base["commit"] and page.inner_text("#ran").startswith(base["variant"])

    def slide(selector: str, value: float):
        return lambda: page.evaluate(f"""(() => {{ const s = document.querySelector('{selector}');
            s.value = '{value}'; s.dispatchEvent(new Event('change')); }})()""")

    strict = _result(page, slide("#conf", 0.8))
    assert len(strict["detections"]) < n and min(d["score"] for d in strict["detections"] or [{"score": 1}]) > 0.8
    many = _result(page, slide("#conf", 0.01))  # weak boxes around and across the products
    assert len(many["detections"]) > n
    fewer = _result(page, slide("#iou", 0.05))
    assert len(fewer["detections"]) < len(many["detections"])  # a low IoU suppresses the overlapping ones
    _result(page, slide("#iou", 0.7))
    _result(page, slide("#conf", 0.25))
    none = _result(page, lambda: page.locator("#classes input").first.uncheck())
    assert none["detections"] == [] and none["counts"] == {"product": 0}
    again = _result(page, lambda: page.locator("#classes input").first.check())
    assert len(again["detections"]) == n
    other = _result(page, lambda: page.locator("#variant").select_option("onnx-int8"))
    assert other["variant"] == "onnx-int8" and "onnx-int8" in page.inner_text("#ran")
    downloaded = page.evaluate("""(async () => ({ json: await (await fetch(document.getElementById('json').href)).json(),
        csv: await (await fetch(document.getElementById('csv').href)).text() }))()""")
    assert downloaded["json"] == other and downloaded["csv"].count("\n") == len(other["detections"]) + 1


@needs_vendor
def test_bad_input_gets_a_clear_message_and_the_page_keeps_working(browser, space_url, tiny_data):
    page, name, data, good = _first_result(browser[1], space_url, tiny_data)
    huge = io.BytesIO()
    Image.new("L", (8000, 8000)).save(huge, "PNG")  # 64 MP: over the limit, refused from its header
    cases = [("notes.txt", b"just some text", "text/plain", "not an image"),
             ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", "SVG"),
             ("huge.png", huge.getvalue(), "image/png", "too large"),
             ("cut.png", data[:200], "image/png", "could not be decoded"),
             ("empty.jpg", b"", "image/jpeg", "empty")]
    for fname, body, mime, words in cases:
        assert not _outcome(page, _upload(page, fname, body, mime)), fname
        assert words in page.inner_text("#error") and fname in page.inner_text("#error"), (fname, page.inner_text("#error"))
        assert page.evaluate("window.yolodeck.last") == good  # the last result stands
    assert _result(page, _upload(page, name, data))["detections"] == good["detections"]  # and the page still works


@needs_vendor
def test_a_second_visit_downloads_only_the_page_and_nothing_leaves_loopback(browser, space_url):
    _, context, requests = browser
    page, _ = _open(context, space_url)
    requests.clear()
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=90_000)
    assert "from this browser's cache" in page.inner_text("#runtime-line")
    fetched = [u for u in requests if "/resolve/" in u and u.endswith(".onnx") or u.endswith(".wasm")]
    assert not fetched, fetched  # the model and onnxruntime-web's WebAssembly came from the Cache API
    assert requests and all(urlparse(u).hostname == "127.0.0.1" for u in requests), requests


@needs_vendor
def test_a_tampered_model_file_is_refused(pw, demo_hub, tmp_path):
    folder = tmp_path / "space"
    _hub("space", "build", "--sdk", "static", "--model", demo_hub[1], "--endpoint", str(demo_hub[0]), "--bundle",
         "--variants", "onnx-fp32", "--out", str(folder))
    model = folder / "deck" / "model-fp32.onnx"
    model.write_bytes(model.read_bytes()[:-1] + b"\0")  # one byte changed
    server, url = _serve_folder(folder)
    try:
        browser, context = launch_browser(pw)
        page, _ = _open(context, url)
        assert "failed its checksum" in page.inner_text("#error") and "refused" in page.inner_text("#error")
        browser.close()
    finally:
        server.shutdown()


@needs_vendor
def test_the_webcam_draws_boxes_over_a_fake_camera_and_metrics_render(pw, space_url, tiny_deck, tiny_data, tmp_path):
    test = sorted((Path(tiny_data).parent / "images" / "test").iterdir())[0]
    frame = np.asarray(Image.fromarray(load_image(test)).resize((320, 320)))
    camera = write_y4m(tmp_path / "cam.y4m", [frame] * 30)
    browser, context = launch_browser(pw, camera=camera)
    page, _ = _open(context, space_url)
    page.locator("#tabs button[data-tab='webcam']").click()
    page.locator("#webcam-start").click()
    page.wait_for_function("Number(document.getElementById('webcam-stats').dataset.shown || 0) >= 5",
                           timeout=90_000)
    assert "fps shown" in page.inner_text("#webcam-stats")
    drawn = page.evaluate("""(() => { const c = document.getElementById('overlay');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; })()""")
    assert drawn > 500, drawn  # box outlines on the overlay
    page.locator("#webcam-stop").click()
    page.locator("#tabs button[data-tab='metrics']").click()
    page.wait_for_function("document.querySelectorAll('#charts .main-svg').length >= 3", timeout=60_000)
    rows = page.locator("#variants tr").count()
    browser.close()
    from hub.deck.manifest import Manifest

    assert rows == len(Manifest.read(tiny_deck).variants) + 1  # a header and a row per variant


@needs_vendor
def test_space_push_static_to_a_hub_serve_then_served_as_the_hub_serves_it(pw, hub_url, demo_hub, tmp_path):
    """`hub space push --sdk static` to a `hub serve`; the pushed folder, downloaded and served with its front
    matter's headers, loads the deck from that endpoint and detects."""
    from huggingface_hub import snapshot_download

    out = _hub("space", "push", "--sdk", "static", "--repo", "acme/tiny-static", "--model", demo_hub[1],
               "--endpoint", hub_url)
    assert "pushed space acme/tiny-static@" in out
    folder = Path(snapshot_download("acme/tiny-static", repo_type="space", endpoint=hub_url,
                                    local_dir=tmp_path / "pulled", token=False))
    assert "sdk: static" in (folder / "README.md").read_text()
    server, url = _serve_folder(folder)
    try:
        browser, context = launch_browser(pw)
        page, _ = _open(context, url)
        assert page.evaluate("self.crossOriginIsolated")  # the front matter's headers reached the browser
        example = page.locator("#examples img").first
        before = page.evaluate("window.yolodeck.runs || 0")
        example.click()
        page.wait_for_function(f"(window.yolodeck.runs || 0) > {before}", timeout=90_000)
        assert len(page.evaluate("window.yolodeck.last")["detections"]) >= 3
        browser.close()
    finally:
        server.shutdown()


def test_the_shelf_panel_reports_what_hub_runtime_shelf_reports(browser, space_url, tiny_data, tmp_path):
    """The page's shelf module on synth-shelves --with-empty's own boxes (both classes, gaps known; every fifth
    product left out, so spaces between products are read too) gives the report hub.runtime.shelf gives, field by
    field; the tiny deck (products only) says what would show gaps."""
    from hub.runtime import Detections
    from hub.runtime.shelf import shelf_report
    from training.data import synth_shelves
    from training.data.layout import read_data_yaml, read_labels, split_images

    data = synth_shelves.generate(tmp_path / "shelves", train=1, val=1, test=4, width=480, height=360,
                                  with_empty=True, seed=5, progress=False)
    names = read_data_yaml(data)["names"]
    names = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
    page, _, _, _ = _first_result(browser[1], space_url, tiny_data)
    assert "have no 'empty'" in page.inner_text("#shelf-summary")
    for image in split_images(read_data_yaml(data), "test"):
        labels = read_labels(image, 480, 360)
        labels = np.delete(labels, np.flatnonzero(labels[:, 0] == 0)[::5], axis=0)  # missed products: spaces
        scores = np.linspace(0.95, 0.5, len(labels)).astype(np.float32)
        found = Detections(labels[:, 1:].astype(np.float32), scores, labels[:, 0].astype(np.int64), names)
        want = shelf_report(found).to_dict()
        got = page.evaluate("""async ([xyxy, scores, ids, names]) => {
            const { Detections } = await import(new URL('js/detections.js', document.baseURI).href);
            const { shelfReport } = await import(new URL('js/shelf.js', document.baseURI).href);
            return shelfReport(new Detections({ xyxy: Float32Array.from(xyxy), scores: Float32Array.from(scores),
              classIds: Int32Array.from(ids), names, timingMs: {}, imageSize: [480, 360] })); }""",
                            [found.xyxy.ravel().tolist(), scores.tolist(), found.class_id.tolist(), names])
        assert want["empty"] > 0 and len(want["rows"]) > 1, want  # gaps on several shelves: a real case
        assert {g["source"] for r in want["rows"] for g in r["gaps"]} == {"box", "space"}, want
        assert len(want["restock"]) < want["empty"], want  # some gaps joined into one place
        _same(got, want, str(image.name))


def _same(got, want, where: str) -> None:
    """Equal, numbers within their rounding (a facings count at an exact tie may round the other way)."""
    if isinstance(want, dict):
        assert set(got) == set(want), (where, set(got) ^ set(want))
        for k in want:
            _same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), (where, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert abs(got - want) <= (0.1 if where.endswith("facings") else 1e-4), (where, got, want)
    else:
        assert got == want, (where, got, want)
