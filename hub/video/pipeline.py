"""Video in, counts and an annotated video out: read -> detect -> track -> count -> annotate -> write.

``process_video(path, detector, lines=[...], zones=[...], out="out.mp4", csv="counts.csv")``. Frames
are decoded on a thread ahead of the model; the annotated video and the CSV (one row per frame) are
written to temporary files and renamed into place only when the whole clip went through.
"""

from __future__ import annotations

import contextlib
import csv as csv_mod
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hub.runtime import BoxAnnotator, Detections, Detector
from hub.runtime.detector import Tiles
from hub.runtime.shelf import shelf_report
from hub.video.counting import LineCounter, Point, ZoneCounter
from hub.video.facings import EmptyFacings, check_empty_class
from hub.video.io import VideoWriter, read_frames, video_info
from hub.video.tracking import Tracker, score_plan

WHITE, BLACK, LINE_RGB, ZONE_RGB = (255, 255, 255), (0, 0, 0), (255, 64, 160), (64, 200, 255)


@dataclass
class VideoReport:
    frames: int
    fps: float  # the input's rate (the output keeps it)
    seconds: float  # wall time of the whole run
    lines: list[dict[str, dict[str, int]]] = field(default_factory=list)
    zones: list[dict[str, dict[str, int]]] = field(default_factory=list)
    out: Path | None = None
    csv: Path | None = None
    dwell: list[dict[str, dict[str, float]]] = field(default_factory=list)  # per zone, per class: seconds inside
    facings: list[dict[str, Any]] = field(default_factory=list)  # with empty_after: FacingEvent.to_dict() in time order

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def check_inside(points: Sequence[Point], width: int, height: int, what: str) -> None:
    for x, y in points:
        if not (0 <= x <= width and 0 <= y <= height):
            raise ValueError(f"the {what} point ({x:g}, {y:g}) is outside the {width}x{height} frame")


def check_geometry(lines: Sequence[Sequence[Point]], zones: Sequence[Sequence[Point]], width: int,
                   height: int) -> None:
    """ValueError naming the first line or zone point outside a ``width`` x ``height`` frame."""
    for start, end in lines:
        check_inside([start, end], width, height, "line")
    for polygon in zones:
        check_inside(polygon, width, height, "zone")


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, BLACK, 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, WHITE, 1, cv2.LINE_AA)


def draw(frame: np.ndarray, tracked: Detections, lines: list[LineCounter], zones: list[ZoneCounter],
         names: list[str]) -> np.ndarray:
    """Boxes with track ids, each line and zone, and the running counts."""
    out = BoxAnnotator().annotate(frame, tracked)
    scale = max(0.35, min(out.shape[:2]) / 900)
    if tracked.tracker_id is not None:
        for (x1, y1, _, _), tid in zip(tracked.xyxy.astype(int), tracked.tracker_id.tolist(), strict=True):
            _text(out, f"#{tid}", (int(x1), max(10, int(y1) - 3)), scale * 0.8)
    rows = []
    for k, line in enumerate(lines):
        cv2.line(out, tuple(int(v) for v in line.start), tuple(int(v) for v in line.end), LINE_RGB, 2, cv2.LINE_AA)
        c = line.counts(names)
        rows.append(f"line {k + 1}: in {sum(c['in'].values())}  out {sum(c['out'].values())}")
    for k, zone in enumerate(zones):
        cv2.polylines(out, [zone.polygon.astype(np.int32)], True, ZONE_RGB, 2, cv2.LINE_AA)
        c = zone.counts(names)
        rows.append(f"zone {k + 1}: now {sum(c['now'].values())}  entered {sum(c['entered'].values())}")
    for i, row in enumerate(rows):
        _text(out, row, (8, int(22 * scale / 0.5 * (i + 1))), scale)
    return out


def _row(i: int, fps: float, tracked: Detections, lines: list[LineCounter], zones: list[ZoneCounter],
         names: list[str]) -> dict[str, float | int | str]:
    row: dict[str, float | int | str] = {"frame": i, "time_s": round(i / fps, 4)}
    row.update({f"seen_{n}": v for n, v in tracked.counts().items()})
    for k, line in enumerate(lines, 1):
        for way, per in line.counts(names).items():
            row.update({f"line{k}_{way}_{n}": v for n, v in per.items()})
    for k, zone in enumerate(zones, 1):
        for what, per in zone.counts(names).items():
            row.update({f"zone{k}_{what}_{n}": v for n, v in per.items()})
    return row


def process_video(source: str | Path, detector: Detector, *, lines: Sequence[tuple[Point, Point]] = (),
                  zones: Sequence[Sequence[Point]] = (), out: str | Path | None = None, csv: str | Path | None = None,
                  conf: float | str = 0.25, iou: float = 0.7, classes: list[int] | None = None, tiles: Tiles = None,
                  every: int = 1, max_frames: int | None = None, progress: bool = True,
                  on_frame: Callable[[int, Detections], None] | None = None, moving_camera: bool = True, empty_after: float | None = None) -> VideoReport:
    """Run the whole clip; the final counts are in the report, per frame in ``csv``; ``on_frame(index, tracked)``
    is called for every frame (a live view, a chart, a benchmark's scorer). ``conf`` is a number or "best" (each
    class's threshold from the deck); ``moving_camera=False`` skips measuring the camera's motion.
    ``empty_after``: report a place on the shelf that stayed empty that many seconds, and its refill
    (:mod:`hub.video.facings`; the deck needs an ``empty`` class), in the report and the CSV's ``empty_now``
    (places empty that long), ``empty_share`` (of the shelves' width, in that frame) and ``empty_by_row``
    (``hub.runtime.shelf.ShelfReport.columns``).

    Raises:
        InvalidVideoError: not a video, no frames, or undecodable (nothing is written).
        ValueError: a line or zone point outside the frame, ``every`` < 1, or ``empty_after`` with a deck that
            has no ``empty`` class.
    """
    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")
    names = detector.names
    facings = EmptyFacings(hold=check_empty_class(empty_after, names)) if empty_after is not None else None
    info = video_info(source)
    check_geometry(lines, zones, info.width, info.height)
    low, activation, min_score = score_plan(conf, names, detector.thresholds)
    line_counters = [LineCounter(s, e, min_score=min_score) for s, e in lines]
    zone_counters = [ZoneCounter(list(p)) for p in zones]
    counters: list[LineCounter | ZoneCounter] = [*line_counters, *zone_counters]
    tracker = Tracker(fps=info.fps / every, activation=activation, moving_camera=moving_camera)
    csv_path = Path(csv) if csv else None
    csv_tmp = csv_path.with_name(f".{csv_path.name}.{os.getpid()}.part") if csv_path else None
    started, n = time.perf_counter(), 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=info.frames or None, unit="frame", desc=Path(source).name)
    writer = VideoWriter(out, fps=info.fps, size=(info.width, info.height)) if out else None
    tracked = Detections.empty(names, (info.width, info.height))
    tracked.tracker_id = np.zeros(0, np.int64)
    rows: list[dict[str, Any]] = []
    try:
        with writer if writer else contextlib.nullcontext():
            for n, frame in enumerate(read_frames(source)):
                if max_frames is not None and n >= max_frames:
                    break
                if n % every == 0:
                    found = detector.detect(frame, conf=low, iou=iou, classes=classes, tiles=tiles)
                    tracked = tracker.update(found, frame)
                    for counter in counters:
                        counter.update(tracked)
                    if facings:
                        facings.update(tracked, n / info.fps)
                rows.append(_row(n, info.fps, tracked, line_counters, zone_counters, names))
                if facings:
                    rows[-1]["empty_now"] = facings.empty_now
                    rows[-1].update(shelf_report(tracked).columns())
                if on_frame:
                    on_frame(n, tracked)
                if writer:
                    writer.write(draw(frame, tracked, line_counters, zone_counters, names))
                if bar:
                    bar.update(1)
        if csv_tmp and csv_path:
            with open(csv_tmp, "w", newline="") as fh:
                w = csv_mod.DictWriter(fh, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
            os.replace(csv_tmp, csv_path)
    finally:
        if bar:
            bar.close()
        if csv_tmp:
            csv_tmp.unlink(missing_ok=True)
    return VideoReport(len(rows), info.fps, time.perf_counter() - started,
                       [c.counts(names) for c in line_counters], [z.counts(names) for z in zone_counters],
                       Path(out) if out else None, csv_path,
                       [z.dwell(names, info.fps / every) for z in zone_counters],
                       [e.to_dict() for e in facings.events] if facings else [])
