"""The Gradio app with one part changed, for ``make bench-webcam`` and ``make bench-app``.

``--echo``: the model taken out: every streamed frame comes back as it arrived, through the same
components and events, which shows what the path itself (browser capture, Gradio, the server loop)
allows on this machine. ``--file-frames``: output frames go back the way a plain ``gr.Image`` sends
them (a file in Gradio's cache that the browser then fetches) instead of inline, to show what
``apps.gradio_app.InlineImage`` buys. ``--busy-queue``: Gradio's own 1 ms queue poll, to show what
``apps.gradio_app.quiet_queue`` buys. ``--floor``: Gradio's floor for the app's shape of requests:
``/detect``, ``/compare`` and ``/frame`` answer every call with the outputs of their first real call
(the same components and payloads; no model, no drawing, no files written) on Gradio's own queue.

    python -m tests.bench.webcam_app --repo OWNER/NAME --port 7861 [--echo] [--file-frames] [--busy-queue]
        [--floor]
"""

from __future__ import annotations

import argparse

import hub.base.offline  # noqa: F401  (first)
from apps.gradio_app import app as gradio_app
from apps.gradio_app.webcam import FrameClock


def echo(self, frame, repo, revision, backend, precision, conf, iou, track=False, state=None):
    if frame is None:
        return None, "waiting for the camera...", state
    clock = state if isinstance(state, FrameClock) else FrameClock()
    fps = clock.tick()
    return frame, f"**{fps:.1f} fps** · frame {clock.frames} · no model (frames returned as they came)", clock


def first_answer(handler):
    """``handler`` run once for real; every later call gets that first answer back."""
    answers = {}

    def answer(self, *args):
        if "first" not in answers:
            answers["first"] = handler(self, *args)
        return answers["first"]

    return answer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--echo", action="store_true")
    parser.add_argument("--file-frames", action="store_true")
    parser.add_argument("--busy-queue", action="store_true")
    parser.add_argument("--floor", action="store_true")
    args, rest = parser.parse_known_args()
    if args.echo:
        gradio_app.Handlers.webcam = echo
    if args.file_frames:
        gradio_app.InlineImage = gradio_app.gr.Image
    if args.floor:
        for name in ("detect", "compare", "frame"):
            setattr(gradio_app.Handlers, name, first_answer(getattr(gradio_app.Handlers, name)))
    if args.busy_queue or args.floor:
        gradio_app.quiet_queue = lambda demo: None
    return gradio_app.main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
