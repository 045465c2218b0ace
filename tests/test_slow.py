"""The slow ones (`make test-all`): the demo deck from the committed weights, end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_demo_is_built_from_the_committed_weights_and_detects(tmp_path):
    """`python -m training.demo` as `make demo` runs it, on a fresh embedded hub: every variant of the deck
    is made and meets the accuracy the committed weights had (mAP50 0.978 at 320 px when measured), and
    the app's default variant finds the shelf's products."""
    import hub
    from hub.deck.manifest import Manifest
    from training.demo import DEMO_REPO, FIRST_VARIANTS

    env = {**os.environ, "YOLODECK_HUB": str(tmp_path / "hub"), "YOLODECK_CACHE": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-m", "training.demo", "--first"], env=env, capture_output=True,
                           text=True, timeout=600)  # what `make demo` serves while the rest builds
    assert first.returncode == 0, first.stderr[-2000:]
    early = hub.manifest_of(DEMO_REPO, endpoint=str(tmp_path / "hub"))
    assert tuple(v.id for v in early.available) == FIRST_VARIANTS
    assert hub.load(DEMO_REPO, endpoint=str(tmp_path / "hub")).detect(np.zeros((320, 320, 3), np.uint8)) is not None
    run = subprocess.run([sys.executable, "-m", "training.demo"], env=env, capture_output=True, text=True,
                         timeout=1100)
    assert run.returncode == 0 and run.stdout.strip().endswith(DEMO_REPO), run.stderr[-2000:]
    log = run.stdout + run.stderr  # quiet: our progress, not the exporters' banners, links and deprecations
    for noise in ("Ultralytics 8.", "https://", "FutureWarning", "XNNPACK", "no model scale passed"):
        assert noise not in log, (noise, log[-3000:])
    endpoint = str(tmp_path / "hub")
    folder = hub.pull(DEMO_REPO, endpoint=endpoint, local_dir=tmp_path / "deck")
    manifest = Manifest.read(folder)
    assert len(manifest.available) == 10, [(v.id, v.reason) for v in manifest.variants if not v.ok]
    for v in manifest.available:
        assert v.metrics.map50 > 0.95 and v.metrics.recall > 0.9, (v.id, v.metrics)
        assert abs(manifest.delta(v)["map50"]) < 0.01, v.id  # quantization costs under 0.01 mAP50
    example = folder / next(p for k, p in manifest.files.items() if k.startswith("example_"))
    detections = hub.load(DEMO_REPO, endpoint=endpoint).detect(example)
    assert len(detections) > 50  # a dense shelf
    again = subprocess.run([sys.executable, "-m", "training.demo"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and "building" not in again.stdout  # the second run reuses the deck
    refs = hub.open_store(endpoint).list_refs(DEMO_REPO)
    assert [t["name"] for t in refs["tags"]] == ["v1"]  # the whole deck is v1; the first variants are not tagged
