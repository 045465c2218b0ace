"""Live sources: RTSP, MPEG-TS over UDP or TCP, HLS, MJPEG over HTTP and USB cameras, read with bounded lag.

A reader thread decodes the source into a buffer bounded by age: a frame waits at most ``max_lag`` seconds for
the caller, older ones are dropped and counted, and the newest is always kept. ``max_lag=0`` keeps only the
newest frame (Ultralytics' ``LoadStreams`` does that), so the lag (decoded to result) stays about one model
call; a second or so absorbs a busy machine's hiccups (decoding in bursts, a model call that took longer) that
would otherwise drop a run of frames and lose the tracks a count needs (Roboflow inference keeps a small buffer
and drops the oldest for the same reason), so it is the default everywhere. An unbounded queue, as
``cv2.VideoCapture`` buffers, makes the lag grow without bound. A source that fails, stalls past ``read_timeout`` or ends is opened again with
exponential backoff and jitter; :class:`StreamStatus` says which state it is in, with counts of frames, drops
and reconnects. Credentials inside a URL are never logged, printed or returned: :func:`redact` hides them.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from hub.base.errors import InvalidVideoError

SCHEMES = ("rtsp", "rtsps", "udp", "tcp", "rtp", "srt", "http", "https")
STATES = ("connecting", "live", "stalled", "reconnecting", "stopped")
BUFFER_BYTES = 256 * 2**20  # the buffer's size at most, whatever max_lag says (4K frames are 25 MB each)


def redact(url: str) -> str:
    """``url`` with any user name and password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def is_live(source: str) -> bool:
    """A URL of a live scheme, or a camera device (``/dev/videoN``)."""
    return urlsplit(source).scheme in SCHEMES or source.startswith("/dev/video")


def check_source(source: str, *, allow_devices: bool = True) -> str:
    """``source`` if it is a live source this reader opens; InvalidVideoError naming the problem otherwise."""
    if source.startswith("/dev/video"):
        if not allow_devices:
            raise InvalidVideoError("camera devices are not allowed here")
        return source
    scheme = urlsplit(source).scheme
    if scheme not in SCHEMES:
        raise InvalidVideoError(f"{scheme or 'no'} scheme in {redact(source)!r}: a live source is one of "
                                f"{', '.join(s + '://' for s in SCHEMES)} or /dev/videoN")
    if not urlsplit(source).hostname:
        raise InvalidVideoError(f"{redact(source)!r} names no host")
    return source


@dataclass
class StreamStatus:
    state: str = "connecting"
    frames: int = 0  # decoded
    taken: int = 0  # handed to the caller
    drops: int = 0  # decoded, then dropped unseen: older than max_lag (or the buffer full) when a newer one came
    reconnects: int = 0
    error: str | None = None  # the last failure, credentials removed
    fps: float = 0.0  # decoded per second, over the last few seconds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LiveFrame:
    image: np.ndarray  # RGB
    index: int  # the decode count when it arrived
    decoded_at: float  # time.monotonic() when it was decoded
    segment: int  # how many times the source was (re)opened before it: a new segment after each reconnect


class LiveSource:
    """Read ``url`` on a thread, frames at most ``max_lag`` s old; iterate for frames, read :attr:`status` any time.

    >>> with LiveSource("udp://127.0.0.1:5000") as live:
    ...     for frame in live.frames(duration=10):
    ...         detections = detector.detect(frame.image)
    """

    def __init__(self, url: str, *, open_timeout: float = 5.0, read_timeout: float = 5.0,
                 backoff: tuple[float, float] = (0.25, 8.0), allow_devices: bool = True, listen: bool = False,
                 max_lag: float = 1.0) -> None:
        if max_lag < 0:
            raise ValueError(f"max_lag must be 0 or more seconds, not {max_lag}")
        self.url = check_source(url, allow_devices=allow_devices)
        if listen and not url.startswith(("rtsp://", "tcp://")):
            raise InvalidVideoError(f"only rtsp:// and tcp:// sources can listen for a push, not {redact(url)!r}")
        self.listen = listen  # wait for an encoder or camera to push to this address (FFmpeg's listen mode)
        self.name = redact(url)
        self.open_timeout, self.read_timeout, self.backoff = open_timeout, read_timeout, backoff
        self.status = StreamStatus()
        self.max_lag = max_lag
        self._buffer: deque[LiveFrame] = deque()  # oldest first; only the reader thread appends
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"live {self.name}", daemon=True)
        self._segments = 0
        self._rate: list[float] = []

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> LiveSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=self.read_timeout + 2)
        self.status.state = "stopped"

    def next_frame(self, timeout: float | None = None) -> LiveFrame | None:
        """The oldest frame not yet taken and at most ``max_lag`` s old (the newest when none is), waiting up to
        ``timeout`` seconds for one; None when none came."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._buffer and not self._stop.is_set():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            if not self._buffer:
                return None
            self._drop_stale(time.monotonic())  # the caller may have been busy since they came
            self.status.taken += 1
            return self._buffer.popleft()

    def _drop_stale(self, now: float) -> None:
        """Drop (and count) the frames older than ``max_lag``, or past BUFFER_BYTES; never the newest."""
        size = sum(f.image.nbytes for f in self._buffer)
        while len(self._buffer) > 1 and (now - self._buffer[0].decoded_at > self.max_lag or size > BUFFER_BYTES):
            size -= self._buffer.popleft().image.nbytes
            self.status.drops += 1

    def frames(self, *, duration: float | None = None, idle: float = 1.0) -> Iterator[LiveFrame]:
        """Frames in order (those older than ``max_lag`` dropped), until stopped or ``duration`` s."""
        end = None if duration is None else time.monotonic() + duration
        while not self._stop.is_set() and (end is None or time.monotonic() < end):
            frame = self.next_frame(timeout=idle if end is None else max(0.0, min(idle, end - time.monotonic())))
            if frame is not None:
                yield frame

    # --- the reader thread ------------------------------------------------------------------------

    def _open(self) -> Any:
        import av

        options: dict[str, str] = {}
        fmt, url = None, self.url
        if url.startswith(("rtsp://", "rtsps://")):
            options["rtsp_transport"] = "tcp"  # UDP transport loses packets (smeared frames) on busy networks
            if self.listen:  # a finite wait: FFmpeg's default (-1, forever) overflows in PyAV's build
                options.update(rtsp_flags="listen", listen_timeout=str(max(1, round(self.open_timeout))))
        elif self.listen:  # tcp://
            options["listen"] = "1"
        if url.startswith("/dev/video"):
            fmt = "v4l2"
        if url.startswith("udp://"):
            options["fifo_size"] = "1000000"
            options["overrun_nonfatal"] = "1"
        return av.open(url, format=fmt, options=options, timeout=(self.open_timeout, self.read_timeout))

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self.status.state = "connecting" if self._segments == 0 else "reconnecting"
            try:
                container = self._open()
            except Exception as exc:  # PyAV raises per FFmpeg error; every one means: try again later
                self.status.error = self._reason(exc)
                failures += 1
                self._sleep(failures)
                continue
            self._segments += 1
            try:
                with container:
                    for frame in container.decode(video=0):
                        if self._stop.is_set():
                            return
                        self._publish(frame.to_ndarray(format="rgb24"))
                        failures = 0
                self.status.error = "the source ended"
            except Exception as exc:  # a stall past read_timeout, a broken stream, a dropped connection
                self.status.error = self._reason(exc)
            if self._stop.is_set():
                return
            self.status.state = "stalled"
            self.status.reconnects += 1
            failures += 1
            self._sleep(failures)

    def _publish(self, image: np.ndarray) -> None:
        now = time.monotonic()
        self._rate = [t for t in self._rate if now - t < 3.0] + [now]
        with self._cond:
            self.status.frames += 1
            self.status.state = "live"
            self.status.fps = round((len(self._rate) - 1) / max(now - self._rate[0], 1e-3), 2)
            self._buffer.append(LiveFrame(image, self.status.frames, now, self._segments))
            self._drop_stale(now)
            self._cond.notify_all()

    def _reason(self, exc: Exception) -> str:
        return f"{type(exc).__name__}: {exc}".replace(self.url, self.name)[:300]

    def _sleep(self, failures: int) -> None:
        """Exponential backoff with full jitter: base * 2^(failures-1), at most the cap, times 0.5-1."""
        base, cap = self.backoff
        self._stop.wait(min(cap, base * 2 ** (failures - 1)) * random.uniform(0.5, 1.0))
