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


class _FromRedis:
    def __init__(self, queue: Any) -> None:
        self.queue = queue

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


class ServiceMetrics:
    def __init__(self, queue: Any) -> None:
        self.registry = CollectorRegistry()
        self.jobs = PromCounter("yolodeck_jobs", "jobs answered, by outcome", ["outcome"], registry=self.registry)
        self.stage = Histogram("yolodeck_stage_seconds", "seconds per stage of a detection", ["stage"],
                               buckets=BUCKETS, registry=self.registry)
        self.registry.register(_FromRedis(queue))

    def outcome(self, outcome: str) -> None:
        self.jobs.labels(outcome).inc()

    def done(self, result: dict[str, Any]) -> None:
        self.outcome("done")
        for stage, ms in result.get("timing_ms", {}).items():
            if stage in STAGES:
                self.stage.labels(stage).observe(ms / 1000)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
