"""Gradio components made for yolodeck's app: an upload that lets our loader speak, inline frames,
output images cached whole, and a queue that does not poll every millisecond."""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
from gradio.data_classes import ImageData

JPEG_QUALITY = 80  # webcam frames back to the browser (Gradio's own JPEGs are Pillow's 75)
QUEUE_POLL_S = 0.05  # Gradio's own value on Windows; see quiet_queue


def SafeImage(**kwargs) -> gr.Image:  # noqa: N802 - reads like the component it makes
    """An Image input that hands files Gradio cannot open to our loader, which says what is wrong.

    (A subclass of gr.Image would be treated as a custom component with its own frontend.)
    """
    image = gr.Image(**kwargs)
    gradio_preprocess = image.preprocess

    def preprocess(payload):
        try:
            return gradio_preprocess(payload)
        except Exception:  # noqa: BLE001 - hub.runtime.load_image reports the problem precisely
            return getattr(payload, "path", None) or "unreadable upload"

    image.preprocess = preprocess
    return image


def InlineImage(**kwargs) -> gr.Image:  # noqa: N802 - reads like the component it makes
    """An output Image that sends each frame inside the event's message, as a JPEG data URL.

    gr.Image writes every output to Gradio's cache and the browser then fetches it: per webcam frame,
    a file, a hash and a second request. Inline, there is no file to pile up and one request fewer.
    """
    image = gr.Image(**kwargs)

    def postprocess(value: np.ndarray | None) -> ImageData | None:  # an RGB frame from the handler
        if value is None:
            return None
        return ImageData(url="data:image/jpeg;base64," + base64.b64encode(_jpeg(value)).decode(), orig_name="frame.jpg")

    image.postprocess = postprocess
    return image


def _jpeg(rgb: np.ndarray) -> bytes:
    _, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return jpeg.tobytes()


def CachedImage(**kwargs) -> gr.Image:  # noqa: N802 - reads like the component it makes
    """An output Image written into Gradio's cache whole: a JPEG under its hash, renamed into place once.

    Gradio 6.31 names a cached image by the hash of its bytes and rewrites that file in place for every
    answer (``save_pil_to_cache``: truncate, then write). Two users who get the same picture at once (the
    same example, the same settings) race: one download reads the file while the other answer has just
    truncated it (seen with 8 clients: "received 0 bytes, expected 91239"). Here a file already cached is
    left alone (only touched) and a new one appears whole, by rename. OpenCV also encodes the JPEG faster than Pillow.
    """
    image = gr.Image(**kwargs)
    gradio_postprocess = image.postprocess

    def postprocess(value):
        if not isinstance(value, np.ndarray):
            return gradio_postprocess(value)
        data = _jpeg(value)
        folder = Path(image.GRADIO_CACHE) / hashlib.sha256(data).hexdigest()
        path = folder / "image.jpeg"
        if path.is_file():
            os.utime(path)  # the app's delete_cache ages files from their last use, as Gradio's own copies
        else:
            folder.mkdir(parents=True, exist_ok=True)
            fd, staging = tempfile.mkstemp(dir=folder, prefix=".image.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(staging, path)
        return ImageData(path=str(path), orig_name="image.jpeg")

    image.postprocess = postprocess
    return image


def quiet_queue(demo: gr.Blocks, *, poll_s: float = QUEUE_POLL_S) -> None:
    """Poll Gradio's empty queue every ``poll_s`` instead of every millisecond.

    Gradio 6.31's queue loop sleeps 1 ms between looks at an empty queue (50 ms on Windows), and its
    progress loop 10 ms: about 9% of a core here, idle or streaming, taken from the model and from a
    browser on the same 2 cores; at 50 ms, under 1%. A queued event now waits at most ``poll_s`` to
    start (webcam frames do not pass through that loop), and progress would be sent every ``poll_s``
    (the app reports none). There is no public setting, so this sets the queue's attributes (gradio
    is pinned).
    """
    queue = getattr(demo, "_queue", None)
    for attribute in ("sleep_when_free", "progress_update_sleep_when_free"):
        if hasattr(queue, attribute):
            setattr(queue, attribute, poll_s)
