"""Video in and out on PyAV (FFmpeg's libraries, in its wheels: H.264 by libx264, VP9 by libvpx).

``read_frames`` decodes in a thread a few frames ahead of the caller, so the model never waits on
the file. ``VideoWriter`` writes to a temporary file beside the target and renames it into place only
when every frame went in: a failed run leaves nothing half-written.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from hub.base.errors import InvalidVideoError

SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
CODECS = {".mp4": ("libx264", "yuv420p"), ".m4v": ("libx264", "yuv420p"), ".mov": ("libx264", "yuv420p"),
          ".mkv": ("libx264", "yuv420p"), ".webm": ("libvpx-vp9", "yuv420p")}


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int  # as the container declares it (0 when it does not say)
    codec: str


def _open(path: str | Path) -> Any:
    import av

    path = Path(path)
    if not path.is_file():
        raise InvalidVideoError(f"video file {path} does not exist")
    if path.stat().st_size == 0:
        raise InvalidVideoError(f"{path.name} is empty (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidVideoError(f"{path.name} is not a video FFmpeg can read ({exc.__class__.__name__}); "
                                f"use {', '.join(SUFFIXES)}") from exc
    if container.format.name.endswith("_pipe") or container.format.name == "image2":
        container.close()
        raise InvalidVideoError(f"{path.name} is a still image ({container.format.name}), not a video: "
                                "detect images with Detector.detect")
    if not container.streams.video:
        container.close()
        raise InvalidVideoError(f"{path.name} holds no video stream")
    return container


def video_info(path: str | Path) -> VideoInfo:
    """Size, rate, declared frame count and codec, from the header."""
    with _open(path) as container:
        s = container.streams.video[0]
        rate = float(s.average_rate or s.guessed_rate or 0) or 30.0
        if not s.codec_context.width:
            raise InvalidVideoError(f"{Path(path).name}: the video stream has no frame size (codec {s.codec_context.name})")
        return VideoInfo(s.codec_context.width, s.codec_context.height, rate, int(s.frames or 0), s.codec_context.name)


def read_frames(path: str | Path, *, ahead: int = 8) -> Iterator[np.ndarray]:
    """RGB frames (H x W x 3 uint8), decoded ``ahead`` frames in advance on a thread.

    Raises:
        InvalidVideoError: not a video, no frames, or a stream that cannot be decoded (also mid-file:
            a truncated file yields its good frames, then raises naming the frame).
    """
    import av

    container = _open(path)
    name = Path(path).name
    declared = int(container.streams.video[0].frames or 0)
    buffer: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    end = object()

    def decode() -> None:
        n = 0
        try:
            for frame in container.decode(video=0):
                if stop.is_set():
                    return
                buffer.put(frame.to_ndarray(format="rgb24"))
                n += 1
            if not n:
                buffer.put(InvalidVideoError(f"{name} holds no decodable frames"))
            elif declared and n < declared - 1:
                buffer.put(InvalidVideoError(f"{name} ends after frame {n} of the {declared} it declares; "
                                             "is it truncated?"))
            else:
                buffer.put(end)
        except (av.error.FFmpegError, ValueError) as exc:
            buffer.put(InvalidVideoError(f"{name} could not be decoded after frame {n} ({exc}); is it truncated?"))
        finally:
            container.close()

    worker = threading.Thread(target=decode, daemon=True, name="decode")
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is end:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a decoder waiting on a full buffer
            try:
                buffer.get_nowait()
            except queue.Empty:
                worker.join(0.05)


class VideoWriter:
    """``with VideoWriter(out, fps=..., size=(w, h)) as w: w.write(rgb)``: renamed into place on a clean exit."""

    def __init__(self, path: str | Path, *, fps: float, size: tuple[int, int], crf: int = 23) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in CODECS:
            raise InvalidVideoError(f"write {', '.join(CODECS)} (browsers play H.264 mp4 and VP9 webm), "
                                    f"not {self.path.suffix or 'no suffix'}")
        self.fps, self.size, self.crf, self.frames = fps, size, crf, 0
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.part{self.path.suffix}")

    def __enter__(self) -> VideoWriter:
        import av

        self.path.parent.mkdir(parents=True, exist_ok=True)
        codec, pix = CODECS[self.path.suffix.lower()]
        webm = codec.startswith("libvpx")
        self._container = av.open(str(self._tmp), "w", format="webm" if webm else "mp4",
                                  options={} if webm else {"movflags": "+faststart"})  # plays while it loads
        rate = Fraction(self.fps).limit_denominator(1001)
        stream: Any = self._container.add_stream(codec, rate=rate)  # a VideoStream (PyAV's types say a union)
        w, h = self.size
        stream.width, stream.height = w - w % 2, h - h % 2  # yuv420p needs even sides
        stream.pix_fmt = pix
        stream.options = {"crf": str(self.crf)} | ({"deadline": "realtime", "b": "0"} if webm else {"preset": "veryfast"})
        self._stream = stream
        self._frames: queue.Queue[Any] = queue.Queue(maxsize=8)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._encode, daemon=True, name="encode")
        self._thread.start()
        return self

    def write(self, rgb: np.ndarray) -> None:
        """Queue one RGB frame; a thread encodes it (libx264 and libvpx run outside the GIL, beside the model)."""
        if self._error:
            raise self._error
        self._frames.put(np.ascontiguousarray(rgb[: self._stream.height, : self._stream.width]))
        self.frames += 1

    def _encode(self) -> None:
        import av

        try:
            while (rgb := self._frames.get()) is not None:
                for packet in self._stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    self._container.mux(packet)
            for packet in self._stream.encode():
                self._container.mux(packet)
        except Exception as exc:  # noqa: BLE001  (raised in the caller's thread, on its next write or exit)
            self._error = InvalidVideoError(f"could not encode {self.path.name}: {exc}")
            while self._frames.get() is not None:  # drain, so that the caller never blocks
                pass

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self._frames.put(None)
        self._thread.join()
        try:
            self._container.close()
        finally:
            if kind is None and self.frames and not self._error:
                os.replace(self._tmp, self.path)
            else:
                self._tmp.unlink(missing_ok=True)
        if self._error and kind is None:
            raise self._error
