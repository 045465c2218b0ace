"""Tracking with Roboflow's ``trackers`` (ByteTrack): a stable ``tracker_id`` per object in ``Detections``, in the
scene's coordinates when the camera moves (:mod:`hub.video.motion`)."""

from __future__ import annotations

import numpy as np

from hub.runtime.detections import Detections
from hub.runtime.detector import DEFAULT_CONF
from hub.video.motion import CameraMotion


class Tracker:
    """``Tracker(fps=...).update(detections) -> Detections`` with ``tracker_id`` (unconfirmed boxes are left out).

    Args:
        fps: the stream's frame rate (how long a lost track is kept: ``lost_seconds``).
        lost_seconds: keep a track that found no box this long, to pick it up again.
        activation: the score a box needs to start a track, and ByteTrack's high-score stage; boxes below it
            (detect with a lower ``conf`` to pass them) only continue existing tracks: ByteTrack's idea.
        moving_camera: measure the camera's motion on each frame passed to :meth:`update` and track in the
            scene's coordinates (a pan along a shelf); False for a camera bolted in place.
        same_object_iou: boxes of different classes that overlap this much (IoU) are one object seen as two (a
            product with a weak ``empty`` box on it): only the higher-scored one is tracked (supervision's
            class-agnostic NMS). Otherwise two tracks follow the object, trade its boxes and both cross a line.
            None tracks every box.
    """

    def __init__(self, *, fps: float = 30.0, lost_seconds: float = 1.0, activation: float = 0.3,
                 min_frames: int = 2, moving_camera: bool = True, same_object_iou: float | None = 0.7) -> None:
        from trackers import ByteTrackTracker

        self.fps = fps
        self._tracker = ByteTrackTracker(lost_track_buffer=max(1, round(lost_seconds * fps)), frame_rate=fps,
                                         track_activation_threshold=activation, minimum_consecutive_frames=min_frames,
                                         high_conf_det_threshold=activation)
        self.motion = CameraMotion() if moving_camera else None
        self.same_object_iou = same_object_iou

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> Detections:
        """Tracked boxes for one frame; ``frame`` (the picture they came from) lets a moving camera be followed."""
        import supervision as sv

        shift = np.zeros(4, np.float32)
        if self.motion is not None and frame is not None:
            shift = np.tile(self.motion.update(frame), 2).astype(np.float32)  # boxes in the scene's coordinates
        boxes = sv.Detections(xyxy=detections.xyxy.astype(np.float32).reshape(-1, 4) - shift,
                              confidence=detections.confidence.astype(np.float32),
                              class_id=detections.class_id.astype(np.int64))
        if self.same_object_iou is not None and len(boxes) > 1:
            boxes = boxes.with_nms(threshold=self.same_object_iou, class_agnostic=True)
        tracked = self._tracker.update(boxes)
        ids = np.asarray(tracked.tracker_id if tracked.tracker_id is not None else [], np.int64)
        keep = ids >= 0
        xyxy = np.asarray(tracked.xyxy, np.float32).reshape(-1, 4)[keep] + shift
        conf = np.asarray(tracked.confidence if tracked.confidence is not None else np.ones(len(ids)), np.float32)
        cls = np.asarray(tracked.class_id if tracked.class_id is not None else np.zeros(len(ids)), np.int64)
        return Detections(xyxy, conf[keep], cls[keep], detections.names, detections.timing_ms,
                          detections.image_size, ids[keep], detections.tiles)


def score_plan(conf: float | str, names: list[str], thresholds: dict[str, float]) -> tuple[float, float, list[float]]:
    """What tracking and counting need from ``conf`` (a number, or "best": each class's own threshold, the deck's
    ``thresholds``): (the conf to detect at, a third of it: low boxes only continue tracks, ByteTrack's second
    stage; the score that starts a track; per class id, the mean score a track needs before it may be counted)."""
    if conf == "best":
        per_class = [float(thresholds.get(n, DEFAULT_CONF)) for n in names]
    elif isinstance(conf, int | float) and 0 <= conf <= 1:
        per_class = [float(conf)] * len(names)
    else:
        raise ValueError(f"conf is a number in [0, 1] or 'best', not {conf!r}")
    start = min(per_class, default=DEFAULT_CONF)
    return start / 3, start, per_class
