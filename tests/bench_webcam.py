"""``make bench-webcam``: frames per second of the webcam path, in the browser test setup.

Starts the Gradio app on the demo model, streams a fake camera (a Y4M of synth-shelves) from
headless Chromium, and reads the app's own fps line after a warm-up, for ONNX fp32 and the
fastest int8 variant. Prints what this one run measured.

    python -m tests.bench_webcam [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import hub.offline  # noqa: F401


def _camera(folder: Path) -> Path:
    from tests.apphelpers import write_y4m
    from training.data.synth_shelves import render

    frames = []
    for i in range(4):
        rgb = render(np.random.default_rng([7, i]), width=640, height=480)[0][..., ::-1]
        frames += [np.ascontiguousarray(np.roll(rgb, 6 * k, axis=1)) for k in range(15)]
    return write_y4m(folder / "cam.y4m", frames)


def measure(url: str, camera: Path, backend_label: str, precision: str, seconds: float) -> tuple[float, str]:
    from playwright.sync_api import sync_playwright

    from tests.apphelpers import launch_browser

    with sync_playwright() as p:
        browser, context = launch_browser(p, camera=camera)
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.locator("#info").filter(has_text="px").wait_for(timeout=60_000)
        for elem, option in (("backend", backend_label), ("precision", precision)):
            page.locator(f"#{elem} input").click()
            page.get_by_role("option", name=option, exact=True).click()
        page.get_by_role("tab", name="Webcam").click()
        page.locator("#cam [title='grant webcam access']").click()
        page.wait_for_function("() => { const v = document.querySelector('#cam video'); return v && v.readyState >= 2 }")
        page.locator("#cam button:has([title='start recording'])").click()
        page.locator("#fps").filter(has_text="fps").wait_for(timeout=60_000)
        time.sleep(seconds)
        text = page.locator("#fps").inner_text()
        browser.close()
    return float(re.search(r"([\d.]+) fps", text).group(1)), text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=1, help="model threads in the app (the browser needs a core)")
    args = parser.parse_args(argv)

    import hub
    from tests.apphelpers import ARTIFACTS, free_port, start_server, stop
    from training.demo import ensure_demo

    repo = ensure_demo()
    manifest = hub.manifest_of(repo)
    fastest_int8 = min((v for v in manifest.available if v.precision == "int8" and v.backend in ("onnxruntime", "tflite")),
                       key=lambda v: v.latency_ms.median)
    labels = {"onnxruntime": "ONNX Runtime", "tflite": "TFLite"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        camera = _camera(Path(tmp))
        port = free_port()
        env = {**os.environ, "GRADIO_TEMP_DIR": str(Path(tmp) / "gradio")}
        proc = start_server([sys.executable, "-m", "apps.gradio_app", "--repo", repo, "--port", str(port), "--threads",
                             str(args.threads)], port, env)
        try:
            print(f"webcam path, {repo} at {manifest.imgsz} px, 640x480 fake camera, stream_every 0.05 s, "
                  f"{args.threads} model thread(s), {args.seconds:.0f} s per variant (server and browser on this machine)")
            for backend, precision in (("onnxruntime", "fp32"), (fastest_int8.backend, "int8")):
                fps, line = measure(f"http://127.0.0.1:{port}/", camera, labels[backend], precision, args.seconds)
                detail = " ".join(line.split())
                print(f"  {backend:<12} {precision}: {fps:5.1f} fps   ({detail})", flush=True)
        finally:
            stop(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
