"""The Gradio app: detect on uploads and a live browser webcam, compare variants, read the metrics.

API (``gradio_client``), each an ``api_name``:

- ``/deck``: (repo, revision) -> pickers for that repo (revisions, backends, precisions, sizes, classes, best).
- ``/precisions``: (repo, revision, backend) -> the precisions that backend has.
- ``/detect``: (image, repo, revision, backend, precision, conf, iou, imgsz, classes, tiles="off", best=False)
  -> annotated image, detections table, counts, latency per stage, JSON file, CSV file, and a line naming
  the variant and commit that ran, with the controls it ran with. ``best``: each class from the deck's own
  threshold (where its F1 peaked) instead of ``conf``; the page ticks it when the deck has thresholds, and
  moving the Confidence slider unticks it; an API call keeps its ``conf`` unless it passes ``best=True``.
- ``/shelf``: (the JSON file /detect wrote, repo, revision) -> the Shelf panel: a summary (rows, facings, empty
  facings, the share empty), the restock list widest gap first, and the report as JSON (decks with ``empty``).
- ``/compare``: (image, repo, revision, conf, iou) -> one annotated image per variant, and a table.
- ``/frame``: (frame, repo, revision, backend, precision, conf, iou) -> annotated frame, status line: what
  the webcam stream runs on every frame (the stream itself is browser-only: gradio_client cannot send one).
- ``/video``: (video, repo, revision, backend, precision, conf, iou, line "x1,y1,x2,y2", every) -> annotated
  clip, counts-over-time chart, per-frame CSV, summary (the Video tab, when PyAV and trackers are installed).
- ``/metrics``: (repo, revision) -> variant table and charts from the repo's manifest.
- ``/across``: (repo, revision, "other/repo, ...") -> one table across the decks (with parameters and GFLOPs),
  the tradeoff with one Pareto front over all of them, and the models' costs.

    python -m apps.gradio_app [--repo OWNER/NAME] [--endpoint URL] [--port 7860]
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
from dataclasses import dataclass

import gradio as gr

import hub.base.offline
from apps.gradio_app.detector_cache import DetectorCache
from apps.gradio_app.gradio_patches import (
    CachedGallery,
    CachedImage,
    InlineImage,
    SafeImage,
    quiet_queue,
)
from apps.gradio_app.handlers import DEFAULT_REPO, METRIC_COLUMNS, TABLE_HEADERS, TILES, Handlers
from apps.gradio_app.video_tab import video_tab
from hub.api import RepoDeck
from hub.base import catalog, settings
from hub.base.errors import YolodeckError
from hub.deck import card

__all__ = ["build_app", "default_threads", "launch", "main"]

MAX_UPLOAD = "20mb"
CONCURRENCY = 2  # events the queue runs at once; each model call gets cores / CONCURRENCY threads
WEBCAM_STREAM_EVERY = 0.04  # seconds between frames the browser posts (whether or not the last is done; the newest wins)
# seconds per webcam stream, enforced by the handler (Gradio's own time_limit ends the event, but its
# frontend opens a new one and goes on streaming)
WEBCAM_TIME_LIMIT = settings.current().webcam_time_limit


def video_ready() -> bool:
    """The Video tab needs PyAV and the tracker (the full install has them; a lean Space may not)."""
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("av", "trackers", "supervision"))


def default_threads() -> int:
    """Model threads per call: the cores shared by the queue's concurrent events (1 on 2 cores, which
    also leaves a core to a browser on the same machine)."""
    return max(1, (os.cpu_count() or 2) // CONCURRENCY)


@dataclass
class Controls:
    """The pickers above the tabs, which every tab reads."""

    repo: gr.Textbox
    revision: gr.Dropdown
    backend: gr.Dropdown
    precision: gr.Dropdown
    load: gr.Button
    info: gr.Markdown
    conf: gr.Slider
    best: gr.Checkbox
    iou: gr.Slider
    imgsz: gr.Dropdown
    classes: gr.CheckboxGroup
    tiles: gr.Dropdown

    @property
    def deck(self) -> list:
        return [self.repo, self.revision]


def _controls(models: DetectorCache, deck: RepoDeck) -> Controls:
    best = deck.default_variant(threads=models.threads)
    with gr.Row():
        repo = gr.Textbox(value=deck.repo, label="Model repo", elem_id="repo", scale=2)
        revision = gr.Dropdown(choices=models.revisions(deck.repo), value=deck.revision, label="Revision",
                               elem_id="revision", allow_custom_value=True)
        # the UI narrows these to the repo's variants; detect() itself says when a pair does not exist
        backend = gr.Dropdown(choices=[(b.label, b.name) for b in catalog.BACKENDS.values()], value=best.backend,
                              label="Backend", elem_id="backend", allow_custom_value=True)
        precision = gr.Dropdown(choices=list(catalog.PRECISIONS), value=best.precision, label="Precision",
                                elem_id="precision", allow_custom_value=True)
        load = gr.Button("Load repo", elem_id="load", scale=0)
    info = gr.Markdown(label="Deck", elem_id="info")
    with gr.Row():
        with gr.Column(min_width=160):
            conf = gr.Slider(0.01, 1.0, value=0.25, step=0.01, label="Confidence", elem_id="conf")
            # False here (the API's default); the page load ticks it when the deck has thresholds (Handlers.pickers)
            best = gr.Checkbox(value=False, label="Each class at the deck's own threshold", elem_id="best",
                               info="where its F1 peaked on the test split; moving Confidence unticks it")
        iou = gr.Slider(0.1, 1.0, value=0.7, step=0.05, label="IoU (NMS)", elem_id="iou")
        imgsz = gr.Dropdown(choices=Handlers._sizes(deck, "torch"), value=deck.manifest.imgsz, allow_custom_value=True,
                            label="Image size", elem_id="imgsz", info="exported variants run at their own size")
        classes = gr.CheckboxGroup(choices=deck.manifest.classes, value=[], label="Only these classes",
                                   elem_id="classes")
        tiles = gr.Dropdown(choices=list(TILES), value="off", label="Tiles", elem_id="tiles",
                            info="large photos: run overlapping tiles at the network's size")
    return Controls(repo, revision, backend, precision, load, info, conf, best, iou, imgsz, classes, tiles)


def _detect_tab(app: Handlers, c: Controls, examples: list[str]) -> None:
    with gr.Row():
        with gr.Column():
            image = SafeImage(type="filepath", label="Image", elem_id="image", sources=["upload", "clipboard"])
            run = gr.Button("Detect", variant="primary", elem_id="run")
            if examples:
                gr.Examples(examples, inputs=image, label="Examples (synth-shelves test split)")
        with gr.Column():
            annotated = CachedImage(label="Detections", elem_id="annotated", format="jpeg", interactive=False)
            with gr.Row():
                counts = gr.Dataframe(headers=["class", "count"], label="Counts", elem_id="counts", interactive=False)
                latency = gr.Dataframe(headers=["stage", "ms"], label="Latency", elem_id="latency", interactive=False)
    table = gr.Dataframe(headers=TABLE_HEADERS, label="Boxes", elem_id="table", interactive=False)
    with gr.Row():
        json_file = gr.File(label="JSON", elem_id="json")
        csv_file = gr.File(label="CSV", elem_id="csv")
    ran = gr.Markdown(label="Ran", elem_id="ran")  # which variant at which commit made this result
    with gr.Accordion("Shelf: empty facings", open=True, elem_id="shelf-panel"):
        shelf = gr.Markdown(label="Shelf summary", elem_id="shelf")
        with gr.Row():
            restock = gr.Dataframe(headers=["row", "x1", "y1", "x2", "y2", "facings", "score", "seen as"],
                                   elem_id="restock", label="Restock, widest gap first", interactive=False)
            shelf_file = gr.File(label="Shelf report (JSON)", elem_id="shelf-json")
    inputs = [image, *c.deck, c.backend, c.precision, c.conf, c.iou, c.imgsz, c.classes, c.tiles, c.best]
    outputs = [annotated, table, counts, latency, json_file, csv_file, ran]
    shelf_in, shelf_out = [json_file, *c.deck], [shelf, restock, shelf_file]
    run.click(app.detect, inputs, outputs, api_name="detect").then(app.shelf, shelf_in, shelf_out, api_name="shelf")
    image.upload(app.detect, inputs, outputs, api_name=False).then(app.shelf, shelf_in, shelf_out, api_name=False)
    for control in (c.backend, c.precision, c.best, c.iou, c.imgsz, c.classes, c.tiles):  # moved: detect again
        control.input(app.detect_if_image, inputs, outputs, api_name=False, trigger_mode="always_last").then(
            app.shelf, shelf_in, shelf_out, api_name=False)
    # a number chosen on the slider is what the person wants: the deck's thresholds make way for it
    c.conf.input(lambda: False, None, c.best, api_name=False, queue=False, trigger_mode="always_last").then(
        app.detect_if_image, inputs, outputs, api_name=False).then(app.shelf, shelf_in, shelf_out, api_name=False)


def _compare_tab(app: Handlers, c: Controls, examples: list[str]) -> None:
    image = SafeImage(type="filepath", label="Image", elem_id="cmp-image", sources=["upload", "clipboard"])
    run = gr.Button("Run every variant", variant="primary", elem_id="cmp-run")
    if examples:
        gr.Examples(examples, inputs=image)
    gallery = CachedGallery(label="One image per variant", columns=4, elem_id="cmp-gallery", format="jpeg")
    table = gr.Dataframe(headers=["variant", "objects", "inference ms", "total ms", "size MB", "mAP50", "mAP50-95"],
                         label="Side by side", elem_id="cmp-table", interactive=False)
    run.click(app.compare, [image, *c.deck, c.conf, c.iou], [gallery, table], api_name="compare")


def _webcam_tab(app: Handlers, c: Controls, imgsz: int) -> None:
    gr.Markdown(f"Your browser's camera (not the server's), streamed frame by frame; at most "
                f"{WEBCAM_TIME_LIMIT:g} s per stream.")
    with gr.Row():
        # frames at about the model's input size: the browser draws and JPEG-encodes every frame
        # it streams, and a model at 320 px gains nothing from 640 x 480
        width = max(320, min(640, imgsz))
        constraints = {"video": {"width": {"ideal": width}, "height": {"ideal": width * 3 // 4}}}
        cam = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Camera", elem_id="cam",
                       webcam_options=gr.WebcamOptions(mirror=False, constraints=constraints))
        cam_out = InlineImage(label="Detections", elem_id="cam-out", format="jpeg", interactive=False)
    with gr.Row():
        fps = gr.Markdown(label="Stream", elem_id="fps")
        track = gr.Checkbox(value=False, label="Track and count (a line through the middle)", elem_id="cam-track",
                            visible=video_ready())
    fps_state = gr.State()
    frame_in = SafeImage(type="filepath", label="Camera frame", visible=False)  # one frame through the API: /frame
    frame_out = CachedImage(label="Frame", format="jpeg", visible=False)  # a file for API users, not a data URL
    frame_btn = gr.Button(visible=False)
    controls = [*c.deck, c.backend, c.precision, c.conf, c.iou]
    cam.stream(app.webcam, [cam, *controls, track, fps_state], [cam_out, fps, fps_state],
               stream_every=WEBCAM_STREAM_EVERY,
               time_limit=WEBCAM_TIME_LIMIT, concurrency_limit=4, show_progress="hidden", api_name=False)
    frame_btn.click(app.frame, [frame_in, *controls], [frame_out, fps], api_name="frame")


def _metrics_tab(app: Handlers, c: Controls) -> list:
    table = gr.Dataframe(headers=METRIC_COLUMNS, label="Variants", elem_id="metrics-table", interactive=False)
    with gr.Row():
        charts = [gr.Plot(label="Latency vs mAP50-95", elem_id="chart-tradeoff"),
                  gr.Plot(label="File size", elem_id="chart-size"), gr.Plot(label="Latency", elem_id="chart-latency")]
    objects = gr.Plot(label="Accuracy by object size (what tiles 'auto' aims for)", elem_id="chart-object-size")
    gr.Markdown("### Across models\nSeveral decks side by side (a sweep's points, or any repos): one table, one "
                "Pareto front over all of them, and what each model costs.")
    with gr.Row():
        others = gr.Textbox(label="Compare with repos (comma-separated, their main)", elem_id="across-repos", scale=4)
        compare = gr.Button("Compare", elem_id="across-run", scale=0)
    across = gr.Dataframe(headers=card.ACROSS_COLUMNS, label="Across repos", elem_id="across-table", interactive=False)
    with gr.Row():
        across_charts = [gr.Plot(label="Latency vs mAP50-95, all models", elem_id="across-tradeoff"),
                         gr.Plot(label="GFLOPs and parameters", elem_id="across-costs")]
    compare.click(app.across, [*c.deck, others], [across, *across_charts], api_name="across")
    return [table, *charts, objects]


def build_app(*, repo: str = DEFAULT_REPO, revision: str = "main", endpoint: str | None = None,
              threads: int | None = None) -> gr.Blocks:
    """The whole app for ``repo`` at ``revision`` on the embedded hub (or ``endpoint``)."""
    hub.base.offline.configure()
    models = DetectorCache(endpoint=endpoint, threads=threads or default_threads())
    app = Handlers(models, webcam_limit=WEBCAM_TIME_LIMIT)
    deck = models.deck(repo, revision)
    examples = [str(p) for p in models.examples(deck)]
    with gr.Blocks(title="yolodeck", delete_cache=(60, 600)) as demo:
        gr.Markdown("# yolodeck\nDetect objects with every variant of a YOLO deck: pick a backend and precision, "
                    "upload a photo or turn on your webcam, and see what quantization costs and buys.")
        c = _controls(models, deck)
        with gr.Tab("Detect", elem_id="tab-detect"):
            _detect_tab(app, c, examples)
        with gr.Tab("Compare variants", elem_id="tab-compare"):
            _compare_tab(app, c, examples)
        with gr.Tab("Webcam", elem_id="tab-webcam"):
            _webcam_tab(app, c, deck.manifest.imgsz)
        if video_ready():
            with gr.Tab("Video", elem_id="tab-video"):
                video_tab(app, c)
        with gr.Tab("Metrics", elem_id="tab-metrics"):
            metrics = _metrics_tab(app, c)
        pickers = [c.revision, c.backend, c.precision, c.imgsz, c.classes, c.info, c.best]
        c.load.click(app.pickers, c.deck, pickers, api_name="deck").then(app.metrics, c.deck, metrics, api_name=False)
        c.revision.input(app.pickers, c.deck, pickers, api_name=False).then(app.metrics, c.deck, metrics,
                                                                            api_name=False)
        c.backend.input(app.precisions, [*c.deck, c.backend], [c.precision, c.imgsz], api_name="precisions")
        demo.load(app.pickers, c.deck, pickers, api_name=False).then(app.metrics, c.deck, metrics,
                                                                     api_name="metrics")
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
    try:
        demo = build_app(repo=args.repo, endpoint=args.endpoint, threads=args.threads)
    except YolodeckError as exc:  # a missing repo, revision or deck: say what to do, not a traceback
        hint = ("python -m training.demo" if args.repo == DEFAULT_REPO
                else f"hub push DECK --repo {args.repo}" + (f" --endpoint {args.endpoint}" if args.endpoint else ""))
        print(f"yolodeck app: cannot open {args.repo}: {exc}\n  make it with: {hint}  (or pass --repo OWNER/NAME; "
              "`hub ls` lists the repos)", file=sys.stderr)
        return 2
    print(f"yolodeck app: http://{args.host}:{args.port}  (model {args.repo})", flush=True)
    launch(demo, host=args.host, port=args.port)
    return 0


