"""Tracking with Roboflow's ``trackers`` (ByteTrack): a stable ``tracker_id`` per object in ``Detections``."""

from __future__ import annotations

import numpy as np

from hub.runtime.detections import Detections


class Tracker:
    """``Tracker(fps=...).update(detections) -> Detections`` with ``tracker_id`` (unconfirmed boxes are left out).

    Args:
        fps: the stream's frame rate (how long a lost track is kept: ``lost_seconds``).
        lost_seconds: keep a track that found no box this long, to pick it up again.
        activation: the score a box needs to start a track, and ByteTrack's high-score stage; boxes below it
            (detect with a lower ``conf`` to pass them) only continue existing tracks: ByteTrack's idea.
    """

    def __init__(self, *, fps: float = 30.0, lost_seconds: float = 1.0, activation: float = 0.3,
                 min_frames: int = 2) -> None:
        from trackers import ByteTrackTracker

        self.fps = fps
        self._tracker = ByteTrackTracker(lost_track_buffer=max(1, round(lost_seconds * fps)), frame_rate=fps,
                                         track_activation_threshold=activation, minimum_consecutive_frames=min_frames,
                                         high_conf_det_threshold=activation)

    def update(self, detections: Detections) -> Detections:
        import supervision as sv

        tracked = self._tracker.update(sv.Detections(xyxy=detections.xyxy.astype(np.float32).reshape(-1, 4),
                                                     confidence=detections.confidence.astype(np.float32),
                                                     class_id=detections.class_id.astype(np.int64)))
        ids = np.asarray(tracked.tracker_id if tracked.tracker_id is not None else [], np.int64)
        keep = ids >= 0
        xyxy = np.asarray(tracked.xyxy, np.float32).reshape(-1, 4)[keep]
        conf = np.asarray(tracked.confidence if tracked.confidence is not None else np.ones(len(ids)), np.float32)
        cls = np.asarray(tracked.class_id if tracked.class_id is not None else np.zeros(len(ids)), np.int64)
        return Detections(xyxy, conf[keep], cls[keep], detections.names, detections.timing_ms,
                          detections.image_size, ids[keep], detections.tiles)
