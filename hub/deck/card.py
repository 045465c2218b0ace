"""The model card (README.md) of a deck and the table views of its manifest.

The card is a ``huggingface_hub.ModelCard``: ``ModelCardData`` front matter with one
``EvalResult`` per variant and metric (the Hub groups them into a model-index), generated from
the manifest so the two cannot disagree. :func:`rows` and :func:`table` are the one tabular
view of a manifest: the card, ``hub show``, the app's metrics tab and the dashboard read them.
"""

from __future__ import annotations

from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from hub.deck import choose
from hub.deck.manifest import GapGroup, Manifest, Variant

NOISY_SPREAD = 2.0  # a variant whose slowest timing block took this many times its quietest was timed on a busy machine
LICENSE = "agpl-3.0"  # Ultralytics models and their exports are AGPL-3.0
# (row key, how it is printed); the keys are what people read, the same in every view
COLUMNS: dict[str, str] = {
    "variant": "{}", "backend": "{}", "precision": "{}", "size MB": "{:.2f}", "P": "{:.3f}", "R": "{:.3f}",
    "F1": "{:.3f}", "mAP50": "{:.3f}", "mAP50-95": "{:.3f}", "d mAP50": "{:+.4f}", "d mAP50-95": "{:+.4f}",
    "ms (median)": "{:.1f}", "ms (p90)": "{:.1f}", "x fp32": "{:.2f}",
}
_METRICS = (("map50", "map50", "mAP50"), ("map", "map50_95", "mAP50-95"), ("precision", "precision", "precision"),
            ("recall", "recall", "recall"), ("f1", "f1", "F1"))


ACROSS_COLUMNS = ["repo", "params M", "GFLOPs", *COLUMNS]


def across_rows(decks: dict[str, Manifest], keep: Any = None) -> list[dict[str, Any]]:
    """Several decks in one table (a sweep, or any models): the measured variants of each, with the model's
    parameters and GFLOPs (decks made before yolodeck recorded them show none)."""
    out = []
    for name, manifest in decks.items():
        arch = manifest.architecture
        params = round(arch["parameters"] / 1e6, 3) if "parameters" in arch else None
        for r in rows(manifest):
            if r["status"] == "ok" and (keep is None or keep(manifest.variant(r["variant"]))):
                out.append({"repo": name, "params M": params, "GFLOPs": arch.get("gflops"), **r})
    return out


def rows(manifest: Manifest) -> list[dict[str, Any]]:
    """One row per variant (the seed projects' table), keyed by :data:`COLUMNS` plus status and reason."""
    out = []
    for v in manifest.variants:
        m, lat, d = v.metrics, v.latency_ms, manifest.delta(v)
        out.append({
            "variant": v.id, "backend": v.backend, "precision": v.precision,
            "size MB": round(v.bytes / 1e6, 2) if v.ok else None,
            "P": m and round(m.precision, 4), "R": m and round(m.recall, 4), "F1": m and round(m.f1, 4),
            "mAP50": m and round(m.map50, 4), "mAP50-95": m and round(m.map50_95, 4),
            "d mAP50": _rounded(d.get("map50"), 4), "d mAP50-95": _rounded(d.get("map50_95"), 4),
            "ms (median)": lat and round(lat.median, 2), "ms (p90)": lat and round(lat.p90, 2),
            "x fp32": _rounded(d.get("speedup"), 2), "status": v.status, "reason": v.reason,
        })
    return out


def table(manifest: Manifest) -> str:
    """A Markdown table of :func:`rows`."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows(manifest):
        if r["status"] != "ok":
            lines.append(f"| {r['variant']} | {r['backend']} | {r['precision']} | unavailable: {r['reason']} |"
                         + " |" * (len(COLUMNS) - 4))
            continue
        lines.append("| " + " | ".join("-" if r[k] is None else fmt.format(r[k]) for k, fmt in COLUMNS.items()) + " |")
    return "\n".join(lines)


def card_data(manifest: Manifest, *, repo_id: str | None = None) -> ModelCardData:
    """Hub metadata: library, tags, datasets, license and an EvalResult per variant and metric."""
    dataset = str(manifest.dataset.get("name", "custom"))
    split = str(manifest.dataset.get("split", "test"))
    results = [
        EvalResult(task_type="object-detection", task_name="Object Detection", dataset_type=dataset,
                   dataset_name=f"{dataset} ({split})", dataset_split=split, metric_type=kind,
                   metric_value=round(getattr(v.metrics, field), 4), metric_name=f"{name} ({v.id})")
        for v in manifest.available if v.metrics for kind, field, name in _METRICS
    ]
    return ModelCardData(
        library_name="yolodeck", pipeline_tag="object-detection", license=LICENSE, datasets=[dataset],
        tags=["object-detection", "yolo", "ultralytics", "yolodeck",
              *sorted({v.backend for v in manifest.available}), *sorted({v.precision for v in manifest.available})],
        model_name=repo_id or manifest.model, eval_results=results or None,
    )


def render(manifest: Manifest, *, repo_id: str | None = None) -> str:
    """The full README.md: front matter, usage, the variant table, plots, provenance."""
    body = _body(manifest, repo=repo_id or f"OWNER/{manifest.model}")
    return str(ModelCard(f"---\n{card_data(manifest, repo_id=repo_id).to_yaml()}\n---\n\n{body}"))


def _body(manifest: Manifest, *, repo: str) -> str:
    ref = manifest.reference()
    fastest = choose.by_figures(manifest) if manifest.available else None
    classes = ", ".join(manifest.classes[:20]) + (" ..." if len(manifest.classes) > 20 else "")
    data = manifest.dataset
    lines = [
        f"# {manifest.model}",
        "",
        f"A YOLO detector for **{len(manifest.classes)} class(es)** ({classes}) at {manifest.imgsz} px, "
        f"published as a deck of {len(manifest.available)} variants, each measured on the "
        f"`{data.get('name', 'custom')}` {data.get('split', 'test')} split "
        f"({data.get('images', '?')} images, {data.get('instances', '?')} objects).",
        "",
    ]
    if fastest and ref:
        lines += [f"Fastest variant within {choose.TOLERANCE} mAP50 of fp32 on the machine that built it: **{fastest.id}** "
                  f"({manifest.delta(fastest).get('speedup', 1):.2f}x the speed of {ref.id}).", ""]
    backend, precision = (fastest.backend, fastest.precision) if fastest else ("onnxruntime", "fp32")
    lines += [
        "## Use it", "", "```bash", f"hub pull {repo} --variant {fastest.id if fastest else 'onnx-fp32'}", "```", "",
        "```python", "import hub", "",
        f'detector = hub.load("{repo}", backend="{backend}", precision="{precision}")',
        'detections = detector.detect("shelf.jpg", conf="best", iou=0.7)  # each class at its F1 peak, or a number',
        "print(detections.counts())", "```", "",
        "## Variants", "",
        "Metrics from COCOeval (faster-coco-eval, pycocotools' numbers) on the test split, run through `hub.runtime` "
        "(what the apps run); "
        "P, R and F1 at the confidence where F1 peaks; latency is the warm median of end-to-end `detect()`, "
        "batch 1 (every variant in one process, blocks of 10 calls taken in turn, 8 rounds: the median of each "
        "one's quietest block; p90 over all its calls); `d` columns and `x fp32` compare with the fp32 reference"
        + (f" ({ref.id})." if ref else "."),
        "", table(manifest), "",
    ]
    timed = next((v.latency_ms for v in manifest.available if v.latency_ms), None)
    if timed:
        on = f"a {timed.cpu}" if timed.cpu else "the machine that built the deck"
        lines += [f"Latency measured with {timed.threads} threads at {timed.imgsz} px on {on}; `hub.load` without a "
                  "variant measures the fastest candidates again on the machine it runs on.", ""]
        noisy = [v.id for v in manifest.available if v.latency_ms and (v.latency_ms.spread or 1) > NOISY_SPREAD]
        if noisy:
            lines += [f"**Noisy timing:** the machine was busy while {', '.join(noisy)} were timed (their slowest "
                      f"blocks took over {NOISY_SPREAD:g}x their quietest); trust their ratios less.", ""]
    lines += _classes(manifest, fastest)
    lines += _object_scale(manifest)
    plots = {k: v for k, v in manifest.files.items() if v.endswith((".png", ".jpg"))}
    if plots:
        lines += ["## Training", "", *(f"![{k}]({v})" for k, v in plots.items()), ""]
    if manifest.training:
        lines += ["## How it was made", "", "```yaml",
                  *(f"{k}: {v}" for k, v in manifest.training.items()), "```", ""]
    if manifest.tools:
        lines += ["Tools: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest.tools.items())), ""]
    lines += [f"Made with yolodeck on {manifest.created}."]
    return "\n".join(lines) + "\n"


# what yolodeck's own tools read into a class name (hub.runtime.shelf.EMPTY is the same name)
MEANINGS = {"empty": "a facing with no product on it, a gap to restock: the Shelf panels, the service's "
                     "`analysis=shelf` and the video tools' `--empty-after` read this class"}


def _classes(manifest: Manifest, variant: Variant | None) -> list[str]:
    """Per class: its AP50-95 and the confidence ``conf="best"`` keeps it from (where its F1 peaked on the test
    split), and what the class means where yolodeck's tools give it a meaning."""
    m = variant.metrics if variant else None
    if variant is None or m is None or not (m.per_class or m.thresholds):
        return []

    def cell(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = ["## Classes", "",
             f"AP50-95 per class on the test split, and the confidence `detect(conf=\"best\")` keeps each class from "
             f"({variant.id}): where its F1 peaked (smoothed; a class with few test objects takes the class-mean "
             "peak). The detection service uses them by default.", "",
             "| class | AP50-95 | confidence (best) |", "|---|---|---|",
             *(f"| {n} | {cell(m.per_class.get(n))} | {cell(m.thresholds.get(n))} |" for n in manifest.classes), ""]
    meant = [f"- **{n}**: {MEANINGS[n]}." for n in manifest.classes if n in MEANINGS]
    return lines + (meant + [""] if meant else []) + _gaps(variant)


def _gaps(variant: Variant) -> list[str]:
    """Where the variant misses empty facings (``training.gaps``), for a deck with an ``empty`` class."""
    g = variant.metrics.gaps if variant.metrics else None
    if g is None or not any(x.gaps for x in g.by_width):
        return []

    def row(x: GapGroup) -> str:
        return f"| {x.kind} | {x.gaps} | {x.found} | {x.found / x.gaps:.0%} |" if x.gaps else f"| {x.kind} | 0 | - | - |"

    worst = min(g.measured, key=lambda x: x.found / x.gaps)
    return ["### Empty facings found", "",
            f"The test split's gaps ({variant.id}, empty boxes from {g.conf:.3f}, found at IoU >= 0.5), by width in "
            f"the row's median product width and by place in the row. Missed most: **{worst.kind}** "
            f"({worst.found} of {worst.gaps}). These are the model's own boxes, one per facing; the shelf report "
            "also reads a bare facing between products as a gap and joins touching gaps into one place to restock.",
            "",
            "| gaps | labelled | found | share |", "|---|---|---|---|",
            *(row(x) for x in g.by_width + g.by_position), ""]


def _object_scale(manifest: Manifest) -> list[str]:
    """What the deck measured of its objects' size (``training.scale``), and what ``tiles="auto"`` does with it."""
    o = manifest.objects
    if o is None:
        return []
    return ["## Object size", "",
            f"On the test split the objects are a median {o.median_px:.1f} px (square root of the box area) at the "
            f"{manifest.imgsz} px input. Shown smaller and larger, {o.variant} keeps its mAP50-95 within 5% of its best "
            f"down to **{o.min_px:.1f} px**: `detect(photo, tiles=\"auto\")` measures a photo's objects and tiles it so "
            "that they reach that size (no tiles when the whole photo does).", "",
            "| object px | mAP50-95 | recall |", "|---|---|---|",
            *(f"| {p.object_px:.1f} | {p.map50_95:.3f} | {p.recall:.3f} |" for p in o.curve), ""]


def _rounded(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)
