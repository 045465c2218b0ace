"""``make bench-webcam``: frames per second of the webcam path, in the browser test setup.

Starts the Gradio app on the demo model, streams a fake camera (a 30 fps Y4M of synth-shelves) from
headless Chromium on the same machine, and counts the frames the app processed over a window after a
warm-up, and the frames the browser showed (output frames painted, counted in the page), for ONNX fp32
and the fastest int8 variant; then the int8 variant once more with its output frames sent the way a plain ``gr.Image`` sends them (a cached file the browser fetches) instead of
inline, and the app with the model taken out of the path (``tests.bench.webcam_app --echo``), which
is the most this browser + Gradio + server path allows here. Before streaming, it also reads the
CPU an idle app server takes, against one with Gradio's own 1 ms queue poll. Prints what this one
run measured.

Not measured beside it: a WebRTC path. FastRTC, Gradio's WebRTC component, requires ``gradio<6.0`` in
every release on the registry (0.0.34 the newest, checked 2026-12-04); the app runs on Gradio 6.31, and
installing FastRTC would take it back to Gradio 5.50 and huggingface_hub 1.33.

    python -m tests.bench.webcam [--seconds 10] [--rounds 3] [--threads N]
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
from tqdm.auto import tqdm

import hub.base.offline

hub.base.offline.configure()


def _camera(folder: Path) -> Path:
    from tests.helpers.apps import write_y4m
    from training.data.synth_shelves import render

    frames = []
    for i in range(4):
        rgb = render(np.random.default_rng([7, i]), width=640, height=480)[0][..., ::-1]
        frames += [np.ascontiguousarray(np.roll(rgb, 3 * k, axis=1)) for k in range(30)]
    return write_y4m(folder / "cam.y4m", frames, fps=30)  # a common webcam rate


# Frames the user sees: at every paint (requestAnimationFrame), whether the output image now shows a frame it
# did not show at the last paint. A frame replaced before it was painted is not counted.
COUNT_SHOWN = """() => {
  window.__shown = 0; let last = null;
  const tick = () => {
    const img = document.querySelector('#cam-out img');
    if (img && img.src && img.src !== last && img.complete) { last = img.src; window.__shown++; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def _frame_count(page) -> tuple[float, int, int, str]:
    text = " ".join(page.locator("#fps").inner_text().split())
    return time.perf_counter(), int(re.search(r"frame (\d+)", text).group(1)), page.evaluate("window.__shown"), text


def measure(url: str, camera: Path, backend_label: str, precision: str, seconds: float) -> tuple[float, float, str]:
    """Frames per second the app processed and the browser showed, over ``seconds`` of streaming after a 3 s
    warm-up."""
    from playwright.sync_api import sync_playwright

    from tests.helpers.apps import launch_browser

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
        try:
            page.locator("#fps").filter(has_text="fps").wait_for(timeout=60_000)
        except Exception:
            from tests.helpers.apps import ARTIFACTS

            page.screenshot(path=str(ARTIFACTS / "bench-webcam-failed.png"), full_page=True)
            print(f"no frames from {url} (page: {ARTIFACTS / 'bench-webcam-failed.png'})", flush=True)
            raise
        page.evaluate(COUNT_SHOWN)
        page.wait_for_timeout(3_000)  # (not time.sleep: the page must keep being served)
        t0, n0, s0, _ = _frame_count(page)
        page.wait_for_timeout(seconds * 1000)
        t1, n1, s1, text = _frame_count(page)
        browser.close()
    return (n1 - n0) / (t1 - t0), (s1 - s0) / (t1 - t0), text


def _idle_cpu(pids: dict[str, int], seconds: float = 8, settle: float = 8) -> dict[str, float]:
    """Share of one core each process used over ``seconds``, after ``settle`` seconds (Linux /proc)."""
    def ticks(pid: int) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    time.sleep(settle)
    before, t0 = {name: ticks(pid) for name, pid in pids.items()}, time.perf_counter()
    time.sleep(seconds)
    elapsed, hz = time.perf_counter() - t0, os.sysconf("SC_CLK_TCK")
    return {name: (ticks(pid) - before[name]) / hz / elapsed for name, pid in pids.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10, help="length of one measuring window")
    parser.add_argument("--rounds", type=int, default=3, help="windows per row, the rows taking turns")
    parser.add_argument("--threads", type=int, help="model threads per call in the app (default: the app's, cores / 2)")
    args = parser.parse_args(argv)

    import hub
    from apps.gradio_app.app import WEBCAM_STREAM_EVERY, default_threads
    from hub.base import catalog
    from hub.runtime import available
    from tests.helpers.apps import ARTIFACTS, free_port, start_server, stop
    from training.demo import ensure_demo

    repo = ensure_demo()
    manifest = hub.manifest_of(repo)
    fastest_int8 = min((v for v in manifest.available if v.precision == "int8" and v.backend != "torch"
                        and available(v.backend)), key=lambda v: v.latency_ms.median)
    int8 = f"{fastest_int8.backend} int8"
    rows = [  # name, module and its extra arguments, backend, precision
        ("onnxruntime fp32", ["apps.gradio_app"], "onnxruntime", "fp32"),
        (int8, ["apps.gradio_app"], fastest_int8.backend, "int8"),
        (f"{int8}, frames as files", ["tests.bench.webcam_app", "--file-frames"], fastest_int8.backend, "int8"),
        ("no model", ["tests.bench.webcam_app", "--echo"], "onnxruntime", "fp32"),
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    threads = args.threads or default_threads()
    print(f"webcam path, {repo} at {manifest.imgsz} px, 30 fps fake camera (the app asks for 320x240), "
          f"stream_every {WEBCAM_STREAM_EVERY} s, {threads} model thread(s) per call; {args.rounds} rounds of "
          f"{args.seconds:.0f} s windows, the rows taking turns; server and browser on this machine")
    fps: dict[str, list[float]] = {name: [] for name, *_ in rows}
    shown: dict[str, list[float]] = {name: [] for name, *_ in rows}
    with tempfile.TemporaryDirectory() as tmp:
        camera = _camera(Path(tmp))
        servers = {}
        try:
            env = {**os.environ, "GRADIO_TEMP_DIR": str(Path(tmp) / "gradio")}
            for name, module, _, _ in rows:  # all up at once; only the one being measured streams
                port = free_port()
                servers[name] = port, start_server([sys.executable, "-m", *module, "--repo", repo, "--port", str(port),
                                                    "--threads", str(threads)], port, env)
            port = free_port()  # idle only: the app with Gradio's 1 ms queue poll
            busy = start_server([sys.executable, "-m", "tests.bench.webcam_app", "--busy-queue", "--repo", repo,
                                 "--port", str(port)], port, env)
            servers["busy queue"] = port, busy
            idle = _idle_cpu({"app": servers[int8][1].pid, "busy": busy.pid})
            print(f"  idle app server: {idle['app']:.1%} of a core; with Gradio's 1 ms queue poll: {idle['busy']:.1%}")
            stop(servers.pop("busy queue")[1])
            for _ in tqdm(range(args.rounds), desc="rounds", leave=False):
                for name, _, backend, precision in rows:
                    url = f"http://127.0.0.1:{servers[name][0]}/"
                    processed, seen, _ = measure(url, camera, catalog.label(backend), precision, args.seconds)
                    fps[name].append(processed)
                    shown[name].append(seen)
        finally:
            for _, proc in servers.values():
                stop(proc)
    median = {name: float(np.median(values)) for name, values in fps.items()}
    print(f"  {'':<31} {'processed':>9} {'shown':>6}   (rounds: processed / shown)")
    for name, values in fps.items():
        print(f"  {name:<31} {median[name]:5.1f} fps {np.median(shown[name]):5.1f} fps   "
              f"({' / '.join(f'{v:.1f}' for v in values)}; {' / '.join(f'{v:.1f}' for v in shown[name])})")
    for name in ("onnxruntime fp32", int8):
        print(f"  {name}: {median[name] / median['no model']:.0%} of what the path allows with no model")
    files = f"{int8}, frames as files"
    print(f"  inline frames: {int8} at {median[int8] / median[files]:.2f}x the processed fps and "
          f"{np.median(shown[int8]) / np.median(shown[files]):.2f}x the shown fps with frames as files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
