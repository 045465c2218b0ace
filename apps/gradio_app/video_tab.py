"""The Gradio app's Video tab: upload a clip, give a counting line, get the annotated clip, counts over time
and the per-frame CSV (``hub.video``: ByteTrack tracking, line counting, H.264 out)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from hub.base.errors import InvalidVideoError, YolodeckError

MAX_SECONDS = 60  # longer clips: `python -m apps.video` (no request holds a worker that long)


def counts_chart(rows: list[dict[str, str]]) -> go.Figure:
    """Line in/out (cumulative) and objects seen, per frame."""
    fig = go.Figure()
    t = [float(r["time_s"]) for r in rows]
    keys = [k for k in rows[0] if k.startswith(("line1_in_", "line1_out_", "seen_"))] if rows else []
    for key in keys:
        fig.add_scatter(x=t, y=[int(r[key]) for r in rows], mode="lines", name=key.replace("line1_", "line ")
                        .replace("_", " "))
    fig.update_layout(xaxis_title="seconds", yaxis_title="objects", height=320, margin=dict(l=40, r=10, t=30, b=40),
                      legend=dict(orientation="h"))
    return fig


def run_video(app, path, repo, revision, backend, precision, conf, iou, line, every):
    """(annotated clip, chart, CSV file, summary)."""
    from hub.video import parse_line, process_video, video_info

    if not path:
        raise gr.Error("upload a video first (mp4, mov, mkv, webm, avi)", print_exception=False)
    deck = app._deck(repo, revision)
    try:
        info = video_info(path)
        seconds = (info.frames / info.fps) if info.frames else 0
        if seconds > MAX_SECONDS:
            raise gr.Error(f"the clip is {seconds:.0f} s long; the limit here is {MAX_SECONDS} s: cut it, or run "
                           f"`python -m apps.video {Path(path).name} --repo {deck.repo} --out out.mp4` on your machine",
                           print_exception=False)
        start, end = parse_line(line, info.width, info.height)  # ValueError: the message below
        detector = app.models.detector(deck, deck.manifest.find(backend=backend, precision=precision))
        stem = f"video-{time.strftime('%Y%m%d-%H%M%S')}-{time.perf_counter_ns() % 10**6}"
        out, table = app.downloads / f"{stem}.mp4", app.downloads / f"{stem}.csv"
        report = process_video(path, detector, lines=[(start, end)], out=out, csv=table, conf=float(conf),
                               iou=float(iou), every=int(every or 1), progress=False,
                               max_frames=int(MAX_SECONDS * info.fps) + 1)
    except (InvalidVideoError, ValueError, YolodeckError) as exc:
        raise gr.Error(str(exc), print_exception=False) from exc
    counts = report.lines[0]
    rows = list(csv.DictReader(open(table)))
    summary = (f"**{detector.path.name}** · {deck.repo}@{deck.commit[:8]} · {report.frames} frames at "
               f"{report.fps:g} fps · {report.frames_per_second:.1f} frames/s here · line "
               f"({start[0]:g},{start[1]:g})→({end[0]:g},{end[1]:g}): in {sum(counts['in'].values())}, "
               f"out {sum(counts['out'].values())}")
    return str(out), counts_chart(rows), str(table), summary


def video_tab(app, c) -> None:
    gr.Markdown(f"Upload a clip (up to {MAX_SECONDS} s): every object is tracked (ByteTrack) and counted when it "
                "crosses the line (a line drawn top to bottom counts left-to-right as *in*).")
    with gr.Row():
        with gr.Column():
            clip = gr.Video(label="Clip", sources=["upload"], elem_id="video-in")
            line = gr.Textbox(label="Counting line x1,y1,x2,y2 (pixels; empty: a vertical line through the middle)",
                              elem_id="video-line")
            every = gr.Slider(1, 5, value=1, step=1, label="Detect every Nth frame (track in between)",
                              elem_id="video-every")
            run = gr.Button("Track and count", variant="primary", elem_id="video-run")
        with gr.Column():
            out = gr.Video(label="Annotated", elem_id="video-out", interactive=False)
            summary = gr.Markdown(label="Summary", elem_id="video-summary")
    chart = gr.Plot(label="Counts over time", elem_id="video-chart")
    table = gr.File(label="Per-frame CSV", elem_id="video-csv")
    run.click(lambda *a: run_video(app, *a), [clip, *c.deck, c.backend, c.precision, c.conf, c.iou, line, every],
              [out, chart, table, summary], api_name="video")
