"""The Gradio app with the model taken out of the webcam path, for ``make bench-webcam``.

Every streamed frame comes back as it arrived, through the same components and events, so the bench
can show what the path itself (browser capture, Gradio, the server loop) allows on this machine.

    python -m tests.webcam_echo_app --repo OWNER/NAME --port 7861
"""

from __future__ import annotations

import hub.offline  # noqa: F401  (first)
from apps import gradio_app
from apps.gradio_app import FrameClock


def echo(self, frame, repo, revision, backend, precision, conf, iou, state=None):
    if frame is None:
        return None, "waiting for the camera...", state
    clock = state if isinstance(state, FrameClock) else FrameClock()
    fps = clock.tick()
    return frame, f"**{fps:.1f} fps** · frame {clock.frames} · no model (frames returned as they came)", clock


if __name__ == "__main__":
    gradio_app.App.webcam = echo
    raise SystemExit(gradio_app.main())
