"""Assemble a static Space: the deck runs in the visitor's browser (onnxruntime-web), no server.

The folder runs as it is on any static host (the Hub's static Spaces, ``python -m http.server``, a CDN):
``index.html``, ``style.css`` and ``js/`` (plain ES modules, package data beside this file), ``vendor/``
(onnxruntime-web's WASM build and plotly.js, copied from the npm packages ``make install-web`` installs and
checked against ``web/vendor.json``'s sha256), ``space_config.json`` (model, pinned commit, endpoint) and
``README.md`` (``space.build`` writes it) whose front matter asks for the COOP/COEP/CORP headers that give the page
threads.

The deck's files are fetched by the page from ``{endpoint}/{model}/resolve/{commit}/{file}`` and checked
against the manifest's sha256, or, with ``bundle``, copied into ``deck/`` (hosts that cannot reach the repo).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from hub.base import settings
from hub.base.errors import StaticSpaceError

HERE = Path(__file__).resolve().parent
PAGE = HERE / "static"
VENDOR_TABLE = HERE / "web" / "vendor.json"


def vendor_dir() -> Path:
    """Where the npm packages are: ``$YOLODECK_WEB_VENDOR``, else ``build/web/node_modules`` of this checkout."""
    return settings.current().web_vendor or HERE.parent / "build" / "web" / "node_modules"


def copy_vendor(out: Path, source: Path | None = None) -> dict[str, dict[str, str]]:
    """Copy onnxruntime-web's and plotly.js' files into ``out``, each checked against the pinned sha256; return the
    table of them (``web/vendor.json``)."""
    source = source or vendor_dir()
    table = json.loads(VENDOR_TABLE.read_text())
    for dest, entry in table.items():
        src = source / entry["from"]
        if not src.is_file():
            raise StaticSpaceError(f"{src} is missing: run `make install-web` (npm ci of space/web), or point "
                                   f"$YOLODECK_WEB_VENDOR at a node_modules that has {entry['from']}")
        data = src.read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise StaticSpaceError(f"{src} is not the pinned file (sha256 differs from space/web/vendor.json): "
                                   "reinstall with `make install-web`")
        (out / dest).parent.mkdir(parents=True, exist_ok=True)
        (out / dest).write_bytes(data)
    return table


def assemble_static(out: str | Path, *, model: str, commit: str, endpoint: str, manifest: dict[str, Any],
                    variants: list[str] | None = None, bundle_from: Any = None, vendor: Path | None = None) -> Path:
    """Write the static Space into ``out``. ``manifest``: the deck's (as a dict); ``bundle_from``: an opened deck
    (``hub.open_deck``) whose manifest, ONNX files and examples are copied into ``deck/``."""
    onnx = [v for v in manifest["variants"] if v["backend"] == "onnxruntime" and v.get("status", "ok") == "ok"]
    if variants:
        unknown = sorted(set(variants) - {v["id"] for v in onnx})
        if unknown:
            raise StaticSpaceError(f"{', '.join(unknown)}: not an ONNX variant of {model}; the page can run "
                                   f"{', '.join(v['id'] for v in onnx) or 'none'}")
        onnx = [v for v in onnx if v["id"] in variants]
    if not onnx:
        raise StaticSpaceError(f"{model} has no ONNX variant: a browser runs only ONNX files "
                               "(build the deck with onnx-fp32 or onnx-int8)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PAGE, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    vendored = copy_vendor(out, vendor)
    from hub.runtime.nms import GRAPH

    shutil.copyfile(GRAPH, out / "nms.onnx")  # the NMS kernel the Python runtime runs, as the page runs it
    if bundle_from is not None:
        deck_dir = out / "deck"
        deck_dir.mkdir(exist_ok=True)
        (deck_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
        for v in onnx:
            shutil.copyfile(bundle_from.file(bundle_from.manifest.variant(v["id"])), deck_dir / v["file"])
        for path in (p for key, p in manifest.get("files", {}).items() if key.startswith("example_")):
            local = bundle_from.extra(path)
            if local:
                (deck_dir / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(local, deck_dir / path)
    wasm = "vendor/ort/ort-wasm-simd-threaded.wasm"
    config = {"model": model, "commit": commit, "endpoint": endpoint, "bundle": bundle_from is not None,
              "variants": variants or None,
              "runtime": {"wasm": {"file": wasm, "sha256": vendored[wasm]["sha256"]}}}
    (out / "space_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return out
