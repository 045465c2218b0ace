"""Real parts for the service tests: Debian's redis-server on loopback (AOF on), API and worker processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.helpers.apps import free_port, start_server, stop

REDIS = shutil.which("redis-server")


class RedisServer:
    """One redis-server on 127.0.0.1 with its data dir and AOF under ``root``; restartable with its data."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root, self.port = root, port or free_port()
        self.root.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
                                      "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                                      "--protected-mode", "no"],
                                     stdout=open(self.root / "redis.log", "a"), stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start: {(self.root / 'redis.log').read_text()[-500:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def service_env(hub_root: Path, cache: Path) -> dict:
    return {**os.environ, "YOLODECK_HUB": str(hub_root), "YOLODECK_CACHE": str(cache), "YOLODECK_PROBE": "0"}


def start_api(redis_url: str, env: dict, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = start_server([sys.executable, "-m", "apps.service", "api", "--redis", redis_url, "--port", str(port),
                         *args], port, env, timeout=60)
    return proc, f"http://127.0.0.1:{port}"


def start_worker(redis_url: str, repo: str, env: dict, log: Path, *args: str) -> subprocess.Popen:
    """A worker process; returns once its heartbeat is in Redis."""
    proc = subprocess.Popen([sys.executable, "-m", "apps.service", "worker", "--redis", redis_url, "--repo", repo,
                             *args], env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT)
    client, prefix = redis.Redis.from_url(redis_url), "yolodeck"
    if "--prefix" in args:
        prefix = args[args.index("--prefix") + 1]
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}: {log.read_text()[-1500:]}")
        for key in client.scan_iter(f"{prefix}:worker:*"):
            beat = client.get(key)
            if beat and json.loads(beat).get("pid") == proc.pid:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise TimeoutError(f"worker sent no heartbeat: {log.read_text()[-1500:]}")


__all__ = ["REDIS", "RedisServer", "service_env", "start_api", "start_worker", "stop"]


@contextmanager
def running_service(hub_root: Path, repo: str, cache: Path, tmp: Path, *, workers: int = 2,
                    worker_args: tuple[str, ...] = (), api_args: tuple[str, ...] = ()) -> Iterator[dict]:
    """Redis, ``workers`` workers and one API on ``hub_root``'s ``repo``: the parts a test talks to, stopped after."""
    server = RedisServer(tmp / "redis").start()
    env = service_env(hub_root, cache)
    procs: list[subprocess.Popen] = []
    try:
        procs += [start_worker(server.url, repo, env, tmp / f"worker{i}.log", *worker_args) for i in range(workers)]
        api, url = start_api(server.url, env, *api_args)
        procs.append(api)
        yield dict(url=url, redis=server, env=env, repo=repo, tmp=tmp, workers=procs[:workers], api=api)
    finally:
        for p in procs:
            stop(p)
        server.stop()


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


def can_make_hosts() -> bool:
    """Root, iproute2 and redis-server: what :func:`two_hosts` and a Redis on them need."""
    if not (shutil.which("ip") and REDIS and os.geteuid() == 0):
        return False
    name = f"yd-probe-{uuid.uuid4().hex[:6]}"
    ok = _ip("netns", "add", name).returncode == 0
    _ip("netns", "del", name)
    return ok


@contextmanager
def two_hosts(net: str) -> Iterator[tuple[str, str]]:
    """Two test hosts: network namespaces, each with its own loopback, joined by a veth pair (``net``.1 and
    ``net``.2 /24); run a command on one with ``ip netns exec NAME``. Removed on exit."""
    tag = uuid.uuid4().hex[:6]
    a, b = f"yd-a-{tag}", f"yd-b-{tag}"
    steps = [("netns", "add", a), ("netns", "add", b),
             ("link", "add", f"v{tag}a", "type", "veth", "peer", "name", f"v{tag}b"),
             ("link", "set", f"v{tag}a", "netns", a), ("link", "set", f"v{tag}b", "netns", b),
             ("-n", a, "addr", "add", f"{net}.1/24", "dev", f"v{tag}a"),
             ("-n", b, "addr", "add", f"{net}.2/24", "dev", f"v{tag}b")]
    steps += [("-n", ns, "link", "set", dev, "up") for ns, dev in ((a, f"v{tag}a"), (b, f"v{tag}b"), (a, "lo"), (b, "lo"))]
    try:
        for step in steps:
            done = _ip(*step)
            if done.returncode:
                raise RuntimeError(f"ip {' '.join(step)}: {done.stderr.strip()}")
        yield a, b
    finally:
        _ip("netns", "del", a)
        _ip("netns", "del", b)
