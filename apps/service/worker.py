"""A model worker: pulls one variant of a deck through ``hub`` (offline from the cache), then runs jobs.

One process runs one Detector on one variant's stream. Scale out by starting more, on any host that
reaches the Redis: each takes jobs from the same consumer group. The worker renews a heartbeat
(what it serves, for ``/v1/models`` and ``/readyz``), claims jobs that a dead worker left, and
reconnects with backoff when Redis goes away.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from typing import Any

import redis

from apps.service.jobs import JobQueue, QueueRules, Taken
from apps.service.stream_runner import LockedDetector, StreamRunner
from apps.service.streams import StreamBoard
from hub.runtime import Detections, Detector
from hub.runtime.detector import DEFAULT_MAX_DET
from hub.runtime.shelf import shelf_report
from hub.runtime.tiles import parse_tiles

log = logging.getLogger("yolodeck.worker")


def result_of(found: Detections, *, queued_ms: float) -> dict[str, Any]:
    """The JSON a client reads: boxes in image pixels, counts per class, per-stage milliseconds."""
    w, h = found.image_size
    return {
        "image": {"width": int(w), "height": int(h)},
        "tiles": list(found.tiles),
        "detections": [{"xyxy": [round(float(v), 2) for v in box], "confidence": round(float(score), 5),
                        "class_id": int(cid), "class_name": name}
                       for box, score, cid, name in zip(found.xyxy, found.confidence, found.class_id,
                                                        found.class_names, strict=True)],
        "counts": found.counts(),
        "timing_ms": {"queue": round(queued_ms, 3), **{k: round(v, 3) for k, v in found.timing_ms.items()}},
    }


class Worker:
    """Serves ``variant`` of one deck from ``queue`` until :meth:`stop`."""

    def __init__(self, queue: JobQueue, detector: Detector, *, variant: str, info: dict[str, Any],
                 batch: int = 1, name: str | None = None, max_streams: int = 1) -> None:
        self.q, self.variant, self.batch = queue, variant, batch
        self.detector = LockedDetector(detector)  # the jobs' loop and the streams' threads share it
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.info = {**info, "name": self.name, "variant": variant, "host": socket.gethostname(),
                     "pid": os.getpid(), "started": time.time(), "max_streams": max_streams}
        self.done = 0
        self._stop = threading.Event()
        self.streams = StreamRunner(StreamBoard(queue), self.detector, variant=variant, name=self.name,
                                    capacity=max_streams, stop=self._stop) if max_streams > 0 else None

    def stop(self, *_: Any) -> None:
        self._stop.set()

    def run(self) -> None:
        """Take and run jobs until stopped; a lost Redis is retried with backoff (0.1 s doubling to 5 s)."""
        beats = threading.Thread(target=self._beat, daemon=True, name="heartbeat")
        beats.start()
        if self.streams:
            threading.Thread(target=self.streams.run, daemon=True, name="streams").start()
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self.q.join(self.variant)
                while not self._stop.is_set():
                    for taken in self.q.take(self.variant, self.name, count=self.batch, block_ms=500):
                        self.handle(taken)
                    backoff = 0.1
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("redis unreachable (%s); retrying in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(5.0, backoff * 2)
        try:
            self.q.leave(self.name)
        except redis.RedisError:
            pass

    def handle(self, taken: Taken) -> None:
        """Run one job: store its result, or leave it for another try, or dead-letter it."""
        limit = self.q.s.max_tries
        if taken.tries >= limit:  # its earlier runs all ended without an answer (a worker died in each)
            error = (self.q.job(taken.id) or {}).get("error") or "its worker stopped while running it"
            self.q.fail(self.variant, taken, error, taken.tries)
            return
        tries = self.q.start(taken, self.name)
        data, params = self.q.image(taken.id)
        state = self.q.job(taken.id) or {}
        try:
            if data is None:
                raise ValueError("the job's image is gone (expired)")
            if params.get("kind") == "video":
                result = self.video(taken, data, params)
                self.q.finish(self.variant, taken, result)
                self.done += 1
                return
            found = self.detector.detect(data, conf=params.get("conf", "best"), iou=params.get("iou", 0.7),
                                         classes=params.get("classes"),
                                         max_det=params.get("max_det", DEFAULT_MAX_DET),
                                         tiles=parse_tiles(params.get("tiles", "off")))
        except Exception as exc:  # noqa: BLE001  (any failure of one job is that job's error, not the worker's)
            error = f"{type(exc).__name__}: {exc}"
            log.warning("job %s try %d failed: %s", taken.id, tries, error)
            if tries >= limit:
                self.q.fail(self.variant, taken, error, tries)
            else:
                self.q.retry_later(taken, error)
            return
        queued_ms = max(0.0, (state.get("started", time.time()) - state.get("submitted", time.time())) * 1000)
        result = result_of(found, queued_ms=queued_ms)
        if params.get("analysis") == "shelf":
            result["shelf"] = shelf_report(found).to_dict()
        result.update(variant=self.variant, repo=self.info.get("repo"), commit=self.info.get("commit"),
                      worker=self.name)
        self.q.finish(self.variant, taken, result)
        self.done += 1

    def video(self, taken: Taken, data: bytes, params: dict[str, Any]) -> dict[str, Any]:
        """A video job: track and count (``hub.video``), store the annotated clip and the CSV beside the result."""
        import tempfile
        from pathlib import Path

        from hub.video import process_video

        last = [time.monotonic()]

        def keep_claimed(*_: Any) -> None:  # a long job must not look abandoned to the other workers
            if time.monotonic() - last[0] > self.q.s.claim_after / 3:
                self.q.touch(self.variant, taken, self.name)
                last[0] = time.monotonic()

        with tempfile.TemporaryDirectory(prefix="yolodeck-video-") as tmp:
            clip = Path(tmp) / f"in{params.get('suffix', '.mp4')}"
            clip.write_bytes(data)
            report = process_video(clip, self.detector, lines=[tuple(map(tuple, ln)) for ln in params.get("lines", [])],
                                   zones=params.get("zones", []), out=Path(tmp) / "out.mp4", csv=Path(tmp) / "counts.csv",
                                   conf=params.get("conf", 0.25), iou=params.get("iou", 0.7),
                                   every=params.get("every", 1), progress=False, on_frame=keep_claimed)
            self.q.store_file(taken.id, "video.mp4", (Path(tmp) / "out.mp4").read_bytes())
            self.q.store_file(taken.id, "counts.csv", (Path(tmp) / "counts.csv").read_bytes())
        return {"kind": "video", "frames": report.frames, "fps": report.fps, "lines": report.lines,
                "zones": report.zones, "seconds": round(report.seconds, 3),
                "files": {"video": f"/v1/jobs/{taken.id}/video.mp4", "csv": f"/v1/jobs/{taken.id}/counts.csv"},
                "variant": self.variant, "repo": self.info.get("repo"), "commit": self.info.get("commit"),
                "worker": self.name}

    def _beat(self) -> None:
        while not self._stop.is_set():
            try:
                self.q.beat(self.name, {**self.info, "done": self.done})
            except redis.RedisError:
                pass
            self._stop.wait(self.q.s.heartbeat_ttl / 3)


def serve(redis_url: str, repo: str, *, revision: str = "main", variant: str | None = None,
          endpoint: str | None = None, threads: int = 1, batch: int = 1, rules: QueueRules | None = None,
          max_streams: int = 1) -> None:
    """``python -m apps.service worker``: pull, load, then serve until SIGTERM/SIGINT."""
    from hub.api import VariantQuery, open_deck
    from hub.base import offline

    offline.configure()
    deck = open_deck(repo, revision=revision, endpoint=endpoint)
    manifest = deck.manifest
    chosen = (VariantQuery(variant=variant).one(manifest) if variant and variant != "auto"
              else deck.default_variant(threads=threads))
    detector = deck.load(VariantQuery(variant=chosen.id), threads=threads, busy_wait=False)
    info = {"repo": repo, "revision": revision, "commit": deck.commit, "backend": chosen.backend,
            "precision": chosen.precision, "threads": threads, "classes": manifest.classes, "imgsz": manifest.imgsz,
            "deck": [{"id": v.id, "backend": v.backend, "precision": v.precision,
                      "map50": round(v.metrics.map50, 4) if v.metrics else None,
                      "latency_ms": round(v.latency_ms.median, 2) if v.latency_ms else None}
                     for v in manifest.available]}
    queue = JobQueue.connect(redis_url, rules) if rules else JobQueue.connect(redis_url)
    worker = Worker(queue, detector, variant=chosen.id, info=info, batch=batch, max_streams=max_streams)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    log.info("worker %s serves %s@%s %s", worker.name, repo, deck.commit[:8], chosen.id)
    print(f"worker {worker.name}: {repo}@{deck.commit[:8]} {chosen.id} ({chosen.backend} {chosen.precision}), "
          f"{threads} thread(s)", flush=True)
    worker.run()
