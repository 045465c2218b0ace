"""Deck builds over Redis: deck workers (``python -m training worker``) started here beside a real redis-server.
What they measure equals a local build exactly, with results coming back out of order; a worker SIGKILLed
mid-batch loses no batch; no worker is a clear error, not a wait without end."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hub.deck.manifest import Manifest
from tests.helpers.apps import wait_for
from tests.helpers.service import RedisServer
from training.data.layout import read_data_yaml, split_images
from training.measure import Measured, measure_deck

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs Debian's redis-server")
VARIANTS = ("onnx-fp32", "tflite-int8")


@pytest.fixture
def redis_url(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def deck_inputs(tiny_deck, tiny_data):
    manifest = Manifest.read(tiny_deck)
    files = {v.id: (tiny_deck / v.file, v.backend) for v in manifest.variants if v.ok and v.id in VARIANTS}
    assert set(files) == set(VARIANTS), manifest.variants
    test = split_images(read_data_yaml(tiny_data), "test")
    return files, test, manifest.classes, manifest.imgsz


@pytest.fixture(scope="module")
def local(deck_inputs) -> Measured:
    files, test, names, imgsz = deck_inputs
    return measure_deck(files, test, names, imgsz=imgsz, progress=False)


def _worker(url: str, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "training", "worker", "--redis", url, "--name", name],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})


def _stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        p.wait(timeout=30)


def _build_in_background(deck_inputs, url: str) -> tuple[threading.Thread, dict[str, Measured | BaseException]]:
    """measure_deck over the workers at ``url``, on a thread: (the thread, where its Measured or error lands)."""
    files, test, names, imgsz = deck_inputs
    result: dict[str, Measured | BaseException] = {}

    def build() -> None:
        try:
            result["m"] = measure_deck(files, test, names, imgsz=imgsz, progress=False, workers=url)
        except BaseException as exc:  # noqa: BLE001  (shown by the assertion below)
            result["m"] = exc

    builder = threading.Thread(target=build, daemon=True)
    builder.start()
    return builder, result


def _has_taken_a_batch(r, name: str) -> bool:
    return bool(r.exists("yolodeck:deck:jobs") and r.xpending_range(
        "yolodeck:deck:jobs", "deck-workers", min="-", max="+", count=1, consumername=name))


def test_two_workers_measure_what_a_local_build_measures(deck_inputs, local, redis_url):
    """Worker a is paused (SIGSTOP) as soon as it has taken a batch, until worker b has finished another: the
    results come back out of the order the batches were sent, and every figure equals the local build's."""
    import redis

    r = redis.Redis.from_url(redis_url)
    workers = [_worker(redis_url, "a")]
    try:
        builder, result = _build_in_background(deck_inputs, redis_url)
        assert wait_for(lambda: _has_taken_a_batch(r, "a"), 60, poll=0.005), "worker a never took a batch"
        os.kill(workers[0].pid, signal.SIGSTOP)
        left = r.xlen("yolodeck:deck:jobs")  # a finished batch leaves the stream
        workers.append(_worker(redis_url, "b"))
        assert wait_for(lambda: r.xlen("yolodeck:deck:jobs") < left, 60, poll=0.005), "b never finished a batch"
        os.kill(workers[0].pid, signal.SIGCONT)
        builder.join(timeout=120)
    finally:
        for w in workers:
            if w.poll() is None:
                os.kill(w.pid, signal.SIGCONT)
        _stop(*workers)
    assert not builder.is_alive(), "the build did not end"
    remote = result["m"]
    assert isinstance(remote, Measured), remote
    assert set(remote.metrics) == set(VARIANTS) and not remote.failed, remote.failed
    assert remote.metrics == local.metrics  # every figure, to the last bit
    assert remote.objects == local.objects and remote.objects is not None


def test_a_worker_killed_mid_batch_loses_no_batch(deck_inputs, local, redis_url):
    """The only worker is SIGKILLed while a batch it took is unfinished; a worker started after it claims that
    batch once its owner's mark is 5 s old, and the build ends with the local build's figures."""
    import redis

    victim = _worker(redis_url, "victim")
    builder, result = _build_in_background(deck_inputs, redis_url)
    r = redis.Redis.from_url(redis_url)
    assert wait_for(lambda: _has_taken_a_batch(r, "victim"), 60, poll=0.005), "the worker never took a batch"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    heir = _worker(redis_url, "heir")
    try:
        builder.join(timeout=120)
    finally:
        _stop(heir)
    assert not builder.is_alive(), "the build did not end"
    assert isinstance(result["m"], Measured), result["m"]
    assert result["m"].metrics == local.metrics and result["m"].objects == local.objects


def test_no_worker_is_a_clear_error(deck_inputs, redis_url):
    from training.batches import Batch
    from training.remote import run_remote

    files, test, names, imgsz = deck_inputs
    path, backend = files["onnx-fp32"]
    batch = Batch("onnx-fp32", str(path), backend, tuple(names), imgsz, tuple(str(p) for p in test[:2]))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="no deck worker answers on redis://127.0.0.1"):
        run_remote([batch], lambda _: None, url=redis_url, wait=1.0)
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_deck_cli_with_workers_writes_what_a_local_deck_cli_writes(tiny_run, tiny_data, redis_url, tmp_path):
    """``python -m training deck --workers`` end to end: the manifest's figures equal those of the same command
    run without it."""
    def deck(out: Path, *extra: str) -> dict:
        subprocess.run([sys.executable, "-m", "training", "deck", str(tiny_run), "--data", str(tiny_data), "--out",
                        str(out), "--variants", "onnx-fp32", "onnx-int8", "--calibration", "16", *extra], check=True,
                       capture_output=True, timeout=600)
        manifest = Manifest.read(out)
        return {"metrics": {v.id: v.metrics for v in manifest.variants}, "objects": manifest.objects}

    worker = _worker(redis_url, "cli")
    try:
        remote = deck(tmp_path / "remote", "--workers", redis_url)
    finally:
        _stop(worker)
    assert remote == deck(tmp_path / "local") and remote["metrics"]["onnx-fp32"] is not None


def test_deck_worker_needs_no_torch():
    """The worker's side (a host with only the runtime) imports no torch."""
    code = "import sys, training.remote, training.batches; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
