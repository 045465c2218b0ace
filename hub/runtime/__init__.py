"""Run any variant of a deck: ``Detector(path).detect(image, conf=..., iou=...) -> Detections``.

A leaf: it imports nothing of yolodeck but ``hub.base.errors`` and ``hub.base.catalog`` (which import nothing),
writes no file, and never imports torch; each backend imports its own package on first use.
"""

from hub.runtime.annotate import BoxAnnotator, LabelAnnotator
from hub.runtime.backends import available
from hub.runtime.detections import Detections
from hub.runtime.detector import DEFAULT_CONF, DEFAULT_MAX_DET, Detector
from hub.runtime.images import MAX_BYTES, MAX_PIXELS, load_image, read_image

__all__ = [
    "BoxAnnotator",
    "DEFAULT_CONF",
    "DEFAULT_MAX_DET",
    "Detections",
    "Detector",
    "LabelAnnotator",
    "MAX_BYTES",
    "MAX_PIXELS",
    "available",
    "load_image",
    "read_image",
]
