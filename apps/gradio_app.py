"""The Gradio app: detect on uploads and a live browser webcam, compare variants, read the metrics.

API (``gradio_client``), each an ``api_name``:

- ``/deck``: (repo, revision) -> pickers for that repo (revisions, backends, precisions, sizes, classes).
- ``/precisions``: (repo, revision, backend) -> the precisions that backend has.
- ``/detect``: (image, repo, revision, backend, precision, conf, iou, imgsz, classes)
  -> annotated image, detections table, counts, latency per stage, JSON file, CSV file.
- ``/compare``: (image, repo, revision, conf, iou) -> one annotated image per variant, and a table.
- ``/frame``: (frame, repo, revision, backend, precision, conf, iou) -> annotated frame, status line: what
  the webcam stream runs on every frame (the stream itself is browser-only: gradio_client cannot send one).
- ``/metrics``: (repo, revision) -> variant table and charts from the repo's manifest.

    python -m apps.gradio_app [--repo OWNER/NAME] [--endpoint URL] [--port 7860]
"""

from __future__ import annotations

import argparse
import base64
import faulthandler
import os
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import cv2  # noqa: E402
import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from gradio.data_classes import ImageData  # noqa: E402

import hub.offline  # noqa: F401  (first)
from apps.charts import metric_charts  # noqa: E402
from apps.models import BACKEND_LABELS, PRECISIONS, Deck, Models  # noqa: E402
from hub.errors import YolodeckError  # noqa: E402
from hub.runtime import BoxAnnotator, Detections, LabelAnnotator, load_image  # noqa: E402

DEFAULT_REPO = "yolodeck/shelves-demo"
MAX_UPLOAD = "20mb"
CONCURRENCY = 2  # events the queue runs at once; each model call gets cores / CONCURRENCY threads
WEBCAM_STREAM_EVERY = 0.04  # seconds between frames the browser posts (whether or not the last is done; the newest wins)
JPEG_QUALITY = 80  # webcam frames back to the browser (Gradio's own JPEGs are Pillow's 75)
QUEUE_POLL_S = 0.05  # Gradio's own value on Windows; see quiet_queue
WEBCAM_TIME_LIMIT = 120  # seconds of processing per user and stream (Gradio counts processing time)
TABLE_HEADERS = ["class", "score", "x1", "y1", "x2", "y2"]
STAGES = ["decode", "preprocess", "inference", "postprocess", "total"]
BOXES, LABELS = BoxAnnotator(), LabelAnnotator()


def SafeImage(**kwargs) -> gr.Image:  # noqa: N802 - reads like the component it makes
    """An Image input that hands files Gradio cannot open to our loader, which says what is wrong.

    (A subclass of gr.Image would be treated as a custom component with its own frontend.)
    """
    image = gr.Image(**kwargs)
    gradio_preprocess = image.preprocess

    def preprocess(payload):
        try:
            return gradio_preprocess(payload)
        except Exception:  # noqa: BLE001 - hub.runtime.load_image reports the problem precisely
            return getattr(payload, "path", None) or "unreadable upload"

    image.preprocess = preprocess
    return image


def InlineImage(**kwargs) -> gr.Image:  # noqa: N802 - reads like the component it makes
    """An output Image that sends each frame inside the event's message, as a JPEG data URL.

    gr.Image writes every output to Gradio's cache and the browser then fetches it: per webcam frame,
    a file, a hash and a second request. Inline, there is no file to pile up and one request fewer.
    """
    image = gr.Image(**kwargs)

    def postprocess(value: np.ndarray | None) -> ImageData | None:  # an RGB frame from the handler
        if value is None:
            return None
        _, jpeg = cv2.imencode(".jpg", cv2.cvtColor(value, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        return ImageData(url="data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode(), orig_name="frame.jpg")

    image.postprocess = postprocess
    return image


class FrameClock:
    """Frames processed in one webcam stream, and the rate over the last 30."""

    def __init__(self) -> None:
        self.frames = 0
        self._times: deque[float] = deque(maxlen=30)
        self._shown = 0.0

    def tick(self) -> float:
        now = time.perf_counter()
        if self._times and now - self._times[-1] > 2.0:  # a new stream in the same session
            self._times.clear()
        self.frames += 1
        self._times.append(now)
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def due(self, every: float = 0.5) -> bool:
        """Whether the status line is due again (at most once per ``every`` seconds)."""
        if self._times[-1] - self._shown < every:
            return False
        self._shown = self._times[-1]
        return True


def _fail(exc: Exception) -> gr.Error:
    return gr.Error(str(exc), print_exception=False)


class App:
    """Event handlers; pure functions of their inputs plus the shared model cache."""

    def __init__(self, models: Models, *, downloads: Path | None = None) -> None:
        self.models = models
        self.downloads = downloads or Path(tempfile.mkdtemp(prefix="yolodeck-downloads-"))

    # --- pickers -------------------------------------------------------------------------------

    def _deck(self, repo: str, revision: str) -> Deck:
        try:
            return self.models.deck((repo or DEFAULT_REPO).strip(), (revision or "main").strip())
        except (YolodeckError, OSError) as exc:
            raise _fail(exc) from exc

    def pickers(self, repo: str, revision: str):
        deck = self._deck(repo, revision)
        best = deck.default_variant()
        backends = [(BACKEND_LABELS.get(b, b), b) for b in deck.backends()]
        return (
            gr.update(choices=self.models.revisions(deck.repo), value=deck.revision),
            gr.update(choices=backends, value=best.backend),
            gr.update(choices=deck.precisions(best.backend), value=best.precision),
            gr.update(choices=self._sizes(deck, best.backend), value=deck.manifest.imgsz),
            gr.update(choices=deck.manifest.classes, value=[]),
            f"**{deck.manifest.model}** · {deck.repo}@{deck.revision} ({deck.commit[:8]}) · "
            f"{len(deck.manifest.classes)} classes · {deck.manifest.imgsz} px · "
            f"default {best.id} (fastest within 0.01 mAP50 of fp32)",
        )

    @staticmethod
    def _sizes(deck: Deck, backend: str) -> list[int]:
        size = deck.manifest.imgsz
        return sorted({size, 320, 416, 512, 640}) if backend == "torch" else [size]

    def precisions(self, repo: str, revision: str, backend: str):
        deck = self._deck(repo, revision)
        choices = deck.precisions(backend)
        return (gr.update(choices=choices, value=choices[0] if choices else None),
                gr.update(choices=self._sizes(deck, backend), value=deck.manifest.imgsz))

    # --- detection -----------------------------------------------------------------------------

    def _run(self, deck: Deck, backend: str, precision: str, image: Any, **kw) -> tuple[np.ndarray, Detections]:
        try:
            variant = deck.manifest.find(backend=backend, precision=precision)
            detector = self.models.detector(deck, variant)
            rgb = load_image(image)
            return rgb, detector.detect(rgb, **kw)
        except (YolodeckError, ValueError) as exc:
            raise _fail(exc) from exc

    @staticmethod
    def _annotate(rgb: np.ndarray, detections: Detections) -> np.ndarray:
        return LABELS.annotate(BOXES.annotate(rgb, detections), detections)

    def detect(self, image, repo, revision, backend, precision, conf, iou, imgsz, classes):
        if image is None:
            raise gr.Error("upload an image first (or pick an example)", print_exception=False)
        deck = self._deck(repo, revision)
        class_ids = [deck.manifest.classes.index(c) for c in classes or [] if c in deck.manifest.classes] or None
        rgb, det = self._run(deck, backend, precision, image, conf=float(conf), iou=float(iou), classes=class_ids,
                             imgsz=int(imgsz) if imgsz else None)
        rows = [[r["class_name"], r["score"], r["x1"], r["y1"], r["x2"], r["y2"]] for r in det.to_rows()]
        counts = [[name, n] for name, n in det.counts().items()] + [["total", len(det)]]
        latency = [[stage, round(det.timing_ms.get(stage, 0.0), 2)] for stage in STAGES]
        stem = f"detections-{time.strftime('%Y%m%d-%H%M%S')}-{time.perf_counter_ns() % 10**6}"
        json_path, csv_path = self.downloads / f"{stem}.json", self.downloads / f"{stem}.csv"
        json_path.write_text(det.to_json())
        csv_path.write_text(det.to_csv())
        return self._annotate(rgb, det), rows, counts, latency, str(json_path), str(csv_path)

    def detect_if_image(self, image, *args):
        """Re-run detection when a picker moves, if there is an image."""
        if image is None:
            return (gr.skip(),) * 6
        return self.detect(image, *args)

    def compare(self, image, repo, revision, conf, iou):
        if image is None:
            raise gr.Error("upload an image first (or pick an example)", print_exception=False)
        deck = self._deck(repo, revision)
        try:
            rgb = load_image(image)
        except YolodeckError as exc:
            raise _fail(exc) from exc
        gallery, table = [], []
        for v in deck.runnable:
            self._run(deck, v.backend, v.precision, rgb, conf=float(conf), iou=float(iou))  # load and warm up
            det = self.models.detector(deck, v).detect(rgb, conf=float(conf), iou=float(iou))  # then time it
            caption = f"{v.id}: {len(det)} objects, {det.timing_ms['total']:.1f} ms"
            gallery.append((self._annotate(rgb, det), caption))
            m = v.metrics
            table.append([v.id, len(det), round(det.timing_ms["inference"], 2), round(det.timing_ms["total"], 2),
                          round(v.bytes / 1e6, 2), m and round(m.map50, 4), m and round(m.map50_95, 4)])
        return gallery, table

    def webcam(self, frame, repo, revision, backend, precision, conf, iou, state=None):
        if frame is None:
            return None, "waiting for the camera...", state
        deck = self._deck(repo, revision)
        rgb, det = self._run(deck, backend, precision, frame, conf=float(conf), iou=float(iou))
        clock = state if isinstance(state, FrameClock) else FrameClock()
        fps = clock.tick()
        annotated = self._annotate(rgb, det)
        if clock is state and not clock.due():  # the status line twice a second: every update costs the browser
            return annotated, gr.skip(), gr.skip()
        counts = ", ".join(f"{n} {name}" for name, n in det.counts().items())
        line = (f"**{fps:.1f} fps** · frame {clock.frames} · {det.timing_ms['total']:.1f} ms per frame "
                f"({backend} {precision}) · {counts}")
        return annotated, line, clock

    def frame(self, frame, repo, revision, backend, precision, conf, iou):
        """One webcam frame, for API users (the stream keeps an fps state per browser session)."""
        annotated, line, _ = self.webcam(frame, repo, revision, backend, precision, conf, iou)
        return annotated, line

    # --- metrics -------------------------------------------------------------------------------

    def metrics(self, repo, revision):
        deck = self._deck(repo, revision)
        rows = deck.manifest.rows()
        table = [[r["variant"], r["backend"], r["precision"], r["size_mb"], r["precision_"], r["recall"], r["f1"],
                  r["map50"], r["map50_95"], r["latency_ms"], r["d_map50"], r["speedup"]] for r in rows]
        scatter, sizes, latency = metric_charts(deck.manifest)
        return table, scatter, sizes, latency


def quiet_queue(demo: gr.Blocks, *, poll_s: float = QUEUE_POLL_S) -> None:
    """Poll Gradio's empty queue every ``poll_s`` instead of every millisecond.

    Gradio 6.31's queue loop sleeps 1 ms between looks at an empty queue (50 ms on Windows), and its
    progress loop 10 ms: about 9% of a core here, idle or streaming, taken from the model and from a
    browser on the same 2 cores; at 50 ms, under 1%. A queued event now waits at most ``poll_s`` to
    start (webcam frames do not pass through that loop), and progress would be sent every ``poll_s``
    (the app reports none). There is no public setting, so this sets the queue's attributes (gradio
    is pinned).
    """
    queue = getattr(demo, "_queue", None)
    for attribute in ("sleep_when_free", "progress_update_sleep_when_free"):
        if hasattr(queue, attribute):
            setattr(queue, attribute, poll_s)


def default_threads() -> int:
    """Model threads per call: the cores shared by the queue's concurrent events (1 on 2 cores, which
    also leaves a core to a browser on the same machine)."""
    return max(1, (os.cpu_count() or 2) // CONCURRENCY)


def build_app(*, repo: str = DEFAULT_REPO, revision: str = "main", endpoint: str | None = None,
              threads: int | None = None) -> gr.Blocks:
    """The whole app for ``repo`` at ``revision`` on the embedded hub (or ``endpoint``)."""
    models = Models(endpoint=endpoint, threads=threads or default_threads())
    app = App(models)
    deck = models.deck(repo, revision)
    best = deck.default_variant()
    examples = [str(p) for p in models.examples(deck)]

    with gr.Blocks(title="yolodeck", delete_cache=(60, 600)) as demo:
        gr.Markdown("# yolodeck\nDetect objects with every variant of a YOLO deck: pick a backend and precision, "
                    "upload a photo or turn on your webcam, and see what quantization costs and buys.")
        with gr.Row():
            repo_box = gr.Textbox(value=repo, label="Model repo", elem_id="repo", scale=2)
            revision_box = gr.Dropdown(choices=models.revisions(repo), value=revision, label="Revision",
                                       elem_id="revision", allow_custom_value=True)
            # the UI narrows these to the repo's variants; detect() itself says when a pair does not exist
            backend = gr.Dropdown(choices=[(label, b) for b, label in BACKEND_LABELS.items()],
                                  value=best.backend, label="Backend", elem_id="backend", allow_custom_value=True)
            precision = gr.Dropdown(choices=list(PRECISIONS), value=best.precision, label="Precision",
                                    elem_id="precision", allow_custom_value=True)
            load_btn = gr.Button("Load repo", elem_id="load", scale=0)
        info = gr.Markdown(elem_id="info")
        with gr.Row():
            conf = gr.Slider(0.01, 1.0, value=0.25, step=0.01, label="Confidence", elem_id="conf")
            iou = gr.Slider(0.1, 1.0, value=0.7, step=0.05, label="IoU (NMS)", elem_id="iou")
            imgsz = gr.Dropdown(choices=App._sizes(deck, "torch"), value=deck.manifest.imgsz, allow_custom_value=True,
                                label="Image size", elem_id="imgsz", info="exported variants run at their own size")
            classes = gr.CheckboxGroup(choices=deck.manifest.classes, value=[], label="Only these classes",
                                       elem_id="classes")

        with gr.Tab("Detect", elem_id="tab-detect"):
            with gr.Row():
                with gr.Column():
                    image = SafeImage(type="filepath", label="Image", elem_id="image", sources=["upload", "clipboard"])
                    run = gr.Button("Detect", variant="primary", elem_id="run")
                    if examples:
                        gr.Examples(examples, inputs=image, label="Examples (synth-shelves test split)")
                with gr.Column():
                    annotated = gr.Image(label="Detections", elem_id="annotated", format="jpeg", interactive=False)
                    with gr.Row():
                        counts = gr.Dataframe(headers=["class", "count"], label="Counts", elem_id="counts",
                                              interactive=False)
                        latency = gr.Dataframe(headers=["stage", "ms"], label="Latency", elem_id="latency",
                                               interactive=False)
            table = gr.Dataframe(headers=TABLE_HEADERS, label="Detections", elem_id="table", interactive=False)
            with gr.Row():
                json_file = gr.File(label="JSON", elem_id="json")
                csv_file = gr.File(label="CSV", elem_id="csv")

        with gr.Tab("Compare variants", elem_id="tab-compare"):
            cmp_image = SafeImage(type="filepath", label="Image", elem_id="cmp-image", sources=["upload", "clipboard"])
            cmp_run = gr.Button("Run every variant", variant="primary", elem_id="cmp-run")
            if examples:
                gr.Examples(examples, inputs=cmp_image)
            cmp_gallery = gr.Gallery(label="One image per variant", columns=4, elem_id="cmp-gallery", format="jpeg")
            cmp_table = gr.Dataframe(headers=["variant", "objects", "inference ms", "total ms", "size MB", "mAP50",
                                              "mAP50-95"], label="Side by side", elem_id="cmp-table",
                                     interactive=False)

        with gr.Tab("Webcam", elem_id="tab-webcam"):
            gr.Markdown(f"Your browser's camera (not the server's), streamed frame by frame; at most "
                        f"{WEBCAM_TIME_LIMIT} s of processing per stream.")
            with gr.Row():
                # frames at about the model's input size: the browser draws and JPEG-encodes every frame
                # it streams, and a model at 320 px gains nothing from 640 x 480
                width = max(320, min(640, deck.manifest.imgsz))
                constraints = {"video": {"width": {"ideal": width}, "height": {"ideal": width * 3 // 4}}}
                cam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Camera", elem_id="cam",
                               webcam_options=gr.WebcamOptions(mirror=False, constraints=constraints))
                cam_out = InlineImage(label="Detections", elem_id="cam-out", format="jpeg", interactive=False)
            fps = gr.Markdown(elem_id="fps")
            fps_state = gr.State()
            frame_in = SafeImage(type="filepath", visible=False)  # one frame through the API: /frame
            frame_out = gr.Image(format="jpeg", visible=False)  # a file for API users, not a data URL
            frame_btn = gr.Button(visible=False)

        with gr.Tab("Metrics", elem_id="tab-metrics"):
            metrics_table = gr.Dataframe(headers=["variant", "backend", "precision", "MB", "P", "R", "F1", "mAP50",
                                                  "mAP50-95", "ms", "d mAP50", "x fp32"], elem_id="metrics-table",
                                         interactive=False)
            with gr.Row():
                scatter = gr.Plot(elem_id="chart-tradeoff")
                sizes = gr.Plot(elem_id="chart-size")
                lat_chart = gr.Plot(elem_id="chart-latency")

        picker_outputs = [revision_box, backend, precision, imgsz, classes, info]
        load_btn.click(app.pickers, [repo_box, revision_box], picker_outputs, api_name="deck").then(
            app.metrics, [repo_box, revision_box], [metrics_table, scatter, sizes, lat_chart], api_name=False)
        revision_box.input(app.pickers, [repo_box, revision_box], picker_outputs, api_name=False).then(
            app.metrics, [repo_box, revision_box], [metrics_table, scatter, sizes, lat_chart], api_name=False)
        backend.input(app.precisions, [repo_box, revision_box, backend], [precision, imgsz], api_name="precisions")
        detect_inputs = [image, repo_box, revision_box, backend, precision, conf, iou, imgsz, classes]
        detect_outputs = [annotated, table, counts, latency, json_file, csv_file]
        run.click(app.detect, detect_inputs, detect_outputs, api_name="detect")
        image.upload(app.detect, detect_inputs, detect_outputs, api_name=False)
        for control in (backend, precision, conf, iou, imgsz, classes):  # a person moved it: detect again
            control.input(app.detect_if_image, detect_inputs, detect_outputs, api_name=False,
                          trigger_mode="always_last")
        cmp_run.click(app.compare, [cmp_image, repo_box, revision_box, conf, iou], [cmp_gallery, cmp_table],
                      api_name="compare")
        cam.stream(app.webcam, [cam, repo_box, revision_box, backend, precision, conf, iou, fps_state],
                   [cam_out, fps, fps_state], stream_every=WEBCAM_STREAM_EVERY, time_limit=WEBCAM_TIME_LIMIT,
                   concurrency_limit=4, show_progress="hidden", api_name=False)
        frame_btn.click(app.frame, [frame_in, repo_box, revision_box, backend, precision, conf, iou], [frame_out, fps],
                        api_name="frame")
        demo.load(app.pickers, [repo_box, revision_box], picker_outputs, api_name=False).then(
            app.metrics, [repo_box, revision_box], [metrics_table, scatter, sizes, lat_chart], api_name="metrics")
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=64)
    quiet_queue(demo)
    return demo


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, **kw) -> None:
    demo.launch(server_name=host, server_port=port, share=False, ssr_mode=False, max_file_size=MAX_UPLOAD,
                show_error=True, **kw)


def main(argv: list[str] | None = None) -> int:
    faulthandler.enable()  # a crash in native code (a runtime) leaves a trace in the log
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", default=DEFAULT_REPO)
    parser.add_argument("--endpoint", help="hub endpoint (default: the embedded hub)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--threads", type=int, help="threads per model call (default: cores / 2)")
    args = parser.parse_args(argv)
    demo = build_app(repo=args.repo, endpoint=args.endpoint, threads=args.threads)
    print(f"yolodeck app: http://{args.host}:{args.port}  (model {args.repo})", flush=True)
    launch(demo, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

