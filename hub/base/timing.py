"""One way to time things side by side: blocks of calls taken in turn, the quietest block of each counting.

Calling different runtimes one call at a time makes their thread pools fight (each spins a while after its own
call); blocks in turn keep that out, and a shared machine's slow spells fall on every contender alike, so the
ratios between them hold. Keeping each one's quietest block keeps a noisy neighbour's moment out of the
figure. The variant probe (:mod:`hub.deck.probe`), the deck's latencies (``training.evaluate``) and the
benchmarks all time this way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

import numpy as np

Blocks = dict[str, list[list[float]]]  # per contender: its blocks, each the milliseconds of its calls


def blocks_in_turn(calls: dict[str, Callable[[int], object]], *, per_block: int, rounds: int | None = None,
                   seconds: float | None = None, warmup: int = 0,
                   progress: Callable[[Iterable[int]], Iterable[int]] | None = None) -> Blocks:
    """Call each of ``calls`` (``fn(i)``, ``i`` the call's number) ``per_block`` times, one contender after
    another, for ``rounds`` rounds, or until each has spent ``seconds`` in its calls; ``warmup`` calls each first.

    ``progress`` wraps the rounds (a progress bar) when ``rounds`` is given.
    """
    if (rounds is None) == (seconds is None):
        raise ValueError("give rounds or seconds, not both")
    for fn in calls.values():
        for i in range(warmup):
            fn(i)
    blocks: Blocks = {key: [] for key in calls}

    def turns() -> Iterator[int]:
        if rounds is not None:
            yield from (progress or iter)(range(rounds))
            return
        r, budget_ms = 0, (seconds or 0.0) * 1e3
        while min(sum(sum(b) for b in blocks[key]) for key in calls) < budget_ms:
            yield r
            r += 1

    for r in turns():
        for key, fn in calls.items():
            block = []
            for i in range(per_block):
                t = time.perf_counter()
                fn(r * per_block + i)
                block.append((time.perf_counter() - t) * 1e3)
            blocks[key].append(block)
    return blocks


def quietest(blocks: list[list[float]]) -> float:
    """The median milliseconds of the quietest block."""
    return min(float(np.median(b)) for b in blocks)


def spread(blocks: list[list[float]]) -> float:
    """The noisiest block's median over the quietest's: over 2, the machine was busy."""
    medians = [float(np.median(b)) for b in blocks]
    return max(medians) / max(min(medians), 1e-9)
