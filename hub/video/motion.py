"""Camera motion: how far the whole picture moved since the first frame, so tracks follow objects, not the camera.

A camera panning along a shelf moves every product by the same few pixels a frame. ByteTrack matches a box
to its track by overlap (with a constant-velocity guess), so when the pan per frame nears half a product's
width, a track jumps to the neighbour and an object seems to move backwards: `make bench-video`'s pans at
8-12 px a frame counted up to a sixth of their products in the wrong direction. Tracking in the scene's
own coordinates (boxes minus the camera's offset) leaves only the objects' own motion; counting then runs
on the boxes as drawn. This is what BoT-SORT calls camera motion compensation, reduced to a translation
(pans and dollies; no zoom or rotation) and measured with OpenCV's phase correlation on a small grey copy
of the frame (about 1 ms for 640 x 480 on one core).
"""

from __future__ import annotations

import cv2
import numpy as np


class CameraMotion:
    """``update(frame) -> (dx, dy)``: the picture's total shift since the first frame, in the frame's pixels.

    Args:
        width: the grey copy's width in pixels (smaller is faster and coarser).
        min_response: below this phase-correlation peak (a blank wall, a cut, a frame of noise), the last
            frame's motion is assumed to go on: a measurement that weak is a guess.
        max_fraction: a shift larger than this share of the frame between two frames is not believed either.
        min_shift: shifts under this many pixels a frame are taken as none: a fixed camera stays at exactly zero
            however its scene moves (a person crossing pulls the estimate by a tenth of a pixel or so), and a pan
            that slow needs no help.
    """

    def __init__(self, *, width: int = 160, min_response: float = 0.1, max_fraction: float = 0.25,
                 min_shift: float = 0.5) -> None:
        self.width, self.min_response, self.max_fraction = width, min_response, max_fraction
        self.min_shift = min_shift
        self.offset = np.zeros(2)
        self.step = np.zeros(2)  # the last frame-to-frame shift
        self._prev: np.ndarray | None = None
        self._window: np.ndarray | None = None
        self._scale = 1.0

    def update(self, frame: np.ndarray) -> np.ndarray:
        """Measure ``frame`` (H x W x 3 RGB or H x W grey) against the previous one; return the total offset."""
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame
        if self._prev is not None and grey.shape[1] / self._scale != self._prev.shape[1]:
            self._prev = None  # the frame size changed (a reconnected stream): start again from here
        if self._prev is None:
            self._scale = max(1.0, grey.shape[1] / self.width)
        size = (max(8, round(grey.shape[1] / self._scale)), max(8, round(grey.shape[0] / self._scale)))
        small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        if self._prev is not None:
            if self._window is None or self._window.shape != small.shape:
                self._window = cv2.createHanningWindow(size, cv2.CV_32F)
            (dx, dy), response = cv2.phaseCorrelate(self._prev, small, self._window)
            shift = np.array([dx, dy]) * self._scale
            shift[np.abs(shift) < self.min_shift] = 0.0
            if response >= self.min_response and np.all(np.abs(shift) <= self.max_fraction * np.array(grey.shape[1::-1])):
                self.step = shift
            self.offset = self.offset + self.step
        self._prev = small
        return self.offset.copy()
