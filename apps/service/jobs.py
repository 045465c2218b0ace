"""The job queue on Redis Streams, shared by the API (submit, wait, read) and the workers (take, finish).

Keys, under a prefix (default ``yolodeck``):

- ``jobs:<variant>``: a stream per served variant, read by the consumer group ``workers``. An entry
  holds only the job id; it is acknowledged and deleted once the job's result (or error) is stored,
  so the stream's length is the work not yet done: queued plus running. Submitting past ``max_queue``
  is refused atomically (a Lua script), never buffered.
- ``job:<id>``: a hash: status (queued | running | done | failed), variant, params (JSON), image
  (bytes, removed when the job ends), tries, error, result (JSON), times. It expires ``ttl`` seconds
  after the job ends (and ``ttl`` + ``max_age`` after submission at the latest).
- ``done:<id>``: a list a finished job pushes to, so that a waiting request wakes at once (BLPOP).
- ``idem:<key>``: an ``Idempotency-Key`` -> the job id it created (for ``ttl`` seconds).
- ``file:<id>:<name>``: a video job's result files (the annotated clip, the CSV), for ``ttl`` seconds.
- ``dead``: the dead-letter stream: jobs that failed ``max_tries`` times, with their last error.
- ``worker:<name>``: a worker's heartbeat (JSON, expires after ``heartbeat_ttl`` seconds unless renewed).

A job that a worker took and did not finish (it died, or its run raised) stays pending in the group;
after ``claim_after`` idle seconds any worker of that variant claims it (XAUTOCLAIM) and runs it
again, until it has been tried ``max_tries`` times: then it goes to ``dead`` and its client gets the
error. Results are stored before the entry is acknowledged: a worker killed in between makes another
run the job again and store the same result under the same id, never a second result.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis

from apps.service.errors import QueueFullError

GROUP = "workers"
STATUSES = ("queued", "running", "done", "failed")

# KEYS: stream, job hash; ARGV: max_queue, job id, expire seconds, then the hash's field/value pairs.
_SUBMIT = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('XADD', KEYS[1], '*', 'id', ARGV[2])
return 1
"""


WAIT_SLICE = 1.0  # seconds one blocking read waits at most: well under the Redis client's socket timeout


@dataclass(frozen=True)
class QueueRules:
    prefix: str = "yolodeck"
    max_queue: int = 256  # unfinished jobs per variant before submits are refused (503)
    max_tries: int = 3  # runs of one job before it is dead-lettered
    claim_after: float = 5.0  # seconds a taken job may stay unacknowledged before another worker claims it
    ttl: int = 3600  # seconds a finished job's result stays readable
    max_age: int = 3600  # seconds a job may wait in the queue before its hash expires
    heartbeat_ttl: float = 5.0  # a worker that has not renewed its heartbeat for this long is gone
    stream_lease: float = 3.0  # seconds a live stream stays with a worker that stopped renewing it


@dataclass(frozen=True)
class Taken:
    """A job a worker took from its stream."""

    entry: str  # the stream entry id (what is acknowledged)
    id: str  # the job id
    tries: int  # runs before this one
    claimed: bool  # taken over from a worker that did not finish it


class JobQueue:
    """One Redis, one prefix. Thread-safe (redis-py's pool)."""

    def __init__(self, client: redis.Redis, settings: QueueRules = QueueRules()) -> None:
        self.r, self.s = client, settings
        self._submit = client.register_script(_SUBMIT)

    @classmethod
    def connect(cls, url: str, settings: QueueRules = QueueRules()) -> JobQueue:
        return cls(redis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=10), settings)

    def key(self, *parts: str) -> str:
        return ":".join((self.s.prefix, *parts))

    # --- the API's side ----------------------------------------------------------------------------

    def submit(self, variant: str, image: bytes, params: dict[str, Any], *, idempotency_key: str | None = None
               ) -> tuple[str, bool]:
        """Queue a job; (job id, whether it is new). The same ``idempotency_key`` returns the first job.

        Raises:
            QueueFullError: the variant's queue is at ``max_queue``.
        """
        job = uuid.uuid4().hex
        if idempotency_key:
            idem = self.key("idem", idempotency_key)
            if not self.r.set(idem, job, nx=True, ex=self.s.ttl):
                first = self.r.get(idem)
                if first and self.r.exists(self.key("job", first.decode())):
                    return first.decode(), False
                self.r.set(idem, job, ex=self.s.ttl)  # the first job expired: this one takes the key
        fields = {"status": "queued", "variant": variant, "params": json.dumps(params), "image": image,
                  "tries": 0, "submitted": time.time()}
        flat = [x for kv in fields.items() for x in kv]
        if not self._submit(keys=[self.key("jobs", variant), self.key("job", job)],
                            args=[self.s.max_queue, job, self.s.ttl + self.s.max_age, *flat]):
            if idempotency_key:
                self.r.delete(self.key("idem", idempotency_key))
            raise QueueFullError(f"the queue for {variant} holds {self.s.max_queue} unfinished jobs")
        return job, True

    def job(self, job: str) -> dict[str, Any] | None:
        """The job's state without its image: status, variant, tries, error, result (parsed), times."""
        raw = self.r.hgetall(self.key("job", job))
        if not raw:
            return None
        out: dict[str, Any] = {k.decode(): v for k, v in raw.items() if k != b"image"}
        for k in ("status", "variant", "error", "worker"):
            if k in out:
                out[k] = out[k].decode()
        for k in ("params", "result"):
            if k in out:
                out[k] = json.loads(out[k])
        for k in ("submitted", "started", "finished"):
            if k in out:
                out[k] = float(out[k])
        out["tries"] = int(out.get("tries", 0))
        return out

    def wait(self, job: str, timeout: float) -> dict[str, Any] | None:
        """The job's state once it has ended, or as it is after ``timeout`` seconds.

        Blocks in slices of ``WAIT_SLICE`` seconds: one BLPOP as long as the whole wait outlasted the client's socket
        timeout (redis-py's default is 5 s) whenever a job waited for a dead worker's claim, and the request failed
        with "Timeout reading from socket" although Redis was up. Each slice also looks at the job again.
        """
        deadline = time.monotonic() + timeout
        state = self.job(job)
        while state is not None and state["status"] not in ("done", "failed"):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.r.blpop([self.key("done", job)], timeout=max(0.01, min(left, WAIT_SLICE)))
            state = self.job(job)
        return state

    def depth(self, variant: str) -> int:
        """Unfinished jobs (queued + running) of one variant."""
        return int(self.r.xlen(self.key("jobs", variant)))

    def dead_letters(self, count: int = 100) -> list[dict[str, str]]:
        return [{k.decode(): v.decode() for k, v in fields.items()}
                for _, fields in self.r.xrevrange(self.key("dead"), count=count)]

    # --- the workers' side -------------------------------------------------------------------------

    def join(self, variant: str) -> None:
        """Create the variant's stream and group if need be (from the start: jobs queued before count)."""
        try:
            self.r.xgroup_create(self.key("jobs", variant), GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def take(self, variant: str, worker: str, *, count: int = 1, block_ms: int = 1000) -> list[Taken]:
        """Jobs for ``worker``: first any left unfinished by others for ``claim_after`` s, else new ones."""
        stream = self.key("jobs", variant)
        _, claimed, _ = self.r.xautoclaim(stream, GROUP, worker, int(self.s.claim_after * 1000), "0-0",
                                          count=count)
        entries = [(e, f, True) for e, f in claimed if f]
        if not entries:
            got = self.r.xreadgroup(GROUP, worker, {stream: ">"}, count=count, block=block_ms)
            entries = [(e, f, False) for _, items in got for e, f in items]
        taken = []
        for entry, fields, was_claimed in entries:
            job = fields[b"id"].decode()
            tries = self.r.hget(self.key("job", job), "tries")
            if tries is None:  # expired while it waited: nothing to run, nobody to answer
                self._ack(variant, entry.decode())
                continue
            taken.append(Taken(entry.decode(), job, int(tries), was_claimed))
        return taken

    def image(self, job: str) -> tuple[bytes | None, dict[str, Any]]:
        data, params = self.r.hmget(self.key("job", job), "image", "params")
        return data, json.loads(params) if params else {}

    def start(self, taken: Taken, worker: str) -> int:
        """Mark a job running; its try number (1 for the first run)."""
        key = self.key("job", taken.id)
        pipe = self.r.pipeline()
        pipe.hincrby(key, "tries", 1)
        pipe.hset(key, mapping={"status": "running", "worker": worker, "started": time.time()})
        return int(pipe.execute()[0])

    def finish(self, variant: str, taken: Taken, result: dict[str, Any]) -> None:
        """Store the result, then acknowledge (in one MULTI: both or neither)."""
        self._end(variant, taken, {"status": "done", "result": json.dumps(result), "finished": time.time()})

    def touch(self, variant: str, taken: Taken, worker: str) -> None:
        """Reset a long job's idle time (a video), so that no other worker claims it while this one runs it."""
        self.r.xclaim(self.key("jobs", variant), GROUP, worker, 0, [taken.entry], justid=True)

    def store_file(self, job: str, name: str, data: bytes) -> None:
        """A result file (a video job's clip and CSV), readable for ``ttl`` seconds."""
        self.r.set(self.key("file", job, name), data, ex=self.s.ttl)

    def file(self, job: str, name: str) -> bytes | None:
        return self.r.get(self.key("file", job, name))

    def retry_later(self, taken: Taken, error: str) -> None:
        """Leave the job pending (another take claims it after ``claim_after`` s), noting why it failed."""
        self.r.hset(self.key("job", taken.id), mapping={"status": "queued", "error": error})

    def fail(self, variant: str, taken: Taken, error: str, tries: int) -> None:
        """Dead-letter the job: its client reads ``error``."""
        message = f"failed {tries} time{'s' if tries != 1 else ''}: {error}"
        self._end(variant, taken, {"status": "failed", "error": message, "finished": time.time()},
                  dead={"id": taken.id, "variant": variant, "error": error, "tries": str(tries)})

    def _end(self, variant: str, taken: Taken, fields: dict[str, Any], dead: dict[str, str] | None = None) -> None:
        key, done = self.key("job", taken.id), self.key("done", taken.id)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(key, mapping=fields)
        pipe.hdel(key, "image")
        pipe.expire(key, self.s.ttl)
        if dead:
            pipe.xadd(self.key("dead"), dead, maxlen=10_000, approximate=True)
        pipe.rpush(done, 1)
        pipe.expire(done, 60)
        pipe.xack(self.key("jobs", variant), GROUP, taken.entry)
        pipe.xdel(self.key("jobs", variant), taken.entry)
        pipe.execute()

    def _ack(self, variant: str, entry: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.xack(self.key("jobs", variant), GROUP, entry)
        pipe.xdel(self.key("jobs", variant), entry)
        pipe.execute()

    # --- who serves what ---------------------------------------------------------------------------

    def beat(self, name: str, info: dict[str, Any]) -> None:
        self.r.set(self.key("worker", name), json.dumps({**info, "seen": time.time()}),
                   px=int(self.s.heartbeat_ttl * 1000))

    def leave(self, name: str) -> None:
        self.r.delete(self.key("worker", name))

    def workers(self) -> list[dict[str, Any]]:
        """The live workers' heartbeats."""
        keys = list(self.r.scan_iter(self.key("worker", "*"), count=1000))
        return [json.loads(v) for v in self.r.mget(keys) if v] if keys else []
