"""The Streamlit dashboard: AppTest on the real script, and `streamlit run` in headless Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.deck.manifest import Manifest
from hub.store.local import AddFile, LocalStore
from tests.helpers.apps import (
    ARTIFACTS,
    CHROMIUM,
    app_env,
    free_port,
    launch_browser,
    plotly_values,
    start_server,
    stop,
)

SCRIPT = str(Path(__file__).resolve().parents[2] / "apps" / "dashboard.py")


def _chart(at, key: str) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if key in json.dumps(spec.get("layout", {}).get("title", {})):
            return spec
    raise AssertionError(f"no chart titled like {key!r}")


@pytest.fixture()
def dashboard(demo_hub, tmp_path, environment):
    from streamlit.testing.v1 import AppTest

    root, repo = demo_hub
    environment(YOLODECK_HUB=str(root), YOLODECK_CACHE=str(tmp_path / "cache"), YOLODECK_DASHBOARD_REPO=repo)
    return AppTest.from_file(SCRIPT, default_timeout=120)


def test_table_equals_the_manifest_and_charts_have_a_point_per_variant(dashboard, tiny_deck):
    at = dashboard.run()
    assert not at.exception and not at.error
    manifest = Manifest.read(tiny_deck)
    df = at.dataframe[0].value
    assert list(df["variant"]) == [v.id for v in manifest.variants]
    for v, (_, row) in zip(manifest.variants, df.iterrows(), strict=True):
        assert row["mAP50"] == round(v.metrics.map50, 4) and row["size MB"] == round(v.bytes / 1e6, 2)
        assert row["ms (median)"] == round(v.latency_ms.median, 2)
    scatter = _chart(at, "Latency vs mAP50-95")
    points = scatter["data"][0]
    assert len(plotly_values(points["x"])) == len(manifest.variants) == len(points["text"])
    assert sorted(plotly_values(points["y"])) == sorted(v.metrics.map50_95 for v in manifest.variants)
    scale = _chart(at, "Accuracy by object size")  # the deck's measured scale curve and the size auto tiles to
    assert plotly_values(scale["data"][0]["x"]) == [p.object_px for p in manifest.objects.curve]
    assert plotly_values(scale["data"][1]["y"]) == [p.recall for p in manifest.objects.curve]
    assert scale["layout"]["shapes"][0]["x0"] == manifest.objects.min_px
    assert len(plotly_values(_chart(at, "File size")["data"][0]["y"])) == len(manifest.variants)
    assert len(_chart(at, "AP50-95 per class")["data"]) == len(manifest.variants)
    assert _chart(at, "Training")["data"]  # curves from the deck's results.csv


def test_filters_change_table_and_charts(dashboard):
    at = dashboard.run()
    at.sidebar.multiselect(key="backends").unselect("tflite").unselect("torch").unselect("openvino").run()
    df = at.dataframe[0].value
    assert set(df["backend"]) == {"torchscript", "onnxruntime"}
    assert len(plotly_values(_chart(at, "Latency vs mAP50-95")["data"][0]["x"])) == len(df) == 4
    at.sidebar.multiselect(key="precisions").unselect("fp32").run()
    assert list(at.dataframe[0].value["variant"]) == ["onnx-fp16", "onnx-int8"]


def test_two_revisions_are_compared(dashboard, tiny_deck):
    at = dashboard.run()
    at.sidebar.multiselect(key="revisions").select("v1").run()
    assert not at.exception
    diff = at.dataframe[1].value
    assert "change" in diff.columns and len(diff) == len(Manifest.read(tiny_deck).variants) == 10
    assert set(diff["change"]) == {"same accuracy"}  # v1 and main hold the same deck


def test_a_broken_manifest_is_a_message_not_a_traceback(dashboard, demo_hub):
    root, _ = demo_hub
    store = LocalStore(root)
    if not store.repo_exists("acme/broken"):
        store.create_repo("acme/broken")
        store.commit("acme/broken", [AddFile("manifest.json", b'{"model": "x", "variants": [')], message="broken")
    at = dashboard.run()
    at.sidebar.selectbox(key="repo").select("acme/broken").run()
    assert not at.exception
    assert any("not valid JSON" in e.value for e in at.error)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def _streamlit(port: int, env: dict):
    """`streamlit run` of the dashboard on loopback, headless, without usage stats."""
    return start_server([sys.executable, "-m", "streamlit", "run", SCRIPT, "--server.address", "127.0.0.1",
                         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats",
                         "false"], port, env)


def test_streamlit_run_renders_the_charts_in_chromium(demo_hub, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    root, repo = demo_hub
    port = free_port()
    env = {**app_env(root, tmp_path / "cache"), "YOLODECK_DASHBOARD_REPO": repo}
    proc = _streamlit(port, env)
    try:
        with sync_playwright() as p:
            browser, context = launch_browser(p)
            page = context.new_page()
            page.set_viewport_size({"width": 1500, "height": 3400})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            expect(page.locator("[data-testid='stPlotlyChart'] .main-svg").first).to_be_visible(timeout=90_000)
            expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(6, timeout=60_000)  # 5 + object size
            page.wait_for_function("() => (document.querySelector(\"[data-testid='stPlotlyChart']\")"
                                   "?.querySelectorAll('.point').length ?? 0) >= 8", timeout=30_000)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
            browser.close()
    finally:
        stop(proc)


def test_make_dashboard_target_keeps_streamlit_private():
    make = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert "browser.gatherUsageStats false" in make and "server.address 127.0.0.1" in make
    assert os.environ["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    out = subprocess.run([sys.executable, "-c", "import hub, os; print(os.environ['STREAMLIT_SERVER_SHOW_EMAIL_PROMPT'])"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "false"


def test_revisions_that_differ_show_what_changed(dashboard, demo_hub, tiny_deck, tmp_path):
    import hub
    from tests.helpers.decks import make_deck

    root, _ = demo_hub
    store = LocalStore(root)
    if not store.repo_exists("acme/evolving"):
        ids = ["onnx-fp32", "onnx-int8", "tflite-int8"]
        hub.push(make_deck(tiny_deck, tmp_path / "a", ids), repo="acme/evolving", tag="v1", endpoint=str(root))
        later = make_deck(tiny_deck, tmp_path / "b", ids)
        manifest = Manifest.read(later)
        for vid, change in (("onnx-int8", -0.05), ("tflite-int8", +0.03)):
            m = manifest.variant(vid).metrics
            manifest.variant(vid).metrics = m.model_copy(update={"map50_95": m.map50_95 + change})
        manifest.write(later)
        hub.push(later, repo="acme/evolving", endpoint=str(root), message="retrained")
    at = dashboard.run()
    at.sidebar.selectbox(key="repo").select("acme/evolving").run()
    at.sidebar.multiselect(key="revisions").unselect("main").select("v1").select("main").run()
    assert not at.exception
    diff = at.dataframe[1].value.set_index("variant")
    assert diff.loc["onnx-int8", "change"] == "regressed" and diff.loc["tflite-int8", "change"] == "improved"
    assert diff.loc["onnx-fp32", "change"] == "same accuracy"
    assert diff.loc["onnx-int8", "d mAP50-95"] == pytest.approx(-0.05, abs=1e-3)


def test_several_repos_side_by_side(dashboard, demo_hub, tiny_deck, tmp_path):
    import hub
    from tests.helpers.decks import make_deck

    root, _ = demo_hub
    if not LocalStore(root).repo_exists("acme/thin"):
        hub.push(make_deck(tiny_deck, tmp_path / "thin", ["onnx-fp32", "tflite-int8"], model="thin"),
                 repo="acme/thin", endpoint=str(root))
    at = dashboard.run()
    at.sidebar.multiselect(key="compare").select("acme/thin").run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "repo" in d.value.columns)
    assert set(table["repo"]) == {"acme/tiny", "acme/thin"}
    assert len(table) == len(Manifest.read(tiny_deck).variants) + 2
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    across = next(c for c in charts if any(t.get("name") == "Pareto front (all)" for t in c["data"]))
    assert {t["name"] for t in across["data"]} == {"acme/tiny", "acme/thin", "Pareto front (all)"}
    assert {"params M", "GFLOPs"} <= set(table.columns)
    costs = next(c for c in charts if {t.get("name") for t in c["data"]} == {"GFLOPs", "parameters (M)"})
    assert list(costs["data"][0]["x"]) == ["acme/tiny", "acme/thin"]


def test_several_repos_render_in_chromium(demo_hub, tiny_deck, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    import hub
    from tests.helpers.decks import make_deck

    root, repo = demo_hub
    if not LocalStore(root).repo_exists("acme/thin"):
        hub.push(make_deck(tiny_deck, tmp_path / "thin", ["onnx-fp32", "tflite-int8"], model="thin"),
                 repo="acme/thin", endpoint=str(root))
    port = free_port()
    env = {**app_env(root, tmp_path / "cache"), "YOLODECK_DASHBOARD_REPO": repo, "YOLODECK_DASHBOARD_COMPARE": "acme/thin"}
    proc = _streamlit(port, env)
    try:
        with sync_playwright() as p:
            browser, context = launch_browser(p)
            page = context.new_page()
            page.set_viewport_size({"width": 1500, "height": 4200})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="load")
            expect(page.get_by_text("Across 2 repos")).to_be_visible(timeout=90_000)
            expect(page.locator("[data-testid='stPlotlyChart']")).to_have_count(8, timeout=60_000)  # 6 + across
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / "dashboard_across.png"))
            browser.close()
    finally:
        stop(proc)


def test_a_deck_with_an_empty_class_shows_where_it_misses_gaps(demo_weights_hub, demo_weights_deck, tmp_path,
                                                                 environment):
    """The demo deck (product and empty): every gap of its test split counted once by width and once by place,
    the dashboard's bars are the manifest's shares found, and the card names the group missed most."""
    from streamlit.testing.v1 import AppTest

    import hub
    from hub.deck import card

    root, repo = demo_weights_hub
    manifest = hub.manifest_of(repo, endpoint=str(root))
    variant = manifest.available[0]
    gaps = variant.metrics.gaps
    labels = (demo_weights_deck.parent / "demo-data" / "labels" / "test").glob("*.txt")
    labelled = sum(line.split()[0] == "1" for f in labels for line in f.read_text().splitlines())
    assert sum(x.gaps for x in gaps.by_width) == sum(x.gaps for x in gaps.by_position) == labelled > 0
    assert gaps.conf == variant.metrics.thresholds["empty"]
    groups = [x for x in gaps.by_width + gaps.by_position if x.gaps]
    environment(YOLODECK_HUB=str(root), YOLODECK_CACHE=str(tmp_path / "cache"), YOLODECK_DASHBOARD_REPO=repo)
    at = AppTest.from_file(SCRIPT, default_timeout=120).run()
    assert not at.exception and not at.error
    bars = _chart(at, "Empty facings found")["data"][0]
    assert plotly_values(bars["y"]) == [x.found / x.gaps for x in groups]
    assert bars["name"] == variant.id
    worst = min(groups, key=lambda x: x.found / x.gaps)
    text = card.render(manifest, repo_id=repo)
    assert "### Empty facings found" in text and f"Missed most: **{worst.kind}**" in text
