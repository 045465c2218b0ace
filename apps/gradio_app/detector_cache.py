"""What the apps know about model repos: manifests, refs and loaded Detectors, cached.

One :class:`Detector` per (hub, repo, commit, variant), kept in a small LRU so switching
pickers back and forth does not reload models, and two users asking for the same variant
share one.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

import hub.api
from hub.api import RepoDeck
from hub.base import catalog
from hub.deck.manifest import Variant
from hub.runtime import Detector


class DetectorCache:
    """Manifests, refs and Detectors of one hub (the embedded one unless ``endpoint`` is set)."""

    def __init__(self, *, endpoint: str | None = None, threads: int | None = None, capacity: int | None = None,
                 ttl: float = 30.0) -> None:
        # a whole deck and a few more: the Compare tab runs every variant, and with room for fewer than a deck
        # each of its calls reloaded every model in turn (LRU: 3.0 s a call against 0.4 s for Gradio's floor)
        capacity = capacity or len(catalog.VARIANTS) + 4
        self.endpoint, self.threads, self.capacity, self.ttl = endpoint, threads, capacity, ttl
        self._detectors: OrderedDict[tuple[str, str, str], Detector] = OrderedDict()
        self._decks: dict[tuple[str, str], tuple[float, RepoDeck]] = {}
        self._lock = threading.Lock()

    def deck(self, repo: str, revision: str = "main") -> RepoDeck:
        """The repo at a revision; a branch is looked up again after ``ttl`` seconds (a webcam stream
        calls this for every frame, and must not ask the hub each time)."""
        key = (repo, revision)
        with self._lock:
            hit = self._decks.get(key)
        if hit and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        deck = hub.api.open_deck(repo, revision=revision, endpoint=self.endpoint)
        with self._lock:
            self._decks[key] = (time.monotonic(), deck)
        return deck

    def revisions(self, repo: str) -> list[str]:
        """Branches, then tags, newest tags first."""
        refs = hub.api.open_store(self.endpoint).list_refs(repo)
        return [b["name"] for b in refs["branches"]] + sorted((t["name"] for t in refs["tags"]), reverse=True)

    def detector(self, deck: RepoDeck, variant: Variant) -> Detector:
        key = (deck.repo, deck.commit, variant.id)
        with self._lock:
            if key in self._detectors:
                self._detectors.move_to_end(key)
                return self._detectors[key]
        det = deck.load(hub.api.VariantQuery(variant.id), threads=self.threads, busy_wait=False)
        with self._lock:
            self._detectors[key] = det
            while len(self._detectors) > self.capacity:
                self._detectors.popitem(last=False)
        return det

    def deck_file(self, deck: RepoDeck, rel: str) -> Path | None:
        """An extra file of the deck (example image, plot); None if absent."""
        return deck.extra(rel)

    def examples(self, deck: RepoDeck) -> list[Path]:
        keys = sorted(k for k in deck.manifest.files if k.startswith("example_"))
        return [p for k in keys if (p := self.deck_file(deck, deck.manifest.files[k])) is not None]
