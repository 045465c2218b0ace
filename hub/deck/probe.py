"""This machine, as speed depends on it: the CPU's name and instruction sets, and a short timing of detectors.

A deck's latencies were measured on the machine that built it; on another CPU the order changes (int8 kernels
differ most: AVX2 against AVX-512 VNNI). :func:`measure` times a few detectors here, in blocks taken in turn
(well under a second each); :func:`hub.deck.choose.here` keeps the winner in ``<cache>/probes/<commit>-<key>.json``,
the :func:`key` naming the CPU, the thread count and the versions of what runs the candidates (the runtimes,
and :data:`RUNTIME_REVISION`): a new ONNX Runtime or a faster path of ours probes again.
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hub.base.timing import blocks_in_turn, quietest

RUNTIME_REVISION = 2  # raised when a change here moves one backend's speed against another's (2: TFLite int8
# takes int8 pixels, OpenVINO unpinned)
FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "avx_vnni", "neon", "asimd")


@functools.cache
def cpu() -> str:
    """The CPU's model name and the instruction sets that decide which kernels are fastest."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags |= set(value.split())
    except OSError:
        pass
    have = [f for f in FLAGS if f in flags]
    return f"{model} ({' '.join(have)})" if have else model


def key(threads: int | None, backends: set[str]) -> str:
    """What a probe's answer holds for: CPU, threads, and what runs the candidates, at which versions."""
    from importlib import metadata

    from hub.base import catalog

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "-"

    runtimes = sorted(f"{catalog.BACKENDS[b].runtime}={version(catalog.BACKENDS[b].runtime)}" for b in backends)
    return f"{cpu()}|{threads}|{RUNTIME_REVISION}|{' '.join(runtimes)}"


def measure(detectors: dict[str, Any], *, imgsz: int, seconds: float = 0.4, block: int = 5) -> dict[str, float]:
    """Median ms of ``detect()`` per detector (by id): blocks of ``block`` calls taken in turn for about
    ``seconds`` each; the quietest block counts (a noisy moment on a shared machine does not decide)."""
    frame = np.random.default_rng(0).integers(0, 255, (imgsz, imgsz, 3), np.uint8)
    def call(det: Any) -> Callable[[int], object]:
        return lambda i: det.detect(frame)

    calls = {vid: call(det) for vid, det in detectors.items()}
    return {vid: quietest(b) for vid, b in blocks_in_turn(calls, per_block=block, seconds=seconds).items()}
