"""Live streams as long-running jobs: the Redis board the API writes and the workers run from.

Keys, under the queue's prefix:

- ``streams``: the set of stream ids not yet ended.
- ``stream:<id>``: a hash: ``spec`` (JSON: source, lines, zones, conf, iou, variant, max_fps, max_lag, empty_after), ``state`` (JSON:
  state, worker, the source's status, the counts so far, error), ``stop`` (set by DELETE), ``created``.
- ``stream:<id>:owner``: the worker running it, with a lease of ``stream_lease`` seconds that the worker
  renews twice a second. A worker that dies stops renewing; the key expires and another worker claims the
  stream (``SET NX``) and goes on from the counts stored with the last change.
- ``stream:<id>:events``: a capped Redis stream of count changes and state changes (for server-sent events).

Which hosts a stream may name is the operator's choice (:class:`SourcePolicy`): loopback only unless the API
was started with ``--allow-stream-hosts``; camera devices only with ``--allow-devices``. A host name other
than ``localhost`` is refused unless any host is allowed: checking it would mean resolving it here.
"""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import redis

from apps.service.jobs import JobQueue
from hub.base.errors import InvalidVideoError
from hub.video.live import check_source, redact

EVENTS_KEPT = 1000  # count changes kept per stream for late readers of /events
ENDED_TTL = 3600  # seconds an ended stream's state stays readable

# KEYS: owner key; ARGV: worker, lease ms. Renews the lease only for the worker that holds it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True)
class SourcePolicy:
    """Which live sources the service opens: networks (``any`` for all hosts) and whether devices may be named."""

    networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    devices: bool = False

    @classmethod
    def parse(cls, hosts: str | None, *, devices: bool = False) -> SourcePolicy:
        """From ``--allow-stream-hosts`` (comma-separated networks, or ``any``); ValueError naming a bad one."""
        if not hosts:
            return cls(devices=devices)
        nets = tuple(h.strip() for h in hosts.split(",") if h.strip())
        for net in nets:
            if net != "any":
                ipaddress.ip_network(net, strict=False)  # ValueError: not a network
        return cls(cls.networks + nets, devices)

    def check(self, source: str) -> str:
        """``source`` if it may be opened; InvalidVideoError naming why not (nothing is looked up)."""
        check_source(source, allow_devices=self.devices)
        if source.startswith("/dev/video"):
            return source
        host = urlsplit(source).hostname or ""
        if "any" in self.networks:
            return source
        if host == "localhost":
            return source
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise InvalidVideoError(f"{redact(source)!r}: name the camera by its IP address (host names are not "
                                    "resolved here unless the service allows any host: --allow-stream-hosts any)"
                                    ) from None
        if not any(address in ipaddress.ip_network(n, strict=False) for n in self.networks):
            raise InvalidVideoError(f"{redact(source)!r}: {address} is not a network this service may open "
                                    f"(allowed: {', '.join(self.networks)}; the operator widens it with "
                                    "--allow-stream-hosts)")
        return source


@dataclass
class StreamSpec:
    source: str
    lines: list[list[list[float]]] = field(default_factory=list)
    zones: list[list[list[float]]] = field(default_factory=list)
    conf: float | str = "best"
    iou: float = 0.7
    variant: str | None = None
    max_fps: float | None = None
    max_lag: float = 1.0
    empty_after: float | None = None


class Entry(NamedTuple):
    spec: StreamSpec
    state: dict[str, Any]
    stopping: bool  # DELETE asked


class StreamBoard:
    """The streams' keys on the queue's Redis (see the module's docstring)."""

    def __init__(self, queue: JobQueue) -> None:
        self.r, self.key, self.lease = queue.r, queue.key, queue.s.stream_lease
        self._renew = self.r.register_script(_RENEW)

    # --- the API's side -------------------------------------------------------------------------

    def create(self, spec: StreamSpec) -> str:
        sid = uuid.uuid4().hex[:16]
        state = {"state": "waiting", "worker": None, "counts": None, "status": None, "error": None}
        pipe = self.r.pipeline()
        pipe.hset(self.key("stream", sid), mapping={"spec": json.dumps(spec.__dict__), "state": json.dumps(state),
                                                    "created": time.time()})
        pipe.sadd(self.key("streams"), sid)
        pipe.execute()
        return sid

    def read(self, sid: str) -> dict[str, Any] | None:
        raw = self.r.hgetall(self.key("stream", sid))
        if not raw:
            return None
        spec, state = json.loads(raw[b"spec"]), json.loads(raw[b"state"])
        return {"id": sid, "source": redact(spec["source"]), "spec": {k: v for k, v in spec.items() if k != "source"},
                **state, "stopping": b"stop" in raw, "created": float(raw[b"created"])}

    def ids(self) -> list[str]:
        return sorted(m.decode() for m in self.r.smembers(self.key("streams")))

    def stop(self, sid: str) -> bool:
        """Ask the stream's worker to stop it (or end it here when no worker holds it); False if unknown."""
        if not self.r.exists(self.key("stream", sid)):
            return False
        self.r.hset(self.key("stream", sid), "stop", "1")
        if not self.r.exists(self.key("stream", sid, "owner")):
            self.end(sid, "stopped")
        return True

    def events(self, sid: str, after: str = "0-0", block_ms: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        got = self.r.xread({self.key("stream", sid, "events"): after}, block=block_ms, count=100) or []
        return [(eid.decode(), json.loads(fields[b"data"])) for _, entries in got for eid, fields in entries]

    # --- the workers' side ----------------------------------------------------------------------

    def entry(self, sid: str) -> Entry | None:
        """What a worker reads of a stream, or None once it is gone."""
        raw = self.r.hmget(self.key("stream", sid), "spec", "state", "stop")
        if raw[0] is None:
            return None
        return Entry(StreamSpec(**json.loads(raw[0])), json.loads(raw[1]), raw[2] is not None)

    def claim(self, sid: str, worker: str) -> bool:
        return bool(self.r.set(self.key("stream", sid, "owner"), worker, nx=True, px=int(self.lease * 1000)))

    def renew(self, sid: str, worker: str) -> bool:
        """Keep the lease; False when another worker holds it now (this one was taken for dead)."""
        return bool(self._renew(keys=[self.key("stream", sid, "owner")], args=[worker, int(self.lease * 1000)]))

    def save(self, sid: str, state: dict[str, Any], event: dict[str, Any] | None = None) -> None:
        pipe = self.r.pipeline()
        pipe.hset(self.key("stream", sid), "state", json.dumps(state))
        if event is not None:
            pipe.xadd(self.key("stream", sid, "events"), {"data": json.dumps(event)}, maxlen=EVENTS_KEPT,
                      approximate=True)
        pipe.execute()

    def end(self, sid: str, how: str, error: str | None = None, worker: str | None = None) -> None:
        """The stream is over (stopped, or failed with ``error``): kept readable for an hour, then gone."""
        key = self.key("stream", sid)
        raw = self.r.hget(key, "state")
        state = {**(json.loads(raw) if raw else {}), "state": how, "error": error}
        pipe = self.r.pipeline()
        pipe.hset(key, "state", json.dumps(state))
        pipe.xadd(self.key("stream", sid, "events"), {"data": json.dumps({"event": how, "error": error})},
                  maxlen=EVENTS_KEPT, approximate=True)
        pipe.srem(self.key("streams"), sid)
        for k in (key, self.key("stream", sid, "events")):
            pipe.expire(k, ENDED_TTL)
        if worker:
            pipe.delete(self.key("stream", sid, "owner"))
        pipe.execute()

    def running(self) -> list[dict[str, Any]]:
        """Every stream not yet ended, as :meth:`read` gives it (for /metrics and the listing)."""
        out = []
        for sid in self.ids():
            try:
                state = self.read(sid)
            except redis.RedisError:
                continue
            if state:
                out.append(state)
        return out
