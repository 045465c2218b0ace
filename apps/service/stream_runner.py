"""A worker's live streams: claims streams from the board up to its capacity, runs each on a thread through
``hub.video.stream.process_stream``, renews their leases, stores counts at every change and status every second.

A stream another worker left (its lease expired: the worker died) is claimed like a new one and goes on from
the counts stored with its last change: a crossing is stored when it is counted, so a worker's death loses
none. What the camera shows while no worker reads it (the lease, then the reconnect: a few seconds) is not
seen by anyone; the stream's ``handovers`` says how often that happened.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

from apps.service.streams import StreamBoard, StreamSpec

log = logging.getLogger("yolodeck.streams")
FIRST_FRAME_S = 30.0  # a source that sends no frame this long after it is claimed fails, with the reason


class LockedDetector:
    """One Detector shared by the worker's jobs and its streams' threads: one call at a time (not every
    runtime's session may be called from two threads at once), the rest read through."""

    def __init__(self, detector: Any) -> None:
        self._detector, self._lock = detector, threading.Lock()

    def detect(self, *args: Any, **kw: Any) -> Any:
        with self._lock:
            return self._detector.detect(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)


def _merged(base: list[dict] | None, now: list[dict]) -> list[dict]:
    """Counts ``now`` on top of those a stream had before this worker took it (``base``; same shape)."""
    if not base:
        return now
    out = []
    for b, n in zip(base, now, strict=False):
        out.append({what: {name: int(b.get(what, {}).get(name, 0)) + v if what != "now" else v
                           for name, v in per.items()} for what, per in n.items()})
    return out


class StreamRunner:
    """Runs up to ``capacity`` streams for the worker ``name`` serving ``variant``, until ``stop`` is set."""

    def __init__(self, board: StreamBoard, detector: Any, *, variant: str, name: str, capacity: int,
                 stop: threading.Event) -> None:
        self.board, self.detector, self.variant, self.name = board, detector, variant, name
        self.capacity, self._stop = capacity, stop
        self.mine: dict[str, Any] = {}  # stream id -> its LiveSource (None while it opens)

    def run(self) -> None:
        """Claim, renew and reap twice a second; a lost Redis is retried."""
        while not self._stop.is_set():
            try:
                self._tick()
            except redis.RedisError as exc:
                log.warning("streams: redis unreachable (%s)", exc)
            self._stop.wait(0.5)
        for source in list(self.mine.values()):
            if source is not None:
                source.stop()

    def _tick(self) -> None:
        for sid, source in list(self.mine.items()):
            if not self.board.renew(sid, self.name):  # taken for dead: another worker has it now
                log.warning("stream %s: lease lost; stopping here", sid)
                if source is not None:
                    source.stop()
                continue
            got = self.board.entry(sid)
            if source is not None and (got is None or got.stopping):  # DELETE asked: seen even while it stalls
                source.stop()
        for sid in self.board.ids():
            if len(self.mine) >= self.capacity:
                break
            if sid in self.mine:
                continue
            got = self.board.entry(sid)
            if got is None or got.stopping or (got.spec.variant and got.spec.variant != self.variant):
                continue
            if self.board.claim(sid, self.name):
                self.mine[sid] = None
                threading.Thread(target=self._serve, args=(sid, got.spec, got.state), daemon=True,
                                 name=f"stream-{sid}").start()

    def _first_frame(self, sid: str, source: Any, state: dict[str, Any]) -> Any:
        """The source's first frame, waiting up to ``FIRST_FRAME_S`` in one-second slices that store its status (a
        camera that does not answer shows as connecting, with the reason) and look for a stop; None if stopped."""
        from hub.base.errors import InvalidVideoError

        deadline = time.monotonic() + FIRST_FRAME_S
        while time.monotonic() < deadline:
            frame = source.next_frame(timeout=1.0)
            if frame is not None:
                return frame
            got = self.board.entry(sid)
            if got is None or got.stopping or self._stop.is_set():
                return None
            status = source.status.to_dict()
            state.update(state=status["state"], status={k: status.get(k) for k in ("reconnects", "drops")},
                         error=status.get("error"))
            self.board.save(sid, state)
        raise InvalidVideoError(f"no frame in {FIRST_FRAME_S:g} s ({source.status.error or 'no data'})")

    def _serve(self, sid: str, spec: StreamSpec, before: dict[str, Any]) -> None:
        from hub.base.errors import InvalidVideoError
        from hub.video.live import LiveSource
        from hub.video.pipeline import check_geometry
        from hub.video.stream import process_stream

        base = before.get("counts") or {}
        handovers = int(before.get("handovers", 0)) + (1 if before.get("worker") else 0)
        state: dict[str, Any] = {"state": "connecting", "worker": self.name, "handovers": handovers,
                                 "counts": base or None, "status": None, "error": None, "started": time.time()}
        if spec.empty_after:  # a worker taking over finds the empty places again: only the past events carry over
            state["facings"] = {"empty_now": 0, "events": (before.get("facings") or {}).get("events", [])}
        lines = [tuple(map(tuple, ln)) for ln in spec.lines]
        interval = 1.0 / spec.max_fps if spec.max_fps else 0.0
        last = [0.0]

        def on_count(line_counts: list[dict], zone_counts: list[dict]) -> None:
            state["counts"] = {"lines": _merged(base.get("lines"), line_counts),
                               "zones": _merged(base.get("zones"), zone_counts)}
            self.board.save(sid, state, {"event": "counts", **state["counts"]})

        def on_facing(event: dict) -> None:
            facings = state.get("facings") or {"empty_now": 0, "events": []}
            facings["events"] = [*facings["events"], event][-50:]
            facings["empty_now"] += 1 if event["kind"] == "empty" else -1
            state["facings"] = facings
            self.board.save(sid, state, {"event": "facing", **event})

        def on_second(row: dict) -> None:
            state.update(state="live" if row["state"] == "live" else row["state"],
                         status={k: row[k] for k in ("source_fps", "processed", "drops", "reconnects", "lag_ms")})
            if "empty_share" in row and state.get("facings") is not None:
                state["facings"]["empty_share"] = row["empty_share"]
            self.board.save(sid, state)

        def on_frame(*_: Any) -> None:  # max_fps: hold the next take (the reader keeps only the newest frame then)
            wait = interval - (time.monotonic() - last[0])
            if wait > 0:
                time.sleep(wait)
            last[0] = time.monotonic()

        try:
            source = LiveSource(spec.source, max_lag=0.0 if interval else spec.max_lag)
            self.mine[sid] = source
            self.board.save(sid, state, {"event": "claimed", "worker": self.name, "handovers": handovers})
            source.start()
            first = self._first_frame(sid, source, state)
            if first is None:  # stopped before it ever sent a frame
                self.board.end(sid, "stopped", worker=self.name)
                return
            h, w = first.image.shape[:2]
            check_geometry(lines, spec.zones, w, h)
            process_stream(source, self.detector, lines=lines, zones=spec.zones, conf=spec.conf, iou=spec.iou,
                           on_second=on_second, on_count=on_count, on_frame=on_frame if interval else None,
                           empty_after=spec.empty_after, on_facing=on_facing)
            if self._stop.is_set() or not self.board.renew(sid, self.name):
                return  # this worker is going (or lost the lease): another one goes on with the stream
            self.board.end(sid, "stopped", worker=self.name)
        except (InvalidVideoError, ValueError) as exc:
            self.board.end(sid, "failed", str(exc), worker=self.name)
        except redis.RedisError as exc:
            log.warning("stream %s: redis unreachable (%s); left for the next claim", sid, exc)
        except Exception as exc:  # noqa: BLE001  (one stream's failure ends that stream, not the worker)
            log.exception("stream %s failed", sid)
            self.board.end(sid, "failed", f"{type(exc).__name__}: {exc}", worker=self.name)
        finally:
            if self.mine.get(sid) is not None:
                self.mine[sid].stop()
            self.mine.pop(sid, None)
