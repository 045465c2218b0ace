"""The Gradio detection app: uploads, a live webcam, video, compare and metrics on one deck.

``app`` builds the page (one builder per tab) and runs it (``python -m apps.gradio_app``); ``handlers`` holds
one method per event; ``webcam`` a stream's state; ``video_tab`` the Video tab; ``detector_cache`` the loaded
detectors every event shares; ``gradio_patches`` what the app changes in Gradio itself (components that keep
an image's bytes as they are, and a queue that wakes on work instead of polling).
"""

from apps.gradio_app.app import build_app, launch, main

__all__ = ["build_app", "launch", "main"]
