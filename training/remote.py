"""A deck build's batches on other hosts: Redis carries them to ``python -m training worker`` processes.

The builder (:func:`run_remote`) stores each variant file once, content-addressed, and each :class:`Batch` as a
job that holds its images and their labels, so a worker needs no shared disk: only Redis and the runtime (no
torch). Jobs wait in one Redis stream read by a consumer group. A worker marks the entry it runs as alive every
second (an XCLAIM of its own entry resets its idle time), and an entry idle for ``CLAIM_AFTER`` s (its worker
died) is claimed by the next worker that looks, so a dead worker loses no batch; a batch that ends twice is
taken once. Predictions come back as arrays (``np.savez``, never pickle) on the build's own list.

The service's workers do not run these: the service layer may not import training (the layers' arrows), and
a batch is evaluation work the service has no notion of. Both share one Redis and its key prefix.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from hub.deck.manifest import sha256_of
from training.batches import Batch, Predictions, run_batch

PREFIX = "yolodeck:deck"
GROUP = "deck-workers"
CLAIM_AFTER = 5.0  # seconds an entry may go without its worker's mark before another worker claims it
TTL = 24 * 3600  # seconds the shipped files and jobs stay in Redis, should a build be abandoned
NO_WORKER_AFTER = 15.0  # seconds without any live worker before a build gives up


def _key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


def _connect(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=10)


def _join(r) -> None:
    import redis

    try:
        r.xgroup_create(_key("jobs"), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def workers(r) -> list[str]:
    """The workers alive now (each renews its mark every second)."""
    return sorted(k.decode().rsplit(":", 1)[-1] for k in r.scan_iter(_key("worker", "*")))


# --- predictions as bytes ---------------------------------------------------------------------------------------

def encode(pred: Predictions) -> bytes:
    arrays: dict[str, np.ndarray] = {"sizes": np.array(pred.sizes, np.int64).reshape(-1, 2)}
    for i, (xyxy, scores, cls) in enumerate(pred.boxes):
        arrays.update({f"xyxy{i}": xyxy, f"scores{i}": scores, f"cls{i}": cls})
    for i, lab in enumerate(pred.labels):
        arrays[f"labels{i}"] = lab
    for i, cut in enumerate(pred.crowd or []):
        arrays[f"crowd{i}"] = cut
    meta = {"views": len(pred.boxes), "truths": len(pred.labels), "crowd": pred.crowd is not None,
            "seconds": pred.seconds, "error": pred.error}
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    return buf.getvalue()


def decode(data: bytes, batch: Batch) -> Predictions:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes())
        boxes = [(z[f"xyxy{i}"], z[f"scores{i}"], z[f"cls{i}"]) for i in range(meta["views"])]
        labels = [z[f"labels{i}"] for i in range(meta["truths"])]
        crowd = [z[f"crowd{i}"] for i in range(meta["truths"])] if meta["crowd"] else None
        sizes = [tuple(int(v) for v in s) for s in z["sizes"]]
    return Predictions(batch, boxes, labels, crowd, sizes, meta["seconds"], meta["error"])


# --- the builder's side -----------------------------------------------------------------------------------------

def run_remote(batches: list[Batch], on_result: Callable[[Predictions], None], *, url: str,
               wait: float = NO_WORKER_AFTER) -> None:
    """Run ``batches`` on the deck workers reading ``url``, calling ``on_result`` here as each comes back.

    Raises:
        RuntimeError: no worker is running there (none for ``wait`` s, at the start or later).
    """
    from training.data.layout import label_path

    r, build = _connect(url), uuid.uuid4().hex[:12]
    _join(r)
    _wait_for_workers(r, url, wait)
    shas: dict[str, str] = {}
    for file in dict.fromkeys(b.file for b in batches):
        shas[file] = sha256_of(Path(file))
        if not r.set(_key("file", shas[file]), Path(file).read_bytes(), ex=TTL, nx=True):
            r.expire(_key("file", shas[file]), TTL)  # shipped by an earlier build: kept as long as this one
    images = {p: i for i, p in enumerate(dict.fromkeys(p for b in batches for p in b.images))}
    for image, i in images.items():  # each image once, however many variants and zooms read it
        labels = label_path(Path(image))
        key = _key("image", build, str(i))
        pipe = r.pipeline()
        pipe.hset(key, mapping={"image": Path(image).read_bytes(), "suffix": Path(image).suffix,
                                "labels": labels.read_bytes() if labels.is_file() else b""})
        pipe.expire(key, TTL)
        pipe.execute()
    for n, batch in enumerate(batches):
        spec = {**asdict(batch), "file": shas[batch.file], "file_name": Path(batch.file).name,
                "images": [images[p] for p in batch.images]}
        pipe = r.pipeline()
        pipe.set(_key("job", build, str(n)), json.dumps(spec), ex=TTL)
        pipe.xadd(_key("jobs"), {"build": build, "job": str(n)})
        pipe.execute()
    done: set[int] = set()
    quiet_since = time.monotonic()
    try:
        while len(done) < len(batches):
            got = r.blpop([_key("done", build)], timeout=1)
            if got is None:
                if workers(r):
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > wait:
                    raise RuntimeError(f"every deck worker on {shown(url)} is gone with {len(batches) - len(done)} "
                                       f"batches left: start `python -m training worker --redis URL` again")
                continue
            n, data = int(got[1][:12].decode()), got[1][12:]
            if n in done:  # a worker thought dead finished it too
                continue
            done.add(n)
            on_result(decode(data, batches[n]))
    finally:
        r.delete(_key("done", build), *(_key("job", build, str(n)) for n in range(len(batches))),
                 *(_key("image", build, str(i)) for i in images.values()))


def _wait_for_workers(r, url: str, wait: float) -> None:
    end = time.monotonic() + wait
    while not workers(r):
        if time.monotonic() > end:
            raise RuntimeError(f"no deck worker answers on {shown(url)}: start `python -m training worker "
                               f"--redis URL` on the hosts that should run the batches")
        time.sleep(0.5)


def shown(url: str) -> str:
    """``url`` with its password hidden, as printed and raised."""
    from hub.video.live import redact

    return redact(url)


# --- the worker's side ------------------------------------------------------------------------------------------

class DeckWorker:
    """Takes batches from the stream and runs them, one at a time, with a ``threads``-thread detector."""

    def __init__(self, url: str, *, name: str | None = None, threads: int = 1, cache: Path | None = None) -> None:
        self.r, self.threads = _connect(url), threads
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.cache = cache or Path(tempfile.mkdtemp(prefix="yolodeck-deck-worker-"))
        self.stop = threading.Event()
        self.current: str | None = None  # the stream entry being run
        self.ran = 0

    def serve(self, *, max_jobs: int | None = None) -> None:
        """Run batches until :attr:`stop` is set (or ``max_jobs`` have run)."""
        import redis

        _join(self.r)
        beat = threading.Thread(target=self._beat, daemon=True)
        beat.start()
        try:
            while not self.stop.is_set() and (max_jobs is None or self.ran < max_jobs):
                try:
                    entry = self._take()
                    if entry is not None:
                        self._run(*entry)
                except redis.ConnectionError as exc:  # Redis restarting: the entry stays pending, claimed later
                    print(f"deck worker {self.name}: redis unreachable ({exc}); trying again", flush=True)
                    self.stop.wait(1.0)
        finally:
            self.stop.set()
            self.r.delete(_key("worker", self.name))

    def _beat(self) -> None:
        """Every second: this worker is alive, and so is the entry it runs (its idle time starts again)."""
        import redis

        while True:
            try:
                self.r.set(_key("worker", self.name), self.current or "", ex=round(CLAIM_AFTER))
                if self.current:
                    self.r.xclaim(_key("jobs"), GROUP, self.name, 0, [self.current], justid=True)
            except redis.RedisError:  # Redis away for a moment: the entry may be claimed; taken once either way
                pass
            if self.stop.wait(1.0):
                return

    def _take(self) -> tuple[str, dict] | None:
        stream = _key("jobs")
        _, claimed, _ = self.r.xautoclaim(stream, GROUP, self.name, int(CLAIM_AFTER * 1000), "0-0", count=1)
        entries = [(e, f) for e, f in claimed if f]
        if not entries:
            got = self.r.xreadgroup(GROUP, self.name, {stream: ">"}, count=1, block=1000)
            entries = [(e, f) for _, items in got for e, f in items]
        if not entries:
            return None
        entry, fields = entries[0]
        return entry.decode(), {k.decode(): v.decode() for k, v in fields.items()}

    def _run(self, entry: str, fields: dict) -> None:
        self.current = entry
        build, n = fields["build"], fields["job"]
        try:
            raw = self.r.get(_key("job", build, n))
            if raw:  # else: the build is over or abandoned; nothing to run, nobody to answer
                result = self._batch(build, json.loads(raw))
                pipe = self.r.pipeline()
                pipe.rpush(_key("done", build), f"{int(n):012d}".encode() + encode(result))
                pipe.expire(_key("done", build), TTL)
                pipe.execute()
            self.r.xack(_key("jobs"), GROUP, entry)
            self.r.xdel(_key("jobs"), entry)
        finally:
            self.current = None
            self.ran += 1

    def _batch(self, build: str, spec: dict) -> Predictions:
        """Run one job here; what goes wrong comes back as the batch's error, and the worker goes on."""
        folder = Path(tempfile.mkdtemp(dir=self.cache))
        try:
            model = self._model(spec["file"], spec.pop("file_name"))
            images = tuple(self._image(build, i, folder) for i in spec["images"])
            batch = Batch(**{**spec, "file": str(model), "names": tuple(spec["names"]), "images": images})
            return run_batch(batch, self.threads)
        except (KeyError, TypeError, ValueError, OSError) as exc:
            return Predictions(Batch("?", "", "", (), 0, ()), [], [], None, [], error=f"{type(exc).__name__}: {exc}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _model(self, sha: str, name: str) -> Path:
        """The variant's file, from this worker's cache or from Redis, checked against its sha256."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha) or Path(name).name != name or not name:
            raise ValueError(f"a job names the file {sha!r} / {name!r}: not a sha256 and a file name")
        model = self.cache / "files" / sha / name
        if not model.is_file():
            data = self.r.get(_key("file", sha))
            if data is None:
                raise FileNotFoundError(f"the variant's file {sha[:12]} is no longer in Redis")
            if hashlib.sha256(data).hexdigest() != sha:
                raise ValueError(f"the variant's file {sha[:12]} in Redis does not match its sha256")
            model.parent.mkdir(parents=True, exist_ok=True)
            part = model.with_name(model.name + ".part")
            part.write_bytes(data)
            part.replace(model)
        return model

    def _image(self, build: str, i: int, folder: Path) -> str:
        """Image ``i`` of the build and its labels, written in Ultralytics' layout under ``folder``."""
        data, suffix, labels = self.r.hmget(_key("image", build, str(int(i))), "image", "suffix", "labels")
        if data is None:
            raise FileNotFoundError(f"image {i} of build {build} is no longer in Redis")
        suffix = suffix.decode() if re.fullmatch(rb"\.[A-Za-z0-9]{1,5}", suffix or b"") else ".jpg"
        image = folder / "images" / "test" / f"{int(i):05d}{suffix}"
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(data)
        (folder / "labels" / "test").mkdir(parents=True, exist_ok=True)
        (folder / "labels" / "test" / f"{int(i):05d}.txt").write_bytes(labels or b"")
        return str(image)
