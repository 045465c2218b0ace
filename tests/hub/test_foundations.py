"""The house: a lean runtime leaf, one catalog, the manifest's schema, cards that parse back, the
default-variant rule, re-checked cached files and a hub that guards its writes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hub
from hub.base import catalog
from hub.base.errors import ManifestError, RepoError
from hub.deck import card
from hub.deck.manifest import Manifest, json_schema
from tests.helpers.apps import free_port, start_server
from tests.helpers.decks import make_deck

REPO = Path(__file__).resolve().parents[2]


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_the_runtime_is_a_leaf_that_writes_nothing(tiny_deck, tmp_path):
    """With an empty HOME and fresh caches: import hub.runtime, detect, and nothing is written or imported
    beyond the runtime's own needs."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("YOLO_CONFIG_DIR", "MPLCONFIGDIR")}
    env |= {"HOME": str(home), "YOLODECK_CACHE": str(home / "cache"), "HF_HOME": str(home / "hf"),
            "XDG_CACHE_HOME": str(home / "xdg"), "XDG_CONFIG_HOME": str(home / "config")}
    code = (
        "import sys\n"
        "import hub.runtime\n"
        "from hub.runtime import Detector\n"
        f"det = Detector({str(tiny_deck / 'model-fp32.onnx')!r}, names=['product'], imgsz=256)\n"
        "import numpy as np\n"
        "print(len(det.detect(np.zeros((200, 300, 3), np.uint8))))\n"
        "print(' '.join(m for m in ('hub.api', 'hub.store', 'hub.deck.card', 'hub.deck.manifest', 'yaml', 'torch', "
        "'ultralytics', 'huggingface_hub', 'pydantic') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    count, loaded = (out.stdout.splitlines() + [""])[:2]
    assert count == "0" and loaded == ""
    assert _files(tmp_path) == set(), _files(tmp_path)


def test_configure_writes_the_offline_switches_once(tmp_path):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("YOLO_CONFIG_DIR", "MPLCONFIGDIR")}
    env |= {"HOME": str(home), "YOLODECK_CACHE": str(tmp_path / "cache")}
    code = "import hub.base.offline as o; o.configure(); o.configure(); import os; print(os.environ['YOLO_CONFIG_DIR'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    settings = Path(out.stdout.strip()) / "Ultralytics" / "settings.json"
    assert json.loads(settings.read_text())["sync"] is False


def test_settings_are_read_once_and_a_bad_value_names_its_variable(tmp_path):
    """Every YOLODECK_* variable is read by hub.base.settings at the first use and kept; a value that does not
    parse is refused with the variable's name, and nothing reads os.environ for them behind its back."""
    code = (
        "import os; from hub.base import settings; from hub.store import default_root\n"
        "first = default_root()\n"
        f"os.environ['YOLODECK_HUB'] = {str(tmp_path / 'other')!r}\n"
        "print(first, default_root(), settings.reload().hub, default_root(), settings.current().threads)\n"
    )
    env = {**os.environ, "YOLODECK_HUB": str(tmp_path / "hub"), "YOLODECK_THREADS": "3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(tmp_path / "hub")] * 2 + [str(tmp_path / "other")] * 2 + ["3"]
    env["YOLODECK_WEBCAM_TIME_LIMIT"] = "two minutes"
    out = subprocess.run([sys.executable, "-c", "from hub.base import settings; settings.current()"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert "SettingsError: $YOLODECK_WEBCAM_TIME_LIMIT='two minutes' is not a number" in out.stderr
    reads = re.compile(r"""(environ\.get\(|environ\[|getenv\()["']YOLODECK_""")
    readers = [f"{p}:{n}" for folder in ("apps", "hub", "space", "training") for p in (REPO / folder).rglob("*.py")
               for n, line in enumerate(p.read_text().splitlines(), 1) if reads.search(line)]
    assert readers == []


def test_the_embedded_hub_works_without_fcntl(tmp_path):
    """Windows has no fcntl: the store's lock is filelock's."""
    code = (
        "import sys; sys.modules['fcntl'] = None\n"
        "from hub.store.local import AddFile, LocalStore\n"
        f"s = LocalStore({str(tmp_path / 'hub')!r}); s.create_repo('acme/w')\n"
        "c = s.commit('acme/w', [AddFile('a.txt', b'hi')], message='m')\n"
        "print(s.fetch('acme/w', 'a.txt', revision=c).read_text())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "hi"


def test_the_catalog_is_what_every_part_reads():
    from training.deck import TOOLS

    for kind in catalog.VARIANTS.values():
        assert kind.backend in catalog.BACKENDS and kind.precision in catalog.PRECISIONS
        assert kind.exporter in TOOLS and catalog.BACKENDS[kind.backend].runtime in TOOLS
        for other in (kind.shares, kind.derived_from):  # export order: what it needs comes first
            assert other is None or list(catalog.VARIANTS).index(other) < list(catalog.VARIANTS).index(kind.id)
    assert catalog.default_backend(".onnx") == "onnxruntime" and catalog.default_backend(".xml") == "openvino"
    with pytest.raises(ValueError, match="known: torch"):
        catalog.backend("tensorrt")
    schema = json.loads(json_schema())
    assert schema["$defs"]["Variant"]["properties"]["backend"]["enum"] == list(catalog.BACKENDS)


def test_the_committed_json_schema_is_the_manifests():
    assert (REPO / "hub" / "deck" / "manifest.schema.json").read_text() == json_schema(), "run python -m hub.deck.manifest"


@pytest.mark.parametrize("change, where", [
    (lambda m: m["variants"][2].update(backend="tensorrt"), r"variants\[2\] \(onnx-fp32\)\.backend"),
    (lambda m: m["variants"][0].update(bytes="12"), r"variants\[0\] \(pt\)\.bytes"),
    (lambda m: m["variants"][3]["metrics"].update(map50=1.5), r"variants\[3\] \(onnx-fp16\)\.metrics\.map50"),
    (lambda m: m.update(imgsz=0), r"imgsz"),
    (lambda m: m.pop("classes"), r"classes"),
    (lambda m: m["variants"][1].update(sha256="z" * 64), r"variants\[1\] \(torchscript\).*sha256"),
])
def test_a_bad_manifest_names_the_field(tiny_deck, change, where):
    raw = json.loads((tiny_deck / "manifest.json").read_text())
    change(raw)
    with pytest.raises(ManifestError, match=where):
        Manifest.from_dict(raw)


def test_the_model_card_parses_back_with_one_result_per_variant_and_metric(tiny_deck):
    from huggingface_hub import ModelCard

    manifest = Manifest.read(tiny_deck)
    parsed = ModelCard(card.render(manifest, repo_id="acme/tiny"))
    results = parsed.data.eval_results
    assert len(results) == 5 * len(manifest.available)
    for v in manifest.available:
        mine = {r.metric_type: r.metric_value for r in results if r.metric_name.endswith(f"({v.id})")}
        assert mine == {"map50": round(v.metrics.map50, 4), "map": round(v.metrics.map50_95, 4),
                        "precision": round(v.metrics.precision, 4), "recall": round(v.metrics.recall, 4),
                        "f1": round(v.metrics.f1, 4)}
    assert card.table(manifest) in parsed.content


def test_load_picks_the_fastest_variant_within_tolerance(tiny_deck, tmp_path):
    ids = ["onnx-fp32", "onnx-int8", "tflite-int8"]
    deck = make_deck(tiny_deck, tmp_path / "d", ids)
    manifest = Manifest.read(deck)
    ref = manifest.variant("onnx-fp32").metrics.map50
    for vid, ms, map50 in (("onnx-fp32", 9.0, ref), ("onnx-int8", 5.0, ref - 0.005), ("tflite-int8", 3.0, ref - 0.2)):
        v = manifest.variant(vid)
        v.latency_ms = v.latency_ms.model_copy(update={"median": ms})
        v.metrics = v.metrics.model_copy(update={"map50": map50})
    manifest.write(deck)
    root = str(tmp_path / "hub")
    hub.push(deck, repo="acme/pick", endpoint=root)
    # by the deck's figures: tflite-int8 is faster, but lost 0.2 mAP50
    assert hub.load("acme/pick", endpoint=root, probe=False).path.name == "model-int8.onnx"
    opened = hub.open_deck("acme/pick", endpoint=root)
    assert opened.default_variant(probe=False).id == "onnx-int8"
    assert opened.commit == hub.resolve("acme/pick", endpoint=root)
    assert opened.default_variant(probe=True).id in ("onnx-fp32", "onnx-int8")  # never the inaccurate one


def test_the_probe_picks_what_it_measured_fastest_here_and_caches_it(tiny_deck, tmp_path, monkeypatch):
    from hub.base.offline import cache_dir
    from hub.deck import probe

    ids = ["onnx-fp32", "onnx-int8", "tflite-int8"]
    deck = make_deck(tiny_deck, tmp_path / "d", ids)
    manifest = Manifest.read(deck)
    for v in manifest.available:  # all equally accurate; the deck claims onnx-fp32 is fastest
        v.metrics = v.metrics.model_copy(update={"map50": 0.5})
        v.latency_ms = v.latency_ms.model_copy(update={"median": 1.0 if v.id == "onnx-fp32" else 50.0})
    manifest.write(deck)
    root = str(tmp_path / "hub")
    hub.push(deck, repo="acme/probe", endpoint=root)
    opened = hub.open_deck("acme/probe", endpoint=root)
    chosen = opened.default_variant(probe=True)
    [record] = (cache_dir() / "probes").glob(f"{opened.commit}-*.json")
    measured = json.loads(record.read_text())
    assert set(measured["ms"]) == set(ids) and all(ms > 0 for ms in measured["ms"].values())
    assert chosen.id == measured["fastest"] == min(measured["ms"], key=measured["ms"].get)
    assert "(" in measured["cpu"] or measured["cpu"]  # model name and instruction sets
    other = next(i for i in ids if i != chosen.id)
    record.write_text(json.dumps({**measured, "fastest": other}))  # the cache answers, not a new probe
    assert opened.default_variant().id == other
    assert hub.load("acme/probe", endpoint=root).path.name == catalog.VARIANTS[other].file
    assert opened.default_variant(probe=False).id == "onnx-fp32"  # the deck's own figures
    assert "onnxruntime=" in measured["key"] and "ai-edge-litert=" in measured["key"]
    monkeypatch.setattr(probe, "RUNTIME_REVISION", probe.RUNTIME_REVISION + 1)  # as a new runtime version would
    opened.default_variant(probe=True)
    assert len(list((cache_dir() / "probes").glob(f"{opened.commit}-*.json"))) == 2  # probed again


def test_a_cached_file_is_checked_again_and_fetched_anew_if_it_changed(tiny_deck, tmp_path):
    root = str(tmp_path / "hub")
    hub.push(make_deck(tiny_deck, tmp_path / "d", ["onnx-fp32"]), repo="acme/cache", endpoint=root)
    path = hub.load("acme/cache", variant="onnx-fp32", endpoint=root).path
    good = path.read_bytes()
    path.write_bytes(good[:-10] + b"x" * 10)  # the cache copy changes under us (disk, a user, malware)
    again = hub.load("acme/cache", variant="onnx-fp32", endpoint=root)
    assert again.path == path and path.read_bytes() == good


def test_hub_serve_with_a_token_refuses_anonymous_writes(tiny_deck, tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf_errors

    port = free_port()
    env = {**os.environ, "YOLODECK_SERVE_TOKEN": "s3cret-token"}
    proc = start_server([sys.executable, "-m", "hub.cli", "serve", "--root", str(tmp_path / "served"), "--port",
                         str(port)], port, env)
    url = f"http://127.0.0.1:{port}"
    try:
        for token in (False, "wrong-token", "s3cret-tokeN"):
            with pytest.raises(hf_errors.HfHubHTTPError):
                HfApi(endpoint=url, token=token).create_repo("acme/guarded")
        deck = make_deck(tiny_deck, tmp_path / "d", ["onnx-fp32"])
        with pytest.raises(RepoError):
            hub.push(deck, repo="acme/guarded", endpoint=url, token="wrong-token")
        assert not (tmp_path / "served" / "repos" / "models" / "acme" / "guarded").exists()
        pushed = hub.push(deck, repo="acme/guarded", endpoint=url, token="s3cret-token")
        assert HfApi(endpoint=url, token=False).model_info("acme/guarded").sha == pushed.commit  # reads stay open
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_card_flags_timing_taken_on_a_busy_machine(tiny_deck):
    manifest = Manifest.read(tiny_deck)
    for v in manifest.available:
        v.latency_ms = v.latency_ms.model_copy(update={"spread": 1.2, "cpu": "Test CPU (avx2)"})
    quiet = card.render(manifest)
    assert "Noisy timing" not in quiet and "on a Test CPU (avx2)" in quiet
    noisy = manifest.variant("onnx-int8")
    noisy.latency_ms = noisy.latency_ms.model_copy(update={"spread": 3.5})
    assert "**Noisy timing:** the machine was busy while onnx-int8 were timed" in card.render(manifest)


def test_the_card_lists_each_class_with_its_ap_and_threshold_and_says_what_empty_means(tiny_deck):
    from hub.deck import choose

    manifest = Manifest.read(tiny_deck)
    shown = choose.by_figures(manifest)
    shown.metrics.per_class, shown.metrics.thresholds = {"product": 0.6123}, {"product": 0.4321}
    text = card.render(manifest)
    assert "| product | 0.612 | 0.432 |" in text and f"({shown.id}): where its F1 peaked" in text
    assert "**empty**" not in text
    manifest.classes.append("empty")  # a deck that finds gaps: the card says what the class is read as
    text = card.render(manifest)
    assert "| empty | - | - |" in text and "- **empty**: a facing with no product on it" in text


def test_blocks_in_turn_time_contenders_in_turn_and_keep_each_one_s_quietest_block():
    """The one timer (probe, deck latencies, benchmarks): blocks of calls one contender after another, a
    disturbed block left out of the figure and shown in the spread; or rounds until each has spent its time."""
    import time

    from hub.base.timing import blocks_in_turn, quietest, spread

    order: list[str] = []

    def quick(i: int) -> None:  # its second block is disturbed
        order.append("quick")
        time.sleep(0.05 if 3 <= i < 6 else 0.005)

    def slow(i: int) -> None:
        order.append("slow")
        time.sleep(0.02)

    blocks = blocks_in_turn({"quick": quick, "slow": slow}, per_block=3, rounds=3, warmup=1)
    assert order == ["quick", "slow"] + (["quick"] * 3 + ["slow"] * 3) * 3
    assert [len(b) for b in blocks["quick"]] == [3, 3, 3]
    assert quietest(blocks["quick"]) < 15 <= 20 <= quietest(blocks["slow"])
    assert spread(blocks["quick"]) > 3 > spread(blocks["slow"]) - 1
    timed = blocks_in_turn({"slow": slow}, per_block=2, seconds=0.1)["slow"]
    assert sum(map(sum, timed)) >= 100 and sum(map(sum, timed[:-1])) < 100  # stops once it has spent 0.1 s
