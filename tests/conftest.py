"""Test isolation and the network guard.

Every test run: caches, HF_HOME and the embedded hub live in a temp dir; an audit hook
(tests/netguard/sitecustomize.py) blocks non-loopback DNS and connects in this process
and, through PYTHONPATH, in every Python subprocess; a test during which any process
logged an attempt fails.
"""

from __future__ import annotations

import os
import runpy
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GUARD_DIR = Path(__file__).parent / "netguard"
# YOLODECK_TEST_STATE (developers only) keeps the tiny dataset, run and deck between runs.
_REUSE = os.environ.get("YOLODECK_TEST_STATE")
_STATE = Path(_REUSE) if _REUSE else Path(tempfile.mkdtemp(prefix="yolodeck-tests-"))
_STATE.mkdir(parents=True, exist_ok=True)
# Under pytest-xdist (make test runs two workers), the costly artefacts (the tiny dataset, model and deck) are
# built once, by whichever worker needs them first behind a file lock, in a folder every worker of the run shares.
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID")
_SHARED = Path(_REUSE) if _REUSE else (Path(tempfile.gettempdir()) / f"yolodeck-tests-{_RUN}" if _RUN else _STATE)
_SHARED.mkdir(parents=True, exist_ok=True)
# YOLODECK_TEST_SEED trains the test models with another seed: a stand-in for another machine, whose
# floating point gives other weights (tests on trained models must hold for any reasonable model).
SEED = int(os.environ.get("YOLODECK_TEST_SEED", "0"))

os.environ["NETGUARD_LOG"] = str(_STATE / "netguard.log")
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(GUARD_DIR), str(REPO), os.environ.get("PYTHONPATH", "")) if p
)
os.environ["YOLODECK_CACHE"] = str(_STATE / "cache")
os.environ["YOLODECK_HUB"] = str(_STATE / "hub")
os.environ["HF_HOME"] = str(_STATE / "hf")
os.environ["MPLBACKEND"] = "Agg"
# Two workers share two cores: ONNX Runtime's idle threads sleep instead of spinning (measured, AMD EPYC: two
# videos side by side 26 s each instead of 43 s), here and in every process the tests start.
os.environ["YOLODECK_BUSY_WAIT"] = "0"
for key in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN") if not os.environ.get("YOLODECK_TEST_HF") else ():
    os.environ.pop(key, None)
runpy.run_path(str(GUARD_DIR / "sitecustomize.py"))
Path(os.environ["NETGUARD_LOG"]).touch()

import hub.base.offline  # noqa: E402  (after the env above, before anything else imports a library)

hub.base.offline.configure()


def pytest_collection_modifyitems(config, items) -> None:
    """The digits deck (its own training, no tiny deck) first: under two xdist workers it is built while the other
    worker builds the tiny deck, instead of after it (make test: 8 min 13 s with work stealing against 9 min 47 s
    with whole files per worker, AMD EPYC, 2 cores)."""
    items.sort(key=lambda item: 0 if item.nodeid.startswith("tests/training/test_cli_digits.py") else 1)


def pytest_report_header(config) -> list[str]:
    from hub.deck.probe import cpu

    return [f"yolodeck: cpu {cpu()}, {os.cpu_count()} cores; test models trained with seed {SEED}; state {_STATE}"]


class NetGuard:
    """Reads what the guard logged since the last look."""

    def __init__(self) -> None:
        self.log = Path(os.environ["NETGUARD_LOG"])
        self.offset = self.log.stat().st_size

    def new_lines(self) -> list[str]:
        data = self.log.read_text()
        lines = data[self.offset :].splitlines()
        self.offset = len(data)
        return lines


@pytest.fixture(autouse=True)
def netguard() -> NetGuard:
    guard = NetGuard()
    yield guard
    attempts = guard.new_lines()
    if attempts:
        pytest.fail("non-loopback network attempt(s) during this test:\n" + "\n".join(attempts[:20]), pytrace=False)


@pytest.fixture()
def environment(monkeypatch):
    """Set ``YOLODECK_*`` variables in this process for one test: the settings (read once per process) are read
    again now, and again once the test has put the environment back."""
    from hub.base import settings

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        settings.reload()

    yield set_
    monkeypatch.undo()
    settings.reload()


@pytest.fixture()
def served(tmp_path):
    """A real `hub serve` on loopback over a fresh store; yields (url, root, process)."""
    from tests.helpers.apps import free_port, start_server

    root, port = tmp_path / "served-hub", free_port()
    proc = start_server([sys.executable, "-m", "hub.cli", "serve", "--root", str(root), "--port", str(port)], port,
                        dict(os.environ))
    try:
        yield f"http://127.0.0.1:{port}", root, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def state_dir() -> Path:
    return _STATE


def python() -> str:
    return sys.executable


# --- shared, real artefacts: a tiny dataset, a tiny trained model, and its deck -------------------

TINY_TRAIN = dict(epochs=16, imgsz=256, batch=4, warmup_epochs=0, mosaic=0.0, close_mosaic=0, optimizer="AdamW",
                  lr0=0.004, workers=0, seed=SEED)


def _built_once(name: str, build):
    """``build()`` run once per test run (per worker set), its result reused: a lock and a done marker in the shared
    folder (``YOLODECK_TEST_STATE`` keeps them across runs)."""
    from filelock import FileLock

    done = _SHARED / f".{name}.done"
    with FileLock(str(_SHARED / f".{name}.lock")):
        if done.is_file() and (_REUSE or _RUN):
            return Path(done.read_text())
        result = build()
        done.write_text(str(result))
        return Path(result)


@pytest.fixture(scope="session")
def tiny_data() -> Path:
    """synth-shelves at a size a 2-core test run can learn from in a minute (fewer, larger products)."""
    from training.data import synth_shelves

    return _built_once("tiny-data", lambda: synth_shelves.generate(
        _SHARED / "tiny-shelves", train=32, val=8, test=8, width=256, height=256, rows=(2, 3),
        product_width=(0.08, 0.14), seed=0, progress=False))


@pytest.fixture(scope="session")
def tiny_run(tiny_data: Path) -> Path:
    from training.train import train

    return _built_once("tiny-run", lambda: train(data=tiny_data, out=_SHARED / "runs" / "tiny", **TINY_TRAIN))


@pytest.fixture(scope="session")
def tiny_deck(tiny_run: Path, tiny_data: Path) -> Path:
    from training.deck import build_deck

    def build() -> Path:
        build_deck(tiny_run, data=tiny_data, out=_SHARED / "deck", threads=2, calibration=16, name="tiny-shelves",
                   latency_rounds=2)  # the tests read latencies, never time them: 2 rounds of 8 save ~25 s
        return _SHARED / "deck"

    return _built_once("tiny-deck", build)


@pytest.fixture(scope="session")
def demo_hub(tiny_deck: Path, state_dir: Path) -> tuple[Path, str]:
    """An embedded hub holding the tiny deck as acme/tiny (tags v1 and v2): (root, repo)."""
    import hub as hub_api

    root = state_dir / "app-hub"
    if not (root / "repos" / "models" / "acme" / "tiny").is_dir():
        hub_api.push(tiny_deck, repo="acme/tiny", tag="v1", endpoint=str(root))
        hub_api.push(tiny_deck, repo="acme/tiny", tag="v2", endpoint=str(root), message="same deck, second tag")
    return root, "acme/tiny"


@pytest.fixture(scope="session")
def demo_weights_hub() -> tuple[Path, str]:
    """A hub holding the committed demo weights as a one-variant deck (onnx-fp32; about 30 s to build, once per
    run): a model good enough for counts to be exact, which the suite's one-minute model is not."""
    import hub as hub_api
    from training.demo import build_demo_deck

    root, deck = _demo_weights_paths()

    def build() -> Path:
        build_demo_deck(deck, variants=["onnx-fp32"])
        hub_api.push(deck, repo="yolodeck/shelves-demo", endpoint=str(root))
        return root

    return _built_once(root.name, build), "yolodeck/shelves-demo"


@pytest.fixture(scope="session")
def demo_weights_deck(demo_weights_hub) -> Path:
    """The deck folder demo_weights_hub pushed (its test split in ``../demo-data``)."""
    return _demo_weights_paths()[1]


def _demo_weights_paths() -> tuple[Path, Path]:
    """(the hub, the deck folder) of the demo weights' test deck, named by the weights' digest: a state kept across
    runs (YOLODECK_TEST_STATE) rebuilds them when the weights change."""
    from hub.deck.manifest import sha256_of
    from training.demo import CHECKPOINT

    digest = sha256_of(CHECKPOINT)[:12]
    return _SHARED / f"demo-weights-hub-{digest}", _SHARED / f"demo-weights-{digest}" / "deck"


@pytest.fixture(scope="session")
def app_url(demo_hub, state_dir: Path):
    """The Gradio app serving acme/tiny from the demo hub, on loopback."""
    from tests.helpers.apps import ARTIFACTS, gradio_app, stop

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc, url = gradio_app(demo_hub[1], demo_hub[0], state_dir / "app-cache")
    yield url
    stop(proc)
