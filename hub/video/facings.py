"""Empty facings over time: an event when a place on the shelf has stayed empty ``hold`` seconds, and one when it
is filled again.

A place is one of a frame's gaps in :func:`hub.runtime.shelf.shelf_report` (a box of the deck's ``empty``
class, or a space between products at least a facing wide; not joined into restock places, so a facing emptied
beside a standing gap is a place of its own), with its shelf row, followed from frame to frame by its overlap
with where it was (IoU at least ``match_iou``): a shelf camera is fixed, so the shelf stays where it is in the
picture. A place seen empty for ``hold`` seconds, missed for at most ``grace`` seconds at a time (a shopper
walking past hides it, a frame's detection misses it), is reported ``empty`` once; a reported place then not
seen empty for ``grace`` seconds is reported ``refilled``. A place seen for less than ``hold`` is forgotten after
``grace``: a shadow or a passing trolley is not a gap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hub.runtime import Detections
from hub.runtime.ops import box_iou
from hub.runtime.shelf import EMPTY, shelf_report


def check_empty_class(hold: float, names: list[str], empty: str = EMPTY) -> float:
    """``hold`` when it is positive and ``names`` has the ``empty`` class; ValueError naming the problem."""
    if not hold > 0:
        raise ValueError(f"empty_after must be a positive number of seconds, not {hold}")
    if empty not in names:
        raise ValueError(f"empty facings need a deck with an {empty!r} class; this one has "
                         f"{', '.join(names[:10])} (train on `training data synth-shelves --with-empty`)")
    return hold


@dataclass
class FacingEvent:
    kind: str  # "empty" (stayed empty ``hold`` s) or "refilled" (an empty place not seen empty ``grace`` s)
    time_s: float  # when it was decided (the first sighting + hold; the last sighting + grace)
    place: int  # the place's number, from 1, in the order places were first seen
    row: int  # the shelf row, 1 = the top one
    box: tuple[float, float, float, float]  # x1 y1 x2 y2 where it was last seen empty
    empty_s: float  # seconds from its first sighting to its last

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Place:
    number: int
    box: np.ndarray
    row: int
    first: float
    last: float
    reported: bool = False


class EmptyFacings:
    """Feed every frame's detections with its time; read the events each call returns, and :attr:`empty_now`."""

    def __init__(self, *, hold: float = 10.0, grace: float = 2.0, match_iou: float = 0.3, empty: str = EMPTY) -> None:
        if hold <= 0 or grace <= 0:
            raise ValueError(f"hold and grace must be positive seconds, not {hold} and {grace}")
        self.hold, self.grace, self.match_iou, self.empty = hold, grace, match_iou, empty
        self.places: list[_Place] = []
        self.events: list[FacingEvent] = []
        self._numbers = 0

    @property
    def empty_now(self) -> int:
        """Places reported empty and not yet refilled."""
        return sum(p.reported for p in self.places)

    def update(self, detections: Detections, time_s: float) -> list[FacingEvent]:
        """This frame's events, in time order; ValueError when the deck has no ``empty`` class."""
        report = shelf_report(detections, empty=self.empty)
        gaps = [g for row in report.rows for g in row.gaps]  # each facing its own place, not joined for restock
        boxes = np.array([[g.x1, g.y1, g.x2, g.y2] for g in gaps], np.float64).reshape(-1, 4)
        seen: set[int] = set()  # this frame's gaps matched to a place (greedy, the largest overlap first)
        if self.places and len(boxes):
            overlap = box_iou(boxes, np.stack([p.box for p in self.places]))
            matched: set[int] = set()
            for gi, pi in zip(*np.unravel_index(np.argsort(-overlap, axis=None), overlap.shape), strict=True):
                if overlap[gi, pi] < self.match_iou:
                    break
                if gi in seen or pi in matched:
                    continue
                place = self.places[pi]
                place.box, place.row, place.last = boxes[gi], gaps[gi].row, time_s
                seen.add(int(gi))
                matched.add(int(pi))
        for gi, gap in enumerate(gaps):
            if gi not in seen:
                self._numbers += 1
                self.places.append(_Place(self._numbers, boxes[gi], gap.row, time_s, time_s))
        out = []
        for place in list(self.places):
            if not place.reported and place.last == time_s and time_s - place.first >= self.hold:
                place.reported = True
                out.append(self._event("empty", place.first + self.hold, place))
            elif time_s - place.last > self.grace:
                if place.reported:
                    out.append(self._event("refilled", place.last + self.grace, place))
                self.places.remove(place)
        self.events += out
        return out

    def _event(self, kind: str, at: float, place: _Place) -> FacingEvent:
        x1, y1, x2, y2 = (round(float(v), 1) for v in place.box)
        return FacingEvent(kind, round(at, 3), place.number, place.row, (x1, y1, x2, y2),
                           round(place.last - place.first, 3))
