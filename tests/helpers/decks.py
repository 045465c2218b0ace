"""Decks for tests, made from the session's tiny deck."""

from __future__ import annotations

import shutil
from pathlib import Path

from hub.deck.manifest import Manifest


def make_deck(src: Path, dst: Path, variants: list[str], *, model: str | None = None) -> Path:
    """A valid deck holding only ``variants`` of ``src``."""
    manifest = Manifest.read(src)
    manifest.variants = [v for v in manifest.variants if v.id in variants]
    manifest.files = {}
    if model:
        manifest.model = model
    dst.mkdir(parents=True)
    for v in manifest.variants:
        shutil.copyfile(src / v.file, dst / v.file)
    manifest.write(dst)
    return dst
