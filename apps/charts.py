"""Plotly charts of a deck's manifest, shared by the Gradio metrics tab and the dashboard."""

from __future__ import annotations

import plotly.graph_objects as go

from hub.manifest import Manifest

COLORS = {"fp32": "#4c78a8", "fp16": "#f58518", "int8": "#54a24b"}


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both lower x (latency) and higher y (accuracy)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def metric_charts(manifest: Manifest) -> tuple[go.Figure, go.Figure, go.Figure]:
    """(latency vs mAP50-95 with the Pareto front, size per variant, latency per variant)."""
    variants = [v for v in manifest.available if v.metrics and v.latency_ms]
    scatter = go.Figure()
    for precision in ("fp32", "fp16", "int8"):
        vs = [v for v in variants if v.precision == precision]
        if vs:
            scatter.add_trace(go.Scatter(
                x=[v.latency_ms.median for v in vs], y=[v.metrics.map50_95 for v in vs], mode="markers+text",
                text=[v.id for v in vs], textposition="top center", name=precision,
                marker={"size": 12, "color": COLORS[precision]},
            ))
    front = pareto_front([(v.latency_ms.median, v.metrics.map50_95) for v in variants])
    if len(front) > 1:
        pts = sorted((variants[i].latency_ms.median, variants[i].metrics.map50_95) for i in front)
        scatter.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines", name="Pareto front",
                                     line={"dash": "dot", "color": "#888"}))
    scatter.update_layout(title="Latency vs mAP50-95 (up and left is better)", xaxis_title="median ms",
                          yaxis_title="mAP50-95", height=380, margin={"t": 50, "b": 40})
    ids = [v.id for v in manifest.available]
    colors = [COLORS.get(v.precision, "#999") for v in manifest.available]
    sizes = go.Figure(go.Bar(x=ids, y=[v.bytes / 1e6 for v in manifest.available], marker_color=colors))
    sizes.update_layout(title="File size (MB)", height=380, margin={"t": 50, "b": 40})
    latency = go.Figure(go.Bar(x=[v.id for v in variants], y=[v.latency_ms.median for v in variants],
                               marker_color=[COLORS.get(v.precision, "#999") for v in variants]))
    latency.update_layout(title="Median latency (ms)", height=380, margin={"t": 50, "b": 40})
    return scatter, sizes, latency
