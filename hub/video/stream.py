"""A live source through the video pipeline: newest frame -> detect -> track -> count, until stopped.

One tracker and one set of counters live as long as the stream, across reconnects: track ids keep counting
up (a restarted tracker would hand out ids the counters already saw on the other side of a line: a double
count), and a track lost in the gap is found again by the tracker's own rule when the gap is short. A gap
longer than that rule (``lost_seconds``) is reported in :attr:`StreamReport.gaps`, not guessed across. Counts
are written once a second to the CSV, flushed, so a crash loses at most a second.
"""

from __future__ import annotations

import csv as csv_mod
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hub.runtime import Detections, Detector
from hub.runtime.detector import Tiles
from hub.runtime.shelf import shelf_report
from hub.video.counting import LineCounter, Point, ZoneCounter
from hub.video.facings import EmptyFacings, check_empty_class
from hub.video.live import LiveFrame, LiveSource
from hub.video.tracking import Tracker, score_plan


@dataclass
class StreamReport:
    frames: int  # processed (detected, tracked, counted)
    seconds: float
    status: dict[str, Any]  # the source's StreamStatus at the end
    lines: list[dict[str, dict[str, int]]] = field(default_factory=list)
    zones: list[dict[str, dict[str, int]]] = field(default_factory=list)
    lag_ms: dict[str, float] = field(default_factory=dict)  # p50, p95, max: decoded to counted
    gaps: list[dict[str, float]] = field(default_factory=list)  # {"at_s", "seconds"}: reconnects longer than kept
    dwell: list[dict[str, dict[str, float]]] = field(default_factory=list)  # per zone, per class: seconds inside
    facings: list[dict[str, Any]] = field(default_factory=list)  # with empty_after: the empty and refilled events


def process_stream(source: LiveSource, detector: Detector, *, lines: Sequence[tuple[Point, Point]] = (),
                   zones: Sequence[Sequence[Point]] = (), conf: float | str = 0.25, iou: float = 0.7,
                   classes: list[int] | None = None, tiles: Tiles = None, duration: float | None = None,
                   csv: str | Path | None = None, fps: float = 30.0, lost_seconds: float = 1.0,
                   on_second: Callable[[dict[str, Any]], None] | None = None,
                   on_frame: Callable[[LiveFrame, Detections], None] | None = None,
                   on_count: Callable[[list[dict[str, Any]], list[dict[str, Any]]], None] | None = None,
                   moving_camera: bool = True, empty_after: float | None = None,
                   on_facing: Callable[[dict[str, Any]], None] | None = None) -> StreamReport:
    """Count on ``source`` (started here if it is not yet) for ``duration`` seconds, or until it is stopped.
    ``on_second(row)`` gets the per-second row the CSV gets (a live status line); ``on_frame(frame, tracked)``
    every processed frame; ``on_count(lines, zones)`` the counts (as in the report) after each frame that
    changed them: a line crossed, an object entering a zone. ``empty_after``: the empty facings' events
    (:mod:`hub.video.facings`), each passed to ``on_facing`` as it happens; the row's ``empty_now`` and
    ``empty_share`` and ``empty_by_row`` (of the last frame: ``hub.runtime.shelf.ShelfReport.columns``)."""
    names = detector.names
    facings = EmptyFacings(hold=check_empty_class(empty_after, names)) if empty_after is not None else None
    low, activation, min_score = score_plan(conf, names, detector.thresholds)
    line_counters = [LineCounter(s, e, min_score=min_score) for s, e in lines]
    zone_counters = [ZoneCounter(list(p)) for p in zones]
    counters: list[LineCounter | ZoneCounter] = [*line_counters, *zone_counters]
    tracker = Tracker(fps=fps, lost_seconds=lost_seconds, activation=activation, moving_camera=moving_camera)
    if not source.running and source.status.state != "stopped":
        source.start()
    started = time.monotonic()
    lags: list[float] = []
    gaps: list[dict[str, float]] = []
    frames, last_segment, last_seen, next_row = 0, None, None, started + 1.0
    counted = (0, 0)  # crossings and zone entries so far: on_count is called when they change
    out = open(csv, "w", newline="") if csv else None  # noqa: SIM115  (closed below)
    table = None
    try:
        for frame in source.frames(duration=duration):
            if last_segment is not None and frame.segment != last_segment and last_seen is not None:
                gap = frame.decoded_at - last_seen
                if gap > lost_seconds:
                    gaps.append({"at_s": round(last_seen - started, 3), "seconds": round(gap, 3)})
            last_segment, last_seen = frame.segment, frame.decoded_at
            found = detector.detect(frame.image, conf=low, iou=iou, classes=classes, tiles=tiles)
            tracked = tracker.update(found, frame.image)
            for counter in counters:
                counter.update(tracked)
            if on_count:
                now = (sum(len(c.events) for c in line_counters), sum(sum(z.entered.values()) for z in zone_counters))
                if now != counted:
                    counted = now
                    on_count([c.counts(names) for c in line_counters], [z.counts(names) for z in zone_counters])
            if facings:
                for event in facings.update(tracked, frame.decoded_at - started):
                    if on_facing:
                        on_facing(event.to_dict())
            frames += 1
            lags.append((time.monotonic() - frame.decoded_at) * 1e3)
            if on_frame:
                on_frame(frame, tracked)
            if time.monotonic() >= next_row:
                row = _row(time.monotonic() - started, frames, lags, source, line_counters, zone_counters, names)
                if facings:
                    row["empty_now"] = facings.empty_now
                    row.update(shelf_report(tracked).columns())  # the frame just processed
                next_row += 1.0
                if out:
                    if table is None:
                        table = csv_mod.DictWriter(out, fieldnames=list(row), extrasaction="ignore")
                        table.writeheader()
                    table.writerow(row)
                    out.flush()
                if on_second:
                    on_second(row)
    finally:
        if out:
            out.close()
    lag = np.array(lags) if lags else np.zeros(1)
    seconds = time.monotonic() - started
    rate = frames / seconds if seconds > 0 and frames else fps  # frames processed a second: what dwell counts
    return StreamReport(frames, seconds, source.status.to_dict(),
                        [c.counts(names) for c in line_counters], [z.counts(names) for z in zone_counters],
                        {"p50": float(np.percentile(lag, 50)), "p95": float(np.percentile(lag, 95)),
                         "max": float(lag.max())}, gaps, [z.dwell(names, rate) for z in zone_counters],
                        [e.to_dict() for e in facings.events] if facings else [])


def _row(elapsed: float, frames: int, lags: list[float], source: LiveSource, lines: list[LineCounter],
         zones: list[ZoneCounter], names: list[str]) -> dict[str, Any]:
    s = source.status
    recent = lags[-30:] or [0.0]
    row = {"time_s": round(elapsed, 2), "state": s.state, "processed": frames, "source_fps": s.fps,
           "drops": s.drops, "reconnects": s.reconnects, "lag_ms": round(float(np.median(recent)), 1)}
    for k, line in enumerate(lines, 1):
        for way, per in line.counts(names).items():
            row[f"line{k}_{way}"] = sum(per.values())
    for k, zone in enumerate(zones, 1):
        for what, per in zone.counts(names).items():
            row[f"zone{k}_{what}"] = sum(per.values())
    return row
