"""The model card (README.md) of a deck, generated from its manifest so the two cannot disagree."""

from __future__ import annotations

from typing import Any

import yaml

from hub.manifest import Manifest

LICENSE = "agpl-3.0"  # Ultralytics models and their exports are AGPL-3.0


def metadata(manifest: Manifest, *, repo_id: str | None = None) -> dict[str, Any]:
    """Hub metadata: library, tags, datasets, license and model-index results per variant."""
    dataset = manifest.dataset.get("name", "custom")
    split = manifest.dataset.get("split", "test")
    results = []
    for v in manifest.available:
        if not v.metrics:
            continue
        results.append({
            "task": {"type": "object-detection", "name": "Object Detection"},
            "dataset": {"name": f"{dataset} ({split})", "type": dataset, "split": split},
            "metrics": [
                {"type": "map50", "value": round(v.metrics.map50, 4), "name": f"mAP50 ({v.id})"},
                {"type": "map", "value": round(v.metrics.map50_95, 4), "name": f"mAP50-95 ({v.id})"},
                {"type": "precision", "value": round(v.metrics.precision, 4), "name": f"precision ({v.id})"},
                {"type": "recall", "value": round(v.metrics.recall, 4), "name": f"recall ({v.id})"},
                {"type": "f1", "value": round(v.metrics.f1, 4), "name": f"F1 ({v.id})"},
            ],
            "source": {"name": "yolodeck", "url": "https://github.com/ultralytics/ultralytics"},
        })
    backends = sorted({v.backend for v in manifest.available})
    meta: dict[str, Any] = {
        "library_name": "yolodeck",
        "pipeline_tag": "object-detection",
        "license": LICENSE,
        "tags": ["object-detection", "yolo", "ultralytics", "yolodeck", *backends,
                 *sorted({v.precision for v in manifest.available})],
        "datasets": [dataset],
    }
    if results:
        meta["model-index"] = [{"name": repo_id or manifest.model, "results": results}]
    return meta


def render(manifest: Manifest, *, repo_id: str | None = None) -> str:
    """The full README.md: YAML front matter, usage, the variant table, plots, provenance."""
    repo = repo_id or f"OWNER/{manifest.model}"
    ref = manifest.reference()
    fastest = manifest.fastest_accurate() if manifest.available else None
    front = yaml.safe_dump(metadata(manifest, repo_id=repo_id), sort_keys=False, allow_unicode=True)
    classes = ", ".join(manifest.classes[:20]) + (" ..." if len(manifest.classes) > 20 else "")
    lines = [
        f"---\n{front}---",
        f"# {manifest.model}",
        "",
        f"A YOLO detector for **{len(manifest.classes)} class(es)** ({classes}) at {manifest.imgsz} px, "
        f"published as a deck of {len(manifest.available)} variants, each measured on the "
        f"`{manifest.dataset.get('name', 'custom')}` {manifest.dataset.get('split', 'test')} split "
        f"({manifest.dataset.get('images', '?')} images, {manifest.dataset.get('instances', '?')} objects).",
        "",
    ]
    if fastest and ref:
        lines += [f"Fastest variant within 0.01 mAP50 of fp32: **{fastest.id}** "
                  f"({manifest.delta(fastest).get('speedup', 1):.2f}x the speed of {ref.id}).", ""]
    lines += [
        "## Use it",
        "",
        "```bash",
        f"hub pull {repo} --variant {fastest.id if fastest else 'onnx-fp32'}",
        "```",
        "",
        "```python",
        "import hub",
        "",
        f'detector = hub.load("{repo}", backend="{fastest.backend if fastest else "onnxruntime"}", '
        f'precision="{fastest.precision if fastest else "fp32"}")',
        'detections = detector.detect("shelf.jpg", conf=0.25, iou=0.7)',
        "print(detections.counts())",
        "```",
        "",
        "## Variants",
        "",
        "Metrics from pycocotools on the test split, run through `hub.runtime` (what the apps run); "
        "P, R and F1 at the confidence where F1 peaks; latency is the warm median of end-to-end `detect()`, "
        "batch 1 (every variant in one process, blocks of 10 calls taken in turn, 8 rounds: the median of each one's quietest "
        "block; p90 over all its calls); `d` columns and `x fp32` compare with the fp32 reference"
        + (f" ({ref.id})." if ref else "."),
        "",
        manifest.table(),
        "",
    ]
    if manifest.available and manifest.available[0].latency_ms:
        lat = manifest.available[0].latency_ms
        lines += [f"Latency measured with {lat.threads} threads at {lat.imgsz} px on the machine that built the deck.", ""]
    plots = {k: v for k, v in manifest.files.items() if v.endswith((".png", ".jpg"))}
    if plots:
        lines += ["## Training", ""]
        lines += [f"![{k}]({v})" for k, v in plots.items()]
        lines += [""]
    if manifest.training:
        lines += ["## How it was made", "", "```yaml", yaml.safe_dump(manifest.training, sort_keys=False).strip(),
                  "```", ""]
    if manifest.tools:
        lines += ["Tools: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest.tools.items())), ""]
    lines += [f"Made with yolodeck on {manifest.created}."]
    return "\n".join(lines) + "\n"
