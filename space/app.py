"""The yolodeck Space: the Gradio detection app on one model repo.

Which repo: the Space variables YOLODECK_MODEL / YOLODECK_REVISION / YOLODECK_ENDPOINT, else
what `hub space push` pinned in space_config.json. Inference needs no torch: the app offers the
ONNX Runtime and LiteRT variants that are installed here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import hub.base.offline  # noqa: F401  (first: private by default; caches go to writable places)
from apps.gradio_app import build_app, launch  # noqa: E402
from hub.base import settings  # noqa: E402

HERE = Path(__file__).resolve().parent
CONFIG = json.loads((HERE / "space_config.json").read_text()) if (HERE / "space_config.json").is_file() else {}

env = settings.current()
repo = env.model or CONFIG.get("model") or "yolodeck/shelves-demo"
revision = env.revision or CONFIG.get("revision") or "main"
endpoint = env.endpoint or CONFIG.get("endpoint") or "https://huggingface.co"

demo = build_app(repo=repo, revision=revision, endpoint=endpoint, threads=env.threads)

if __name__ == "__main__":
    launch(demo, host=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
           port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
