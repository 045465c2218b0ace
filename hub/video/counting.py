"""Counting tracked objects: across a line (in/out per class) and inside a zone (occupancy per frame).

Written here, not taken from supervision's ``LineZone``, because the failure modes its issues report
(#210, #2578, #2598: a box flickering on the line counted again and again, a track lost and found
counted twice, a reused id counted for an object that never crossed) are what a shop's counts must
not do. The rules, per tracked object (its box centre):

- A side counts only beyond ``margin`` pixels from the line and within the segment's span, and only
  once the object has stayed there ``min_frames`` frames: jitter on the line is no evidence.
- A crossing is a change of that settled side: counted once, at the frame it settles.
- A new track id that appears within one box size of where a recently lost track (same class, lost
  under ``rejoin_frames`` ago) was last seen continues that track's history (the tracker lost it).
- A known id whose box jumps farther than ``max_jump`` box sizes is a different object (the tracker
  reused the id): its history starts again.
- Two tracks on one object (a split or doubled box) cross together: a crossing whose box overlaps one
  just counted the same way is not counted again.
- A crossing counts only for a track whose boxes' mean score so far is at least ``min_score`` (the
  apps pass their ``conf``): a track that a confident box started and a run of weak boxes carried (ByteTrack
  keeps boxes down to a third of ``conf`` to hold identities) is no evidence of an object. On the pans of
  ``make bench-video`` such tracks were the model's false boxes on bare shelf, 5-12% of the crossings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from hub.runtime.detections import Detections
from hub.runtime.ops import box_iou

Point = tuple[float, float]


def parse_line(text: str | None, width: int, height: int) -> tuple[Point, Point]:
    """A counting line from ``"x1,y1,x2,y2"`` in the frame's pixels; empty: a vertical line through the middle.
    ValueError (naming the problem) for anything else, or a line that leaves the ``width`` x ``height`` frame."""
    if not (text or "").strip():
        return (width / 2, 0.0), (width / 2, float(height))
    try:
        x1, y1, x2, y2 = (float(v) for v in str(text).replace(" ", "").split(","))
    except ValueError:
        raise ValueError(f"a line is x1,y1,x2,y2 in pixels (e.g. {width // 2},0,{width // 2},{height}), "
                         f"not {text!r}") from None
    if not all(0 <= x <= width for x in (x1, x2)) or not all(0 <= y <= height for y in (y1, y2)):
        raise ValueError(f"line {text!r} is outside the {width}x{height} frame")
    return (x1, y1), (x2, y2)


@dataclass
class _Track:
    cls: int
    last: np.ndarray  # centre
    size: float  # the box's larger side
    seen: int  # frame index
    box: np.ndarray | None = None  # the last box
    key: int = 0  # this object's serial (ids are the tracker's, and get reused)
    side: int = 0  # settled side (-1, +1; 0 = none yet)
    pending: int = 0
    streak: int = 0
    counted: str = ""  # the way this object last crossed ("in" | "out"), once counted
    score_sum: float = 0.0  # its boxes' scores so far (the mean is the evidence that it is an object)
    scored: int = 0
    votes: dict[int, float] = field(default_factory=dict)  # per class id, its boxes' scores summed: ``cls`` is the
    # class with most, so a product whose box reads ``empty`` in the frame it crosses is still counted a product

    @property
    def score(self) -> float:
        return self.score_sum / self.scored if self.scored else 0.0


def _centres(d: Detections) -> tuple[np.ndarray, np.ndarray]:
    if d.tracker_id is None:
        raise ValueError("counting needs tracked detections (tracker_id): run them through hub.video.Tracker")
    c = (d.xyxy[:, :2] + d.xyxy[:, 2:]) / 2
    return c, np.maximum(d.xyxy[:, 2] - d.xyxy[:, 0], d.xyxy[:, 3] - d.xyxy[:, 1])


@dataclass
class _Memory:
    """Per-id histories with the rejoin and reuse rules (shared by both counters)."""

    rejoin_frames: int = 30
    max_jump: float = 3.0
    tracks: dict[int, _Track] = field(default_factory=dict)
    frame: int = -1
    objects: int = 0

    def step(self, d: Detections) -> list[tuple[_Track, np.ndarray, int, np.ndarray, float]]:
        """(track, centre, class id, box, score) for each detection of this frame, histories carried over; the
        class is the track's (its boxes' score-weighted vote), not this box's."""
        self.frame += 1
        centres, sizes = _centres(d)
        assert d.tracker_id is not None  # _centres refused untracked detections
        out = []
        current = set(d.tracker_id.tolist())
        for tid, c, size, cls, box, score in zip(d.tracker_id.tolist(), centres, sizes, d.class_id.tolist(),
                                                 d.xyxy, d.confidence.tolist(), strict=True):
            t = self.tracks.get(tid)
            if t is not None and (np.linalg.norm(c - t.last) > self.max_jump * max(size, t.size)
                                  or self.frame - t.seen > self.rejoin_frames):
                t = None  # a reused id: another object
            if t is None:
                t = self._rejoin(c, size, cls, exclude=current)
                if t is None:
                    self.objects += 1
                    t = _Track(cls, c, size, self.frame, key=self.objects)
                self.tracks[tid] = t
            t.last, t.size, t.seen, t.box = c, size, self.frame, box
            t.score_sum, t.scored = t.score_sum + score, t.scored + 1
            t.votes[cls] = t.votes.get(cls, 0.0) + score
            t.cls = max(t.votes, key=t.votes.__getitem__)
            out.append((t, c, t.cls, box, score))
        for tid in [k for k, t in self.tracks.items() if self.frame - t.seen > self.rejoin_frames]:
            del self.tracks[tid]
        return out

    def _rejoin(self, c: np.ndarray, size: float, cls: int, exclude: set[int]) -> _Track | None:
        lost = [(np.linalg.norm(c - t.last), tid) for tid, t in self.tracks.items()
                if tid not in exclude and t.cls == cls and 0 < self.frame - t.seen <= self.rejoin_frames]
        near = [(dist, tid) for dist, tid in lost if dist <= max(size, self.tracks[tid].size)]
        if not near:
            return None
        return self.tracks.pop(min(near)[1])


class LineCounter:
    """Objects crossing the segment ``start`` -> ``end``, per class and direction.

    ``in`` is a crossing from the side where ``cross(end - start, p - start) > 0`` to the other: for a
    line drawn top to bottom, left to right is ``in`` (swap ``start`` and ``end`` to swap them).
    """

    def __init__(self, start: Point, end: Point, *, margin: float = 3.0, min_frames: int = 2,
                 rejoin_frames: int = 30, max_jump: float = 3.0, same_iou: float = 0.3,
                 min_score: float | Sequence[float] = 0.0) -> None:
        self.start, self.end = np.asarray(start, float), np.asarray(end, float)
        self.length = float(np.linalg.norm(self.end - self.start))
        if self.length == 0:
            raise ValueError(f"a counting line needs two different points, got {start} twice")
        self.margin, self.min_frames = margin, min_frames
        self.memory = _Memory(rejoin_frames, max_jump)
        self.in_counts: Counter[int] = Counter()
        self.out_counts: Counter[int] = Counter()
        self.events: list[tuple[int, int, int, str]] = []  # (frame, object serial, class id, "in" | "out")
        self.same_iou = same_iou
        self.min_score = min_score

    def _side(self, c: np.ndarray) -> int | None:
        """-1/+1 beyond the margin and within the span; 0 on the line; None outside the span."""
        d, p = self.end - self.start, c - self.start
        t = float(np.dot(p, d)) / self.length**2
        if not 0.0 <= t <= 1.0:
            return None
        signed = float(d[0] * p[1] - d[1] * p[0]) / self.length
        return 0 if abs(signed) <= self.margin else (1 if signed > 0 else -1)

    def update(self, detections: Detections) -> None:
        for track, centre, cls, box, _ in self.memory.step(detections):
            side = self._side(centre)
            if side is None:  # beside the segment, not across it: its side starts again
                track.side = track.pending = track.streak = 0
                continue
            if side == 0:
                continue
            track.streak = track.streak + 1 if side == track.pending else 1
            track.pending = side
            if track.streak >= self.min_frames and side != track.side:
                if track.side:
                    self._count(track, cls, "in" if track.side > 0 else "out", box)
                track.side = side

    def _count(self, track: _Track, cls: int, way: str, box: np.ndarray) -> None:
        """Count one crossing, unless this is a second track on an object already counted: a track seen in this
        frame, of the same class, whose last crossing went the same way and whose box overlaps this one (IoU >=
        ``same_iou``). Seen in ``make bench-video``: a duplicate box flickering on a product six frames after
        the product's own track had crossed, strung into one track by the rejoin rule, crossed again."""
        frame = self.memory.frame
        need = self.min_score if isinstance(self.min_score, int | float) else self.min_score[cls]
        if track.score < need:  # too little evidence that this is an object (its side still moves on)
            return
        for other in self.memory.tracks.values():
            if (other is not track and other.counted == way and other.cls == cls and other.seen == frame
                    and other.box is not None and box_iou(box, other.box)[0, 0] >= self.same_iou):
                track.counted = way
                return
        track.counted = way
        (self.in_counts if way == "in" else self.out_counts)[cls] += 1
        self.events.append((frame, track.key, cls, way))

    def counts(self, names: list[str]) -> dict[str, dict[str, int]]:
        return {"in": {n: self.in_counts.get(i, 0) for i, n in enumerate(names)},
                "out": {n: self.out_counts.get(i, 0) for i, n in enumerate(names)}}


class ZoneCounter:
    """Objects inside ``polygon``: occupancy in the last frame, distinct objects ever inside, and how long each
    stayed (frames inside; :meth:`dwell` in seconds), per class."""

    def __init__(self, polygon: list[Point], *, rejoin_frames: int = 30, max_jump: float = 3.0) -> None:
        if len(polygon) < 3:
            raise ValueError(f"a zone needs at least 3 points, got {len(polygon)}")
        self.polygon = np.asarray(polygon, np.float32).reshape(-1, 1, 2)
        self.memory = _Memory(rejoin_frames, max_jump)
        self.occupancy: Counter[int] = Counter()
        self.entered: Counter[int] = Counter()
        self._inside: set[int] = set()  # keys of the objects that were inside once
        self.frames_inside: Counter[int] = Counter()  # per object key: frames it was seen inside
        self._class: dict[int, int] = {}

    def update(self, detections: Detections) -> None:
        self.occupancy = Counter()
        for track, centre, cls, _, _ in self.memory.step(detections):
            if cv2.pointPolygonTest(self.polygon, (float(centre[0]), float(centre[1])), False) >= 0:
                self.occupancy[cls] += 1
                self.frames_inside[track.key] += 1
                self._class[track.key] = cls
                if track.key not in self._inside:
                    self._inside.add(track.key)
                    self.entered[cls] += 1

    def counts(self, names: list[str]) -> dict[str, dict[str, int]]:
        return {"now": {n: self.occupancy.get(i, 0) for i, n in enumerate(names)},
                "entered": {n: self.entered.get(i, 0) for i, n in enumerate(names)}}

    def dwell(self, names: list[str], fps: float) -> dict[str, dict[str, float]]:
        """Per class: objects that were inside, and the mean and longest time one stayed, in seconds (frames inside
        at ``fps``: the frames the counter was updated with)."""
        out = {}
        for i, name in enumerate(names):
            frames = [n for key, n in self.frames_inside.items() if self._class[key] == i]
            out[name] = {"objects": float(len(frames)), "mean_s": float(np.mean(frames) / fps) if frames else 0.0,
                         "max_s": float(max(frames) / fps) if frames else 0.0}
        return out
