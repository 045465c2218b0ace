"""What the apps know about model repos: manifests, refs and loaded Detectors, cached.

One :class:`Detector` per (hub, repo, commit, variant), kept in a small LRU so switching
pickers back and forth does not reload models, and two users asking for the same variant
share one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import hub
from hub.manifest import Manifest, Variant
from hub.runtime import Detector, available

BACKEND_LABELS = {"torch": "PyTorch", "torchscript": "TorchScript", "onnxruntime": "ONNX Runtime", "tflite": "TFLite",
                  "openvino": "OpenVINO"}
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class Deck:
    """A repo at one commit: its manifest and which of its variants this machine can run."""

    repo: str
    revision: str
    commit: str
    manifest: Manifest

    @property
    def runnable(self) -> list[Variant]:
        return [v for v in self.manifest.available if available(v.backend)]

    def backends(self) -> list[str]:
        return list(dict.fromkeys(v.backend for v in self.runnable))

    def precisions(self, backend: str) -> list[str]:
        return [p for p in PRECISIONS if any(v.backend == backend and v.precision == p for v in self.runnable)]

    def default_variant(self) -> Variant:
        return self.manifest.fastest_accurate(backends=self.backends())


class Models:
    """Manifests, refs and Detectors of one hub (the embedded one unless ``endpoint`` is set)."""

    def __init__(self, *, endpoint: str | None = None, threads: int | None = None, capacity: int = 8,
                 ttl: float = 30.0) -> None:
        self.endpoint, self.threads, self.capacity, self.ttl = endpoint, threads, capacity, ttl
        self._detectors: OrderedDict[tuple[str, str, str], Detector] = OrderedDict()
        self._decks: dict[tuple[str, str], tuple[float, Deck]] = {}
        self._lock = threading.Lock()

    def deck(self, repo: str, revision: str = "main") -> Deck:
        """The repo at a revision; a branch is looked up again after ``ttl`` seconds (a webcam stream
        calls this for every frame, and must not ask the hub each time)."""
        key = (repo, revision)
        with self._lock:
            hit = self._decks.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        commit = hub.resolve(repo, revision=revision, endpoint=self.endpoint)
        manifest = hub.manifest_of(repo, revision=commit, endpoint=self.endpoint)
        deck = Deck(repo, revision, commit, manifest)
        with self._lock:
            self._decks[key] = (time.monotonic(), deck)
        return deck

    def revisions(self, repo: str) -> list[str]:
        """Branches, then tags, newest tags first."""
        refs = hub.open_store(self.endpoint).list_refs(repo)
        return [b["name"] for b in refs["branches"]] + sorted((t["name"] for t in refs["tags"]), reverse=True)

    def detector(self, deck: Deck, variant: Variant) -> Detector:
        key = (deck.repo, deck.commit, variant.id)
        with self._lock:
            if key in self._detectors:
                self._detectors.move_to_end(key)
                return self._detectors[key]
        folder = hub.pull(deck.repo, variant=variant.id, revision=deck.commit, endpoint=self.endpoint)
        det = Detector(folder / variant.file, backend=variant.backend, names=deck.manifest.classes,
                       imgsz=deck.manifest.imgsz, threads=self.threads, busy_wait=False)
        with self._lock:
            self._detectors[key] = det
            while len(self._detectors) > self.capacity:
                self._detectors.popitem(last=False)
        return det

    def deck_file(self, deck: Deck, rel: str) -> Path | None:
        """An extra file of the deck (example image, plot); None if absent."""
        return hub.api.fetch_extra(deck.repo, rel, revision=deck.commit, endpoint=self.endpoint)

    def examples(self, deck: Deck) -> list[Path]:
        keys = sorted(k for k in deck.manifest.files if k.startswith("example_"))
        return [p for k in keys if (p := self.deck_file(deck, deck.manifest.files[k])) is not None]
