"""Plotly charts of decks' manifests: the one set both the Gradio metrics tab and the dashboard draw.

Each chart takes ``keep`` (which variants to show; default all) and colours by precision.
The Pareto front is a few lines written here: the libraries that compute one (paretoset,
pymoo) would be a dependency for a sort and a running maximum.
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go

from hub.base import catalog
from hub.deck.manifest import Manifest, Variant

COLORS = dict(zip(catalog.PRECISIONS, ("#4c78a8", "#f58518", "#54a24b"), strict=True))
Keep = Callable[[Variant], bool]


def _all(_: Variant) -> bool:
    return True


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both lower x (latency) and higher y (accuracy)."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _measured(manifest: Manifest, keep: Keep) -> list[Variant]:
    return [v for v in manifest.available if keep(v) and v.metrics and v.latency_ms]


def tradeoff(manifests: dict[str, Manifest], keep: Keep = _all, *, across: bool = False) -> go.Figure:
    """Latency against mAP50-95, one trace per manifest (a revision or a repo), each with its Pareto front;
    ``across``: one front over every point instead (models side by side)."""
    fig = go.Figure()
    if across:
        every = [(v.latency_ms.median, v.metrics.map50_95) for m in manifests.values() for v in _measured(m, keep)]
    for name, m in manifests.items():
        vs = _measured(m, keep)
        fig.add_trace(go.Scatter(x=[v.latency_ms.median for v in vs], y=[v.metrics.map50_95 for v in vs],
                                 mode="markers+text", text=[v.id for v in vs], textposition="top center",
                                 name=name, marker={"size": 12, "color": [COLORS[v.precision] for v in vs]}))
        if across:
            continue
        front = sorted((vs[i].latency_ms.median, vs[i].metrics.map50_95)
                       for i in pareto_front([(v.latency_ms.median, v.metrics.map50_95) for v in vs]))
        if len(front) > 1:
            fig.add_trace(go.Scatter(x=[p[0] for p in front], y=[p[1] for p in front], mode="lines",
                                     name=f"Pareto front ({name})", line={"dash": "dot", "color": "#888"}))
    if across:
        front = sorted(every[i] for i in pareto_front(every))
        fig.add_trace(go.Scatter(x=[p[0] for p in front], y=[p[1] for p in front], mode="lines",
                                 name="Pareto front (all)", line={"dash": "dot", "color": "#888"}))
    fig.update_layout(title="Latency vs mAP50-95 (up and left is better; colour = precision)",
                      xaxis_title="median ms per image", yaxis_title="mAP50-95", height=400)
    return fig


def model_costs(manifests: dict[str, Manifest]) -> go.Figure:
    """GFLOPs and parameters (millions) per model, side by side."""
    names = list(manifests)
    arch = [manifests[n].architecture for n in names]
    fig = go.Figure([go.Bar(name="GFLOPs", x=names, y=[a.get("gflops") for a in arch]),
                     go.Bar(name="parameters (M)", x=names, y=[(a.get("parameters") or 0) / 1e6 or None for a in arch])])
    fig.update_layout(title="Model cost: GFLOPs at the deck's input size, and parameters", barmode="group", height=360)
    return fig


def sizes(manifest: Manifest, keep: Keep = _all) -> go.Figure:
    vs = [v for v in manifest.available if keep(v)]
    fig = go.Figure(go.Bar(x=[v.id for v in vs], y=[v.bytes / 1e6 for v in vs],
                           marker_color=[COLORS[v.precision] for v in vs]))
    fig.update_layout(title="File size per variant (MB)", height=360)
    return fig


def latencies(manifest: Manifest, keep: Keep = _all) -> go.Figure:
    vs = _measured(manifest, keep)
    fig = go.Figure(go.Bar(x=[v.id for v in vs], y=[v.latency_ms.median for v in vs],
                           marker_color=[COLORS[v.precision] for v in vs]))
    fig.update_layout(title="Median latency per variant (ms)", height=360)
    return fig


def per_class(manifest: Manifest, keep: Keep = _all) -> go.Figure:
    fig = go.Figure()
    for v in manifest.available:
        if keep(v) and v.metrics and v.metrics.per_class:
            fig.add_trace(go.Bar(name=v.id, x=list(v.metrics.per_class), y=list(v.metrics.per_class.values())))
    fig.update_layout(title="AP50-95 per class", barmode="group", height=360)
    return fig


def gaps_found(manifest: Manifest, keep: Keep = _all) -> go.Figure:
    """Per variant, the share of the test split's empty facings it found, by the gaps' width and place in the
    row (``Metrics.gaps``): where a deck with an ``empty`` class misses them. Empty without such a class."""
    fig = go.Figure()
    for v in manifest.available:
        g = v.metrics.gaps if v.metrics else None
        if keep(v) and g is not None:
            fig.add_trace(go.Bar(name=v.id, x=[f"{x.kind} ({x.gaps})" for x in g.measured],
                                 y=[x.found / x.gaps for x in g.measured]))
    fig.update_layout(title="Empty facings found, by width and place in the row", barmode="group", height=360,
                      yaxis={"tickformat": ".0%", "range": [0, 1]})
    return fig


def precision_recall(manifest: Manifest, keep: Keep = _all) -> go.Figure:
    fig = go.Figure()
    for v in manifest.available:
        if keep(v) and v.metrics and v.metrics.pr_curve:
            n = len(v.metrics.pr_curve)
            fig.add_trace(go.Scatter(x=[i / (n - 1) for i in range(n)], y=v.metrics.pr_curve, mode="lines",
                                     name=v.id))
    fig.update_layout(title="Precision-recall at IoU 0.5 (class mean)", xaxis_title="recall",
                      yaxis_title="precision", height=360)
    return fig


def object_scale(manifests: dict[str, Manifest]) -> go.Figure:
    """The deck's accuracy against the size of its objects at the network input (``manifest.objects``), with the
    size ``tiles="auto"`` tiles photos to; a deck made before yolodeck measured it draws nothing."""
    fig = go.Figure()
    for name, m in manifests.items():
        o = m.objects
        if o is None:
            continue
        xs = [p.object_px for p in o.curve]
        fig.add_trace(go.Scatter(x=xs, y=[p.map50_95 for p in o.curve], mode="lines+markers",
                                 name=f"mAP50-95 ({name})"))
        fig.add_trace(go.Scatter(x=xs, y=[p.recall for p in o.curve], mode="lines+markers", line={"dash": "dash"},
                                 name=f"recall ({name})"))
        fig.add_vline(x=o.min_px, line={"dash": "dot", "color": "#888"},
                      annotation_text=f"auto tiles to {o.min_px:.1f} px")
    fig.update_layout(title="Accuracy by object size (test split, shown smaller and larger)",
                      xaxis_title="median object side at the network input, px", yaxis_title="score",
                      yaxis_range=[0, 1], height=360)
    return fig
