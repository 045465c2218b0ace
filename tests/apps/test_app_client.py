"""The Gradio app through gradio_client: every api_name, and bad uploads that leave it serving."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.apps import plotly_values
from tests.helpers.images import BAD_IMAGES


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, analytics_enabled=False, verbose=False)


@pytest.fixture(scope="module")
def shelf(tiny_data) -> str:
    return str(sorted((Path(tiny_data).parent / "images" / "test").iterdir())[0])


def test_the_api_names_are_documented(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    from apps.gradio_app.app import video_ready

    assert names == {"/deck", "/precisions", "/detect", "/shelf", "/compare", "/frame", "/metrics", "/across"} | (
        {"/video"} if video_ready() else set())


def test_every_input_and_output_of_the_api_has_its_own_name(client):
    """An API user reads view_api(): no parameter or result is Gradio's placeholder (``value_37``,
    ``parameter_57``), and no two results of one endpoint share a name."""
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    unnamed = [f"{name} {p.get('label') or p['parameter_name']}" for name, e in api.items() for p in e["parameters"]
               if not p.get("label")]
    unnamed += [f"{name} -> {r.get('label')}" for name, e in api.items() for r in e["returns"]
                if not r.get("label") or r["label"].startswith("value_")]
    assert unnamed == []
    shared = {name: labels for name, e in api.items()
              if len(labels := [r["label"] for r in e["returns"]]) != len(set(labels))}
    assert shared == {}


def test_deck_and_precisions(client, tiny_deck):
    from hub.deck.manifest import Manifest

    revision, backend, precision, imgsz, classes, info, best = client.predict("acme/tiny", "v1", api_name="/deck")
    assert "tiny-shelves" in info and "acme/tiny@v1" in info and "256 px" in info
    default = Manifest.read(tiny_deck).variant(re.search(r"default (\S+)", info).group(1))
    assert best["value"] is bool(default.metrics.thresholds)  # ticked when the deck has its own thresholds
    assert {c[1] for c in revision["choices"]} == {"main", "v1", "v2"} and revision["value"] == "v1"
    assert {c[1] for c in backend["choices"]} == {"torch", "torchscript", "onnxruntime", "tflite", "openvino"}
    assert precision["value"] in ("fp32", "fp16", "int8") and imgsz["value"] == 256
    assert [c[1] for c in classes["choices"]] == ["product"]
    precisions, sizes = client.predict("acme/tiny", "main", "tflite", api_name="/precisions")
    assert [c[1] for c in precisions["choices"]] == ["fp32", "fp16", "int8"]
    assert [c[1] for c in sizes["choices"]] == [256]
    _, torch_sizes = client.predict("acme/tiny", "main", "torch", api_name="/precisions")
    assert 640 in [c[1] for c in torch_sizes["choices"]]  # PyTorch runs at any size


def test_detect_follows_the_controls(client, shelf):
    from gradio_client import handle_file

    from hub.base import catalog

    def run(backend, precision, conf, iou=0.7, classes=()):
        return client.predict(handle_file(shelf), "acme/tiny", "main", backend, precision, conf, iou, 256,
                              list(classes), api_name="/detect")

    image, table, counts, latency, json_path, csv_path, ran = run("onnxruntime", "fp32", 0.25)
    n = len(table["data"])
    assert n > 5 and dict(map(tuple, counts["data"]))["total"] == n
    assert np.asarray(Image.open(image)).shape[2] == 3
    assert {row[0] for row in latency["data"]} == {"read", "letterbox", "inference", "postprocess", "total"}
    payload = json.loads(Path(json_path).read_text())
    assert len(payload["detections"]) == n and Path(csv_path).read_text().count("\n") == n + 1
    assert ran.startswith("**onnx-fp32**") and "acme/tiny@" in ran
    fewer = run("onnxruntime", "fp32", 0.6)[1]["data"]
    assert len(fewer) < n and all(row[1] >= 0.6 for row in fewer)
    # the IoU slider reaches NMS: at 0.99 it suppresses almost nothing, so each object's near-duplicates stay
    assert len(run("onnxruntime", "fp32", 0.25, iou=0.99)[1]["data"]) > n
    for kind in catalog.VARIANTS.values():  # every picker pair runs the variant it names, no other
        if kind.id in ("openvino-fp32", "openvino-int8", "onnx-fp32"):
            continue
        out = run(kind.backend, kind.precision, 0.25)
        assert out[6].startswith(f"**{kind.id}**"), (kind.id, out[6])
        assert abs(len(out[1]["data"]) - n) <= max(3, n // 5)
    tiled = client.predict(handle_file(shelf), "acme/tiny", "main", "onnxruntime", "fp32", 0.25, 0.7, 256, [], "2x2",
                           api_name="/detect")
    assert "tiles 2x2" in tiled[6] and len(tiled[1]["data"]) > 0  # the Tiles control reaches detect()
    plain = run("onnxruntime", "fp32", 0.25)[1]["data"]
    assert tiled[1]["data"] != plain  # and changes the result (tiles see the shelf at twice the scale)
    auto = client.predict(handle_file(shelf), "acme/tiny", "main", "onnxruntime", "fp32", 0.25, 0.7, 256, [], "auto",
                          api_name="/detect")
    assert re.search(r"tiles auto → \d x \d ·", auto[6]), auto[6]  # the line says which grid auto chose
    at_320 = client.predict(handle_file(shelf), "acme/tiny", "main", "torch", "fp32", 0.25, 0.7, 320, [],
                            api_name="/detect")
    at_256 = run("torch", "fp32", 0.25)
    assert "320 px" in at_320[6] and at_320[1]["data"] != at_256[1]["data"]  # the size reaches PyTorch
    for vid in ("openvino-int8", "onnx-int8"):  # one file, two backends: the picker decides which ran
        kind = catalog.VARIANTS[vid]
        assert run(kind.backend, kind.precision, 0.25)[6].startswith(f"**{vid}**")


def test_the_shelf_panel_says_what_a_deck_without_an_empty_class_cannot_show(client, shelf):
    from gradio_client import handle_file

    out = client.predict(handle_file(shelf), "acme/tiny", "main", "onnxruntime", "fp32", 0.25, 0.7, 256, [],
                         api_name="/detect")
    text, restock, report = client.predict(handle_file(out[4]), "acme/tiny", "main", api_name="/shelf")
    assert "no `empty`" in text and "--with-empty" in text and not restock["data"] and report is None


def test_compare_runs_every_variant(client, shelf):
    from gradio_client import handle_file

    gallery, table = client.predict(handle_file(shelf), "acme/tiny", "main", 0.25, 0.7, api_name="/compare")
    assert len(gallery) == len(table["data"]) == 10  # every variant: the full set installs every backend
    assert {row[0] for row in table["data"]} >= {"onnx-fp32", "onnx-int8", "tflite-int8", "openvino-int8"}
    for picture, (variant, objects, *_) in zip(gallery, table["data"], strict=True):  # run side by side, shown in order
        assert re.match(rf"{variant} @ [0-9a-f]{{8}}: {objects} objects, ", picture["caption"]), (picture, variant)


def test_webcam_endpoint_processes_a_frame(client, shelf):
    from gradio_client import handle_file

    for backend, ran in (("onnxruntime", "onnx-int8"), ("openvino", "openvino-int8"), ("onnxruntime", "onnx-int8")):
        frame, line = client.predict(handle_file(shelf), "acme/tiny", "main", backend, "int8", 0.25, 0.7,
                                     api_name="/frame")  # one file, two backends: the line names the one that ran
        assert Path(frame).is_file() and "ms per frame" in line and re.search(rf"\({ran} @ [0-9a-f]{{8}}\)", line), line


def test_metrics_come_from_the_manifest(client, tiny_deck):
    from hub.deck.manifest import Manifest

    table, scatter, sizes, latency, objects = client.predict("acme/tiny", "main", api_name="/metrics")
    manifest = Manifest.read(tiny_deck)
    assert [row[0] for row in table["data"]] == [v.id for v in manifest.variants]
    assert table["data"][2][7] == round(manifest.variant("onnx-fp32").metrics.map50, 4)
    assert json.loads(scatter["plot"])["data"]
    curve = json.loads(objects["plot"])["data"][0]  # the deck's scale curve, as measured
    assert plotly_values(curve["y"]) == pytest.approx([p.map50_95 for p in manifest.objects.curve])


@pytest.mark.parametrize("kind", ["empty bytes", "random bytes", "truncated jpeg", "svg", "pdf", "decompression bomb",
                                  "too many pixels", "text file"])
def test_bad_uploads_get_a_clear_message_and_the_app_keeps_serving(client, shelf, tmp_path, kind):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    make, message = BAD_IMAGES[kind]
    data = make(tmp_path)
    path = data if isinstance(data, Path) else tmp_path / "upload.jpg"
    if not isinstance(data, Path):
        path.write_bytes(data)
    with pytest.raises(AppError) as err:
        client.predict(handle_file(str(path)), "acme/tiny", "main", "onnxruntime", "fp32", 0.25, 0.7, 256, [],
                       api_name="/detect")
    assert any(word in str(err.value) for word in ("image", "empty", "large", "pixels", "SVG", "PDF")), str(err.value)
    ok = client.predict(handle_file(shelf), "acme/tiny", "main", "onnxruntime", "fp32", 0.25, 0.7, 256, [],
                        api_name="/detect")
    assert len(ok[1]["data"]) > 0


def test_unknown_repo_and_variant_are_clear_errors(client, shelf):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="not found"):
        client.predict("acme/missing", "main", api_name="/deck")
    with pytest.raises(AppError, match="no openvino/fp16 variant"):
        client.predict(handle_file(shelf), "acme/tiny", "main", "openvino", "fp16", 0.25, 0.7, 256, [],
                       api_name="/detect")


def test_the_queue_is_not_polled_every_millisecond():
    """quiet_queue reaches Gradio's queue (a renamed attribute in a new Gradio would leave the 1 ms poll)."""
    import gradio as gr

    from apps.gradio_app.gradio_patches import QUEUE_POLL_S, quiet_queue

    with gr.Blocks() as demo:
        gr.Markdown("queue")
    demo.queue()
    assert demo._queue.sleep_when_free < QUEUE_POLL_S  # Gradio's own default, on Linux
    quiet_queue(demo)
    assert demo._queue.sleep_when_free == demo._queue.progress_update_sleep_when_free == QUEUE_POLL_S
    import gradio.queueing

    from apps.gradio_app.gradio_patches import Doorbell

    assert isinstance(gradio.queueing.asyncio, Doorbell)  # what the queue loop sleeps on
    assert demo._queue.push.rings and demo._queue.process_events.rings  # what wakes it


def test_the_doorbell_cuts_the_queue_loop_s_sleep_short_and_leaves_other_sleeps_alone():
    import asyncio

    from apps.gradio_app.gradio_patches import Doorbell

    bell = Doorbell(poll_s=600.0)  # were the ring ignored, the wait below would time out

    async def scenario():
        sleeper = asyncio.ensure_future(bell.sleep(600.0, result="woken"))
        await asyncio.sleep(0)
        bell.ring()
        woken = await asyncio.wait_for(sleeper, timeout=30)
        with_other_delay = await bell.sleep(0.01, result="slept")  # not the poll: plain asyncio.sleep
        return woken, with_other_delay, bell.gather is asyncio.gather

    assert asyncio.run(scenario()) == ("woken", "slept", True)


def test_the_app_started_on_a_missing_repo_says_what_to_do(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "YOLODECK_HUB": str(tmp_path / "empty-hub")}
    run = subprocess.run([sys.executable, "-m", "apps.gradio_app", "--repo", "acme/missing"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "cannot open acme/missing" in run.stderr and "hub push DECK --repo acme/missing" in run.stderr


@pytest.mark.parametrize("backend, precision, conf, iou, imgsz, message", [
    ("onnxruntime", "fp32", 0.25, 0.7, 320, "exported at 256 px"),
    ("torch", "fp32", 0.25, 0.7, 300, "multiple of 32"),
    ("onnxruntime", "fp32", 1.5, 0.7, 256, "1.5"),
    ("onnxruntime", "fp32", 0.25, -0.2, 256, "-0.2"),
])
def test_bad_controls_are_clear_errors(client, shelf, backend, precision, conf, iou, imgsz, message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(handle_file(shelf), "acme/tiny", "main", backend, precision, conf, iou, imgsz, [],
                       api_name="/detect")


def test_many_clients_asking_for_the_same_picture_each_get_it_whole(app_url, shelf):
    """Eight clients detect on the same example at once: every annotated image comes back whole (Gradio
    rewrote a cached image in place, so one answer's download could read another's truncated file)."""
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client, handle_file

    def user(_: int) -> list[tuple[int, int]]:
        client = Client(app_url, analytics_enabled=False, verbose=False)
        sizes = []
        for _ in range(4):
            image, *_ = client.predict(handle_file(shelf), "acme/tiny", "main", "onnxruntime", "fp32", 0.25, 0.7,
                                       256, [], api_name="/detect")
            with Image.open(image) as im:
                im.load()  # a truncated JPEG raises here
                sizes.append(im.size)
        client.close()
        return sizes

    with ThreadPoolExecutor(8) as pool:
        sizes = [s for got in pool.map(user, range(8)) for s in got]
    assert sizes == [Image.open(shelf).size] * 32


def test_the_model_cache_holds_a_whole_deck(demo_hub, tmp_path, environment):
    """The Compare tab runs every variant: a second round finds each Detector loaded, none evicted."""
    from apps.gradio_app.detector_cache import DetectorCache

    environment(YOLODECK_CACHE=str(tmp_path / "cache"))
    models = DetectorCache(endpoint=str(demo_hub[0]), threads=1)
    deck = models.deck(demo_hub[1])
    assert len(deck.runnable) >= 9
    first = {v.id: models.detector(deck, v) for v in deck.runnable}
    assert all(models.detector(deck, v) is first[v.id] for v in deck.runnable)


def test_best_keeps_each_class_from_the_deck_s_threshold_not_the_slider(client, shelf, tiny_deck):
    from gradio_client import handle_file

    from hub.deck.manifest import Manifest

    cut = Manifest.read(tiny_deck).variant("onnx-fp32").metrics.thresholds.get("product", 0.25)

    def run(conf, best):
        return client.predict(handle_file(shelf), "acme/tiny", "main", "onnxruntime", "fp32", conf, 0.7, 256, [],
                              "off", best, api_name="/detect")

    high = run(0.95, False)  # the slider's number, as before
    chosen = run(0.95, True)  # the deck's own threshold: the slider's 0.95 does not apply
    scores = [row[1] for row in chosen[1]["data"]]
    assert "conf best" in chosen[6] and "conf 0.95" in high[6]
    assert scores and min(scores) >= cut - 1e-3 and len(scores) > len(high[1]["data"]), (cut, scores)


def test_the_shelf_panel_shows_the_facing_a_restocker_must_fill(client, demo_hub, demo_weights_hub, demo_weights_deck,
                                                                tmp_path):
    """The Shelf panel with the demo deck (pushed beside acme/tiny to the hub the app serves), on photos of
    synth-restock's shelf stocked and with one facing empty: the truth's number of rows, and the emptied facing
    under a place of the restock table and among the report's gaps of the second photo only (it empties beside a
    standing gap: one place of two facings), with one empty facing more."""
    from gradio_client import handle_file

    import hub
    from tests.helpers.images import box_iou, covers
    from training.data import synth_restock

    repo = demo_weights_hub[1]
    hub.push(demo_weights_deck, repo=repo, endpoint=str(demo_hub[0]))
    shelf, stocked, boxes, gap = synth_restock.scene(seed=0)
    facing, panels = boxes[gap, 1:], []
    for name, picture in (("stocked", stocked), ("empty", shelf)):
        path = tmp_path / f"{name}.png"
        Image.fromarray(np.ascontiguousarray(picture[..., ::-1])).save(path)
        out = client.predict(handle_file(str(path)), repo, "main", "onnxruntime", "fp32", 0.25, 0.7, 320, [], "off",
                             True, api_name="/detect")
        text, restock, report = client.predict(handle_file(out[4]), repo, "main", api_name="/shelf")
        panels.append((text, restock["data"], json.loads(Path(report).read_text())))
    rows = len(set(boxes[:, 4].tolist()))
    hits = []
    for emptied, (text, table, report) in enumerate(panels):
        assert text.startswith(f"**Shelf**: {rows} rows") and len(report["rows"]) == rows, text
        assert len(table) == len(report["restock"]) <= report["empty"]  # places: touching gaps joined
        assert {g[7] for g in table} <= {"empty facing", "space between products"}, table
        hits.append([g for g in table if covers(g[1:5], facing)])  # a place over it, joined or not
        assert len([g for r in report["rows"] for g in r["gaps"]
                    if box_iou(np.array([[g["x1"], g["y1"], g["x2"], g["y2"]]]), facing[None])[0, 0] >= 0.5]) == (
            emptied)  # among the gaps of the empty photo only
    assert not hits[0] and len(hits[1]) == 1, panels
    assert panels[1][2]["empty"] == panels[0][2]["empty"] + 1
