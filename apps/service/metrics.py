"""Prometheus metrics of the API: jobs by outcome and per-stage latency (counted here), queue depth and live
workers (read from Redis at each scrape)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

STAGES = ("queue", "read", "letterbox", "inference", "postprocess", "total", "service")
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


STREAM_GAUGES = (("source_fps", "frames a second the source sends"), ("lag_ms", "milliseconds from decode to count"),
                 ("drops", "frames replaced by a newer one before the model took them"),
                 ("reconnects", "times the source was reopened"), ("processed", "frames counted"))


class _FromRedis:
    def __init__(self, queue: Any, board: Any = None) -> None:
        self.queue, self.board = queue, board

    def _streams(self):
        """Per live stream: the source's status, and each line's counts by direction and class."""
        families = {k: GaugeMetricFamily(f"yolodeck_stream_{k}", text, labels=["stream"]) for k, text in STREAM_GAUGES}
        lines = GaugeMetricFamily("yolodeck_stream_line_count", "objects that crossed a stream's line",
                                  labels=["stream", "line", "direction", "class"])
        zones = GaugeMetricFamily("yolodeck_stream_zone_now", "objects inside a stream's zone", labels=["stream", "zone"])
        empty = GaugeMetricFamily("yolodeck_stream_empty_facings", "places on a stream's shelves empty for at least "
                                  "its empty_after seconds (streams started with empty_after)", labels=["stream"])
        share = GaugeMetricFamily("yolodeck_stream_empty_share", "share of a stream's shelf width that is empty, in "
                                  "the frame of its last status (streams started with empty_after)", labels=["stream"])
        try:
            for s in self.board.running() if self.board else []:
                for k, fam in families.items():
                    if s.get("status") and k in s["status"]:
                        fam.add_metric([s["id"]], float(s["status"][k]))
                counts = s.get("counts") or {}
                for i, line in enumerate(counts.get("lines", []), 1):
                    for way in ("in", "out"):
                        for name, n in line.get(way, {}).items():
                            lines.add_metric([s["id"], str(i), way, name], float(n))
                for i, zone in enumerate(counts.get("zones", []), 1):
                    zones.add_metric([s["id"], str(i)], float(sum(zone.get("now", {}).values())))
                if s.get("facings") is not None:
                    empty.add_metric([s["id"]], float(s["facings"].get("empty_now", 0)))
                    if "empty_share" in s["facings"]:
                        share.add_metric([s["id"]], float(s["facings"]["empty_share"]))
        except Exception:  # noqa: BLE001  (Redis down: the scrape still answers, without these)
            pass
        yield from families.values()
        yield lines
        yield zones
        yield empty
        yield share

    def collect(self):
        depth = GaugeMetricFamily("yolodeck_queue_depth", "unfinished jobs (queued + running)", labels=["variant"])
        live = GaugeMetricFamily("yolodeck_live_workers", "workers with a fresh heartbeat", labels=["variant"])
        try:
            counts = Counter(w["variant"] for w in self.queue.workers())
            for variant in sorted(counts):
                depth.add_metric([variant], self.queue.depth(variant))
                live.add_metric([variant], counts[variant])
        except Exception:  # noqa: BLE001  (Redis down: the scrape still answers, without these)
            pass
        yield depth
        yield live
        yield from self._streams()


class ServiceMetrics:
    def __init__(self, queue: Any, board: Any = None) -> None:
        self.registry = CollectorRegistry()
        self.jobs = PromCounter("yolodeck_jobs", "jobs answered, by outcome", ["outcome"], registry=self.registry)
        self.stage = Histogram("yolodeck_stage_seconds", "seconds per stage of a detection", ["stage"],
                               buckets=BUCKETS, registry=self.registry)
        self.registry.register(_FromRedis(queue, board))

    def outcome(self, outcome: str) -> None:
        self.jobs.labels(outcome).inc()

    def done(self, result: dict[str, Any]) -> None:
        self.outcome("done")
        for stage, ms in result.get("timing_ms", {}).items():
            if stage in STAGES:
                self.stage.labels(stage).observe(ms / 1000)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
