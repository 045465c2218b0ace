"""A quiet deck build: what the exporters print that a user cannot act on is kept out of the log.

Ultralytics' export banners (with links to websites), LiteRT's and the quantizer's step timings, TensorFlow
Lite's delegate lines from native code, torch's deprecation warnings: each export step prints tens of lines.
``captured()`` sends file descriptors 1 and 2 (Python's and native code's output alike, and the child
processes' that inherit them) to a temporary file for one step and drops it when the step succeeds; when
it fails, the tail is attached to the exception, so nothing needed to debug it is lost.
``YOLODECK_VERBOSE=1`` shows everything as it comes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

from hub.base import settings

TAIL = 4000  # characters of a failed step's output kept with its exception


# Ultralytics' warnings about what yolodeck set up on purpose: the model files written here hold one scale
# only (so its assumed scale is the one meant; it warned at every model build), and hub.base.offline writes its
# settings file with the switches that keep it offline (it warns, with a link, that it added its other keys).
UNACTIONABLE = ("no model scale passed", "Ultralytics settings updated to the latest schema")


class _Unactionable(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in UNACTIONABLE)


def quiet_scale_guess() -> None:
    """Drop :data:`UNACTIONABLE` from Ultralytics' log (before or after it is imported: the same logger)."""
    log = logging.getLogger("ultralytics")
    if not any(isinstance(f, _Unactionable) for f in log.filters):
        log.addFilter(_Unactionable())


@contextlib.contextmanager
def captured() -> Iterator[None]:
    """Run the block with stdout and stderr (file descriptors 1 and 2) going to a temporary file."""
    if settings.current().verbose:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink, open(sink.fileno(), "w", closefd=False) as text, \
            contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):  # Python's side (sys.stdout may
        os.dup2(sink.fileno(), 1)  # not be fd 1: under pytest it is not)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException as exc:
            text.flush()
            sink.seek(max(0, sink.seek(0, os.SEEK_END) - TAIL))
            exc.add_note("output of the failed step (its end):\n" + sink.read().decode(errors="replace"))
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
