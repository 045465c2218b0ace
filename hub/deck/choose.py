"""Which variant of a deck runs: the one place that decides, for the library, the apps, the service and the card.

A variant is *accurate* when its mAP50 is within :data:`TOLERANCE` of the fp32 reference's. With no variant
asked for, the fastest accurate one runs: by the deck's own latencies (:func:`by_figures`, measured on the
machine that built it), or by a short probe on this machine (:func:`here`, cached per deck commit and CPU;
the timing itself is :mod:`hub.deck.probe`'s, handed a loader so that it knows nothing of repos).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from hub.base import catalog
from hub.base.errors import VariantNotFoundError
from hub.base.offline import cache_dir
from hub.deck.manifest import Manifest, Variant

TOLERANCE = 0.01  # mAP50 a variant may lose against fp32 and still count as accurate
CANDIDATES = 3  # accurate variants the probe times, the deck's fastest first


def accurate(manifest: Manifest, *, backends: list[str] | None = None) -> list[Variant]:
    """The variants within :data:`TOLERANCE` mAP50 of the fp32 reference (all, if none is), fastest first by the
    deck's own latencies (untimed ones last); only those ``backends`` run, when given."""
    ref = manifest.reference()
    pool = [v for v in manifest.available if backends is None or v.backend in backends]
    if not pool:
        raise VariantNotFoundError(f"no variant of {manifest.model} runs on {', '.join(backends or []) or 'nothing'}")
    good = [v for v in pool if ref is None or ref.metrics is None
            or (v.metrics and v.metrics.map50 >= ref.metrics.map50 - TOLERANCE)]
    return sorted(good or pool, key=lambda v: v.latency_ms.median if v.latency_ms else float("inf"))


def by_figures(manifest: Manifest, *, backends: list[str] | None = None) -> Variant:
    """The fastest accurate variant by the deck's own figures."""
    return accurate(manifest, backends=backends)[0]


def here(manifest: Manifest, commit: str, load: Callable[[Variant], object], *, threads: int | None = None) -> Variant:
    """The fastest accurate variant on this machine, among the installed backends: the deck's best
    :data:`CANDIDATES` timed by :func:`hub.deck.probe.measure` (``load`` opens a variant's detector), once per deck
    commit, CPU, thread count and runtime versions."""
    from hub.deck import probe

    pool = accurate(manifest, backends=catalog.installed())[:CANDIDATES]
    if len(pool) == 1:
        return pool[0]
    key = probe.key(threads, {v.backend for v in pool})
    path = cache_dir() / "probes" / f"{commit}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.json"
    try:
        cached = json.loads(path.read_text())
        return next(v for v in pool if v.id == cached["fastest"])
    except (OSError, ValueError, KeyError, StopIteration):
        pass
    ms = probe.measure({v.id: load(v) for v in pool}, imgsz=manifest.imgsz)
    fastest = min(pool, key=lambda v: ms[v.id])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cpu": probe.cpu(), "threads": threads, "key": key, "ms": ms,
                                "fastest": fastest.id}, indent=2))
    return fastest
