"""Gradio components made for yolodeck's app: an upload that lets our loader speak, inline frames,
output images cached whole, and a queue that does not poll every millisecond."""

from __future__ import annotations

import asyncio
import base64
import contextlib
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


def _cached_jpeg(rgb: np.ndarray, cache: str) -> str:
    """``rgb`` as a JPEG in Gradio's cache under the hash of its bytes: left alone (only touched) when already
    there, else written aside and renamed into place, so no reader ever sees it half-written."""
    data = _jpeg(rgb)
    folder = Path(cache) / hashlib.sha256(data).hexdigest()
    path = folder / "image.jpeg"
    if path.is_file():
        os.utime(path)  # the app's delete_cache ages files from their last use, as Gradio's own copies
        return str(path)
    folder.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=folder, prefix=".image.")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(staging, path)
    return str(path)


def CachedImage(**kwargs) -> gr.Image:  # noqa: N802 - reads like the component it makes
    """An output Image written into Gradio's cache whole (``_cached_jpeg``).

    Gradio 6.31 names a cached image by the hash of its bytes and rewrites that file in place for every
    answer (``save_pil_to_cache``: truncate, then write). Two users who get the same picture at once (the
    same example, the same settings) race: one download reads the file while the other answer has just
    truncated it (seen with 8 clients: "received 0 bytes, expected 91239"). OpenCV also encodes the JPEG
    faster than Pillow.
    """
    image = gr.Image(**kwargs)
    gradio_postprocess = image.postprocess

    def postprocess(value):
        if not isinstance(value, np.ndarray):
            return gradio_postprocess(value)
        return ImageData(path=_cached_jpeg(value, image.GRADIO_CACHE), orig_name="image.jpeg")

    image.postprocess = postprocess
    return image


def CachedGallery(**kwargs) -> gr.Gallery:  # noqa: N802 - reads like the component it makes
    """An output Gallery whose pictures are cached whole, as :func:`CachedImage` (the same race in Gradio's
    Gallery: "/compare" with 8 clients read truncated files)."""
    gallery = gr.Gallery(**kwargs)
    gradio_postprocess = gallery.postprocess

    def as_file(item):
        if isinstance(item, tuple | list):
            return (as_file(item[0]), *item[1:])
        return _cached_jpeg(item, gallery.GRADIO_CACHE) if isinstance(item, np.ndarray) else item

    def postprocess(value):
        return gradio_postprocess([as_file(item) for item in value] if value else value)

    gallery.postprocess = postprocess
    return gallery


class Doorbell:
    """``asyncio`` as ``gradio.queueing`` sees it, with one change: a sleep of ``poll_s`` (the queue loop's
    look at an empty or full queue) ends early when :meth:`ring` is called (an event was pushed, or a job
    finished). Every other attribute is asyncio's own."""

    def __init__(self, poll_s: float) -> None:
        self.poll_s = poll_s
        self._bells: dict[int, asyncio.Event] = {}  # per event loop (a test may launch apps in several)

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    def _bell(self) -> asyncio.Event:
        loop = id(asyncio.get_running_loop())
        if loop not in self._bells:
            self._bells[loop] = asyncio.Event()
        return self._bells[loop]

    def ring(self) -> None:
        self._bell().set()

    async def sleep(self, delay: float, result=None):
        if delay != self.poll_s:
            return await asyncio.sleep(delay, result)
        bell = self._bell()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(bell.wait(), delay)
        bell.clear()  # the loop looks at the queue next: a push after this rings again
        return result


def quiet_queue(demo: gr.Blocks, *, poll_s: float = QUEUE_POLL_S) -> None:
    """Gradio's queue loop, woken by events instead of looking every millisecond.

    Gradio 6.31's queue loop sleeps 1 ms between looks at an empty queue (50 ms on Windows), and its
    progress loop 10 ms: about 9% of a core here, idle or streaming, taken from the model and from a
    browser on the same 2 cores. Here both loops look every ``poll_s`` (under 1% of a core idle), and a
    pushed event or a finished job rings a :class:`Doorbell` that wakes the queue loop at once, so an event
    does not wait for the next look (with a plain 50 ms poll, ``/detect`` through gradio_client took 1.29x
    Gradio's floor; with its 1 ms poll 1.05x). There is no public setting: this sets the queue's attributes
    and ``gradio.queueing``'s ``asyncio`` (gradio is pinned; a test fails if they are renamed).
    """
    import gradio.queueing

    queue = getattr(demo, "_queue", None)
    for attribute in ("sleep_when_free", "progress_update_sleep_when_free"):
        if hasattr(queue, attribute):
            setattr(queue, attribute, poll_s)
    bell = gradio.queueing.asyncio
    if not isinstance(bell, Doorbell) or bell.poll_s != poll_s:
        bell = gradio.queueing.asyncio = Doorbell(poll_s)
    for method in ("push", "process_events"):
        original = getattr(queue, method, None)
        if original is None or getattr(original, "rings", False):
            continue

        async def ringing(*args, _original=original, **kwargs):
            try:
                return await _original(*args, **kwargs)
            finally:
                bell.ring()

        ringing.rings = True
        setattr(queue, method, ringing)
