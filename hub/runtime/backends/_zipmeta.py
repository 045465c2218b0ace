"""Ultralytics stores export metadata as JSON inside a zip appended to TFLite / TorchScript files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from hub.runtime.backends import parse_metadata


def read_zip_metadata(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(("metadata.json", "config.txt")):
                    raw = json.loads(z.read(name).decode("utf-8"))
                    return parse_metadata({k: v if isinstance(v, str) else v for k, v in raw.items()})
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        pass
    return {}
