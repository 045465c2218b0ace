"""A width/depth sweep (the width-multiple seed): train each point, build its deck, table and chart them.

Each point lives in ``SWEEP/w<width>-d<depth>/`` (``run/``, ``deck/``); a point whose deck exists is
not trained or exported again, so an interrupted sweep resumes. Accuracy comes from each deck; latency
is measured again for every point and variant in one process, blocks in turn, on this machine, so the
points are compared at the same moments. ``SWEEP/summary.csv`` has a row per point and variant;
``SWEEP/summary.html`` is a Plotly chart (latency against mAP50-95, one trace per variant kind),
with Plotly's JavaScript inside: it opens offline.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tqdm import tqdm

from hub.deck.manifest import Manifest
from training.deck import model_size

FIELDS = ["width", "depth", "params", "gflops", "variant", "map50", "map50_95", "ms_median", "ms_p90", "mb"]


def _point_name(width: float | None, depth: float | None) -> str:
    return f"w{width if width is not None else 'yaml'}-d{depth if depth is not None else 'yaml'}"


def _size(run: Path, imgsz: int) -> tuple[int, float]:
    """(parameters, GFLOPs at ``imgsz``) of a run's model."""
    return model_size(run / "weights" / "best.pt", imgsz)


def sweep(*, data: str | Path, out: str | Path, model: str = "yolov8n.yaml", widths: list[float | None],
          depths: list[float | None], epochs: int, imgsz: int, batch: int = 16, variants: list[str] | None = None,
          repo_prefix: str | None = None, endpoint: str | None = None, threads: int = 2,
          **overrides) -> Path:
    """Run the sweep; return the summary CSV."""
    from training.deck import build_deck
    from training.train import train

    out = Path(out)
    points = [(w, d) for w in widths for d in depths]
    decks: dict[str, tuple[float | None, float | None, Path, Path]] = {}
    for w, d in tqdm(points, desc="sweep", unit="point"):
        folder = out / _point_name(w, d)
        run, deck = folder / "run", folder / "deck"
        if not (deck / "manifest.json").is_file():
            if not (run / "weights" / "best.pt").is_file():
                train(data=data, out=run, model=model, epochs=epochs, imgsz=imgsz, batch=batch, width=w, depth=d,
                      **overrides)
            build_deck(run, data=data, out=deck, variants=variants, threads=threads, name=folder.name, examples=0)
            if repo_prefix:
                import hub

                hub.push(deck, repo=f"{repo_prefix}{w if w is not None else ''}", endpoint=endpoint)
        decks[folder.name] = (w, d, run, deck)
    latency = _latencies(decks, data, threads)
    rows = []
    for name, (w, d, run, deck) in decks.items():
        params, gflops = _size(run, imgsz)
        for v in Manifest.read(deck).available:
            lat = latency[f"{name}/{v.id}"]
            rows.append({"width": w, "depth": d, "params": params, "gflops": gflops, "variant": v.id,
                         "map50": round(v.metrics.map50, 4), "map50_95": round(v.metrics.map50_95, 4),
                         "ms_median": round(lat.median, 2), "ms_p90": round(lat.p90, 2), "mb": round(v.bytes / 1e6, 2)})
    summary = out / "summary.csv"
    with open(summary, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    _chart(rows, out / "summary.html")
    return summary


def _latencies(decks: dict, data: str | Path, threads: int) -> dict:
    """Every point's variants timed together (training.evaluate.measure_latencies), in a fresh process."""
    from training.data.layout import read_data_yaml, split_images
    from training.deck import _in_subprocess
    from training.evaluate import load_image, measure_latencies

    files, names, imgsz = {}, [], 0
    for name, (_, _, _, deck) in decks.items():
        manifest = Manifest.read(deck)
        names, imgsz = manifest.classes, manifest.imgsz
        files |= {f"{name}/{v.id}": (deck / v.file, v.backend) for v in manifest.available}
    arrays = [load_image(p) for p in split_images(read_data_yaml(data), "test")[:8]]
    return _in_subprocess(measure_latencies, files, arrays, names, imgsz=imgsz, threads=threads)


def _chart(rows: list[dict], path: Path) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    for variant in dict.fromkeys(r["variant"] for r in rows):
        pts = [r for r in rows if r["variant"] == variant]
        fig.add_trace(go.Scatter(x=[r["ms_median"] for r in pts], y=[r["map50_95"] for r in pts], name=variant,
                                 mode="markers+lines+text", textposition="top center",
                                 text=[f"w{r['width']} d{r['depth']}" for r in pts]))
    fig.update_layout(title="Width/depth sweep: latency vs mAP50-95 (measured together, this machine)",
                      xaxis_title="median ms per image", yaxis_title="mAP50-95")
    fig.write_html(path, include_plotlyjs=True)
