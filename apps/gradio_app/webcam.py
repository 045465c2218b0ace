"""The webcam tab's per-stream state: a frame clock for the shown fps, and a tracker and counting line that
start again when a stream pauses (a new stream in the same session)."""

from __future__ import annotations

import time
from collections import deque

from hub.runtime import Detections

NEW_STREAM_AFTER_S = 2.0  # a pause this long between a session's frames starts a new stream


class FrameClock:
    """Frames processed in one webcam stream, and the rate over the last 30."""

    def __init__(self) -> None:
        self.frames = 0
        self._times: deque[float] = deque(maxlen=30)
        self._shown = 0.0

    def tick(self) -> float:
        now = time.perf_counter()
        if self._times and now - self._times[-1] > NEW_STREAM_AFTER_S:  # a new stream in the same session
            self._times.clear()
        self.frames += 1
        self._times.append(now)
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def due(self, every: float = 0.5) -> bool:
        """Whether the status line is due again (at most once per ``every`` seconds)."""
        if self._times[-1] - self._shown < every:
            return False
        self._shown = self._times[-1]
        return True


class StreamState:
    """One webcam stream's state: its frame clock and, when tracking, its tracker and counting line (both start
    again after a pause of two seconds: a new stream in the same session)."""

    def __init__(self) -> None:
        self.clock = FrameClock()
        self.tracker = self.line = None
        self._last = self._seen = self.started = 0.0

    def within(self, limit: float) -> bool:
        """Whether this stream is still inside its ``limit`` seconds (a pause of two seconds starts a new one)."""
        now = time.perf_counter()
        if now - self._seen > NEW_STREAM_AFTER_S:
            self.started = now
        self._seen = now
        return now - self.started <= limit

    def track(self, det: Detections, rgb, conf: float):
        from hub.video import LineCounter, Tracker

        now = time.perf_counter()
        height, width = rgb.shape[:2]
        if self.tracker is None or now - self._last > NEW_STREAM_AFTER_S:
            self.tracker = Tracker(fps=15.0, activation=conf)
            self.line = LineCounter((width / 2, 0), (width / 2, height), min_score=conf)
        self._last = now
        tracked = self.tracker.update(det, rgb)  # a hand-held webcam moves: tracks follow the scene
        self.line.update(tracked)
        return tracked, self.line
