"""Run any variant of a deck: ``Detector(path).detect(image, conf=..., iou=...) -> Detections``.

Importing this package never imports torch; each backend imports its own package on first use.
"""

import hub.offline  # noqa: F401  (first)
from hub.runtime.annotate import BoxAnnotator, LabelAnnotator
from hub.runtime.backends import available
from hub.runtime.detections import Detections
from hub.runtime.detector import DEFAULT_MAX_DET, Detector
from hub.runtime.images import MAX_BYTES, MAX_PIXELS, load_image

__all__ = [
    "BoxAnnotator",
    "DEFAULT_MAX_DET",
    "Detections",
    "Detector",
    "LabelAnnotator",
    "MAX_BYTES",
    "MAX_PIXELS",
    "available",
    "load_image",
]
