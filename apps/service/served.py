"""What the live workers serve, read from their heartbeats: the variants, the deck, and which one a request gets."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from apps.service.errors import NotServedError, NoWorkersError


@dataclass(frozen=True)
class Served:
    workers: list[dict[str, Any]]

    def matching(self, revision: str | None) -> list[dict[str, Any]]:
        if not revision:
            return self.workers
        return [w for w in self.workers if revision in (w.get("revision"), w.get("commit"))
                or (len(revision) >= 7 and str(w.get("commit", "")).startswith(revision))]

    @property
    def counts(self) -> Counter[str]:
        return Counter(w["variant"] for w in self.workers)

    @property
    def deck(self) -> dict[str, Any]:
        """The deck the newest worker reported (repo, commit, classes, variants)."""
        return max(self.workers, key=lambda w: w.get("started", 0)) if self.workers else {}

    @property
    def default(self) -> str | None:
        """The variant most workers serve (ties: the faster by the deck's latency)."""
        if not self.workers:
            return None
        latency = {v["id"]: v.get("latency_ms") or 0 for v in self.deck.get("deck", [])}
        return min(self.counts, key=lambda v: (-self.counts[v], latency.get(v, 0), v))

    def choose(self, *, variant: str | None = None, backend: str | None = None, precision: str | None = None,
               revision: str | None = None) -> str:
        """The variant id a request goes to.

        Raises:
            NoWorkersError: no live worker.
            NotServedError: nothing live matches (the message lists what is served).
        """
        if not self.workers:
            raise NoWorkersError("no live worker: start one with `python -m apps.service worker`")
        live = self.matching(revision)
        served = sorted({w["variant"] for w in live})
        every = sorted(self.counts)
        if not live:
            commits = sorted({str(w.get("commit", ""))[:12] for w in self.workers})
            raise NotServedError(f"no live worker serves revision {revision!r}; served: {', '.join(commits)}", every)
        if variant:
            if variant in served:
                return variant
            in_deck = [v["id"] for v in self.deck.get("deck", [])]
            hint = (f" ({variant} is in the deck: start a worker with --variant {variant})"
                    if variant in in_deck else "")
            raise NotServedError(f"unknown variant {variant!r}; served: {', '.join(served)}{hint}", served)
        if backend or precision:
            fits = [w["variant"] for w in live if (not backend or w.get("backend") == backend)
                    and (not precision or w.get("precision") == precision)]
            if not fits:
                asked = " ".join(x for x in (backend, precision) if x)
                raise NotServedError(f"no served variant is {asked}; served: {', '.join(served)}", served)
            return Counter(fits).most_common(1)[0][0]
        default = self.default
        return default if default in served else Counter(w["variant"] for w in live).most_common(1)[0][0]

    def class_ids(self, classes: list[int | str] | None) -> list[int] | None:
        """Class names or ids -> ids, checked against the deck's classes.

        Raises:
            ValueError: a name or id the model does not know.
        """
        if classes is None:
            return None
        names = list(self.deck.get("classes", []))
        out = []
        for c in classes:
            if isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(names):
                out.append(c)
            elif isinstance(c, str) and c in names:
                out.append(names.index(c))
            else:
                raise ValueError(f"unknown class {c!r}; the model's classes: {', '.join(names)}")
        return out
