"""``make bench-static``: the static Space's speed in headless Chromium beside native ONNX Runtime, one run.

Per ONNX variant of the demo deck: the model call (``Detector.infer`` in the page, onnxruntime-web WASM) with 1
and 2 threads, the whole ``detect()`` in the page, and the same file through native ONNX Runtime with 1 and 2
threads; then the committed one-node NMS graph run by onnxruntime-web against NMS written as a JavaScript loop on the
same candidates (the page runs the graph); then the bytes a first and a second visit download; then the webcam's shown frames per second
(a fake camera), the static page against the Gradio app's webcam, each beside the machine and through a simulated
internet link (``tests.helpers.netlink``: 40 ms each way, 20 Mbit/s each direction). Medians after warm-up; the CPU is named.

    python -m tests.bench.static [--seconds 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import hub
import hub.base.offline
from hub.deck.probe import cpu
from hub.runtime import load_image
from hub.runtime import nms as nms_mod
from hub.runtime.ops import letterbox
from space.build import assemble
from space.serve_static import serve
from tests.helpers.apps import free_port, launch_browser

ROUNDS, WARMUP = 15, 3

PAGE_TIMING = """async ([id, rounds, warmup]) => {
  const det = await window.yolodeck.detectorFor(id);
  const image = window.yolodeck.image;
  const { letterbox } = await import('./js/letterbox.js');
  const blob = letterbox(image.rgb, image.width, image.height, det.imgsz).blob;
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (let i = 0; i < warmup; i++) await det.infer(blob);
  const infer = [], detect = [];
  for (let i = 0; i < rounds; i++) { const t = performance.now(); await det.infer(blob); infer.push(performance.now() - t); }
  for (let i = 0; i < rounds; i++) { const t = performance.now(); await det.detect(image); detect.push(performance.now() - t); }
  return { infer: median(infer), detect: median(detect) };
}"""

NMS_TIMING = """async ([id, rounds]) => {
  const det = await window.yolodeck.detectorFor(id);
  const image = window.yolodeck.image;
  const { letterbox } = await import('./js/letterbox.js');
  const { decodeHead } = await import('./js/decode.js');
  const { nms } = await import('./js/nms.js');
  const { values, dims } = await det.infer(letterbox(image.rgb, image.width, image.height, det.imgsz).blob);
  const c = decodeHead(values, dims, { conf: 0.01 });
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // the alternative: greedy class-aware NMS as a JavaScript loop (the kernel's rule)
  const b = c.xyxy, s = c.scores;
  const over = (i, j) => { const w = Math.max(0, Math.min(b[4*i+2], b[4*j+2]) - Math.max(b[4*i], b[4*j]));
    const h = Math.max(0, Math.min(b[4*i+3], b[4*j+3]) - Math.max(b[4*i+1], b[4*j+1])); const inter = w * h;
    const u = (b[4*i+2]-b[4*i])*(b[4*i+3]-b[4*i+1]) + (b[4*j+2]-b[4*j])*(b[4*j+3]-b[4*j+1]) - inter;
    return inter > 0 && inter / u > 0.7; };
  const loop = () => { const order = [...s.keys()].sort((x, y) => s[y] - s[x] || x - y); const kept = [];
    for (const i of order) if (!kept.some((j) => c.classIds[j] === c.classIds[i] && over(i, j))) kept.push(i);
    return kept; };
  const js = [], graph = [];
  for (let i = 0; i < 3; i++) { loop(); await nms(c.xyxy, c.scores, c.classIds, { iou: 0.7, maxDet: 1000 }); }
  for (let i = 0; i < rounds; i++) { const t = performance.now(); loop(); js.push(performance.now() - t); }
  for (let i = 0; i < rounds; i++) { const t = performance.now(); await nms(c.xyxy, c.scores, c.classIds, { iou: 0.7, maxDet: 1000 }); graph.push(performance.now() - t); }
  const same = JSON.stringify(loop().sort()) === JSON.stringify((await nms(c.xyxy, c.scores, c.classIds, { iou: 0.7, maxDet: 1000 })).sort());
  return { candidates: c.scores.length, js: median(js), graph: median(graph), same };
}"""


def native(path: Path, blob: np.ndarray, threads: int) -> float:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name, half = session.get_inputs()[0].name, "float16" in session.get_inputs()[0].type
    feed = {name: blob.astype(np.float16) if half else blob}
    for _ in range(WARMUP):
        session.run(None, feed)
    times = []
    for _ in range(ROUNDS):
        t = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def static_webcam(url: str, camera: Path, seconds: float) -> float:
    """Frames the static page showed per second with boxes over the fake camera, after a 3 s warm-up."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        return _static_webcam(p, url, camera, seconds)


def _static_webcam(p, url: str, camera: Path, seconds: float) -> float:
    browser, context = launch_browser(p, camera=camera)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=180_000)
    page.locator("#tabs button[data-tab='webcam']").click()
    page.locator("#webcam-start").click()
    shown = "Number(document.getElementById('webcam-stats').dataset.shown || 0)"
    page.wait_for_function(f"{shown} >= 1", timeout=60_000)
    page.wait_for_timeout(3_000)
    t0, s0 = time.perf_counter(), page.evaluate(shown)
    page.wait_for_timeout(seconds * 1000)
    t1, s1 = time.perf_counter(), page.evaluate(shown)
    browser.close()
    return (s1 - s0) / (t1 - t0)


def webcams(static_port: int, repo: str, seconds: float, rounds: int) -> dict[str, list[float]]:
    """Shown fps of the static page and the Gradio app (its fastest int8 variant), direct and through the link."""
    from hub.base import catalog
    from hub.runtime import available
    from tests.bench.webcam import _camera, measure
    from tests.helpers.apps import start_server, stop
    from tests.helpers.netlink import Link

    manifest = hub.manifest_of(repo)
    int8 = min((v for v in manifest.available if v.precision == "int8" and v.backend != "torch"
                and available(v.backend)), key=lambda v: v.latency_ms.median)
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        camera = _camera(Path(tmp))
        port = free_port()
        app = start_server([sys.executable, "-m", "apps.gradio_app", "--repo", repo, "--port", str(port)], port,
                           {**os.environ, "GRADIO_TEMP_DIR": str(Path(tmp) / "gradio")})
        links = {"app": Link(port).start(), "static": Link(static_port).start()}
        try:
            for _ in range(rounds):
                for name, url in ((f"Gradio app ({int8.id})", f"http://127.0.0.1:{port}/"),
                                  (f"Gradio app ({int8.id}), through the link", f"http://127.0.0.1:{links['app'].port}/")):
                    out.setdefault(name, []).append(measure(url, camera, catalog.label(int8.backend), "int8",
                                                            seconds)[1])
                for name, url in (("static page (default variant)", f"http://127.0.0.1:{static_port}/"),
                                  ("static page, through the link", f"http://127.0.0.1:{links['static'].port}/")):
                    out.setdefault(name, []).append(static_webcam(url, camera, seconds))
        finally:
            for link in links.values():
                link.stop()
            stop(app)
    return out


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="length of one webcam window")
    parser.add_argument("--rounds", type=int, default=2, help="webcam windows per row, the rows taking turns")
    args = parser.parse_args(argv)

    from training.demo import DEMO_REPO, ensure_demo

    hub.base.offline.configure()
    ensure_demo()
    deck = hub.open_deck(DEMO_REPO)
    with tempfile.TemporaryDirectory(prefix="yolodeck-bench-static-") as tmp:
        folder = assemble(Path(tmp) / "space", model=DEMO_REPO, revision=deck.commit, sdk="static", bundle=True)
        shutil.copyfile(nms_mod.GRAPH, folder / "nms.onnx")
        server = serve(folder, port=free_port())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        example = deck.extra(next(p for k, p in deck.manifest.files.items() if k.startswith("example_")))
        variants = [v for v in deck.manifest.variants if v.backend == "onnxruntime" and v.status == "ok"]
        rgb = load_image(example)
        blob = letterbox(rgb, deck.manifest.imgsz)[0].copy()
        rows, visits, nms_row = [], {}, None
        with sync_playwright() as p:
            for threads in (1, 2):
                browser, context = launch_browser(p)
                sizes: list[int] = []
                context.on("requestfinished", lambda r, sizes=sizes: sizes.append(r.sizes()["responseBodySize"]))
                page = context.new_page()
                page.goto(f"{url}?threads={threads}")
                page.wait_for_selector("body[data-ready='1']", timeout=120_000)
                page.locator("#file").set_input_files(str(example))
                page.wait_for_function("window.yolodeck.runs >= 1", timeout=120_000)
                if threads == 1:  # a first visit: the page, the runtime, the default model; then a second one
                    visits["first"] = sum(sizes)
                    sizes.clear()
                    page.reload()
                    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
                    page.wait_for_timeout(500)
                    visits["second"] = sum(sizes)
                    page.locator("#file").set_input_files(str(example))
                    page.wait_for_function("window.yolodeck.runs >= 1", timeout=120_000)
                    nms_row = page.evaluate(NMS_TIMING, [variants[0].id, 50])
                for v in variants:
                    got = page.evaluate(PAGE_TIMING, [v.id, ROUNDS, WARMUP])
                    rows.append((v.id, threads, got["infer"], got["detect"], native(deck.file(v), blob, threads)))
                browser.close()
        cams = webcams(server.server_address[1], DEMO_REPO, args.seconds, args.rounds)  # (Playwright's, one at a time)
        server.shutdown()
    print(f"yolodeck bench-static · {DEMO_REPO}@{deck.commit[:8]} · {deck.manifest.imgsz} px · cpu {cpu()}")
    print(f"{'variant':12} {'threads':>7} {'page infer ms':>14} {'page detect ms':>15} {'native ms':>10} {'page/native':>12}")
    for vid, threads, infer, detect, nat in sorted(rows):
        print(f"{vid:12} {threads:>7} {infer:14.1f} {detect:15.1f} {nat:10.1f} {infer / nat:11.2f}x")
    print(f"NMS on {nms_row['candidates']} candidates (conf 0.01): the page's (the NMS graph in onnxruntime-web) "
          f"{nms_row['graph']:.2f} ms, a JavaScript loop {nms_row['js']:.2f} ms; same boxes kept: {nms_row['same']}")
    print(f"bytes downloaded: first visit {visits['first'] / 2**20:.1f} MB (page, onnxruntime-web, the default "
          f"model), second visit {visits['second'] / 2**10:.0f} KB")
    print("webcam, shown frames per second (a 30 fps fake camera; browser and server on this machine):")
    for name, values in cams.items():
        print(f"  {name:<48} {statistics.median(values):5.1f} fps  ({' / '.join(f'{v:.1f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
