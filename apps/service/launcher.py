"""``python -m apps.service up`` (``make serve``): redis-server, the API and N workers on this machine.

Redis keeps its data and append-only file under ``--data`` (default ``build/redis``), so queued jobs
survive a restart. Ctrl-C (or SIGTERM) stops the workers (each finishes its job), the API, then Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on port {port} within {timeout:.0f} s")


def up(repo: str, *, workers: int | None = None, port: int = 8000, redis_port: int = 6379,
       data: Path = Path("build/redis"), variant: str = "auto", extra: list[str] | None = None) -> int:
    server = shutil.which("redis-server")
    if not server:
        raise SystemExit("redis-server is not installed: `make install` installs Debian's package (as root), "
                         "or point --redis at a Redis you run")
    n = workers or max(1, (os.cpu_count() or 2) // 2)
    data.mkdir(parents=True, exist_ok=True)
    url = f"redis://127.0.0.1:{redis_port}/0"
    py = [sys.executable, "-m", "apps.service"]
    procs: list[tuple[str, subprocess.Popen]] = []
    try:
        redis_proc = subprocess.Popen([server, "--port", str(redis_port), "--bind", "127.0.0.1", "--dir",
                                       str(data.resolve()), "--appendonly", "yes", "--save", ""],
                                      stdout=open(data / "redis.log", "a"), stderr=subprocess.STDOUT)
        procs.append(("redis", redis_proc))
        _wait_port(redis_port, redis_proc, "redis-server")
        for i in range(n):
            procs.append((f"worker {i + 1}", subprocess.Popen(
                [*py, "worker", "--redis", url, "--repo", repo, "--variant", variant, *(extra or [])])))
        api = subprocess.Popen([*py, "api", "--redis", url, "--port", str(port), *(extra or [])])
        procs.append(("api", api))
        _wait_port(port, api, "the API")
        print(f"\nyolodeck service on {repo}: {n} worker(s), Redis {url} (data in {data})\n"
              f"  API docs   http://127.0.0.1:{port}/docs\n  detect     curl -F image=@shelf.jpg "
              f"http://127.0.0.1:{port}/v1/detect\n  models     http://127.0.0.1:{port}/v1/models\n"
              f"  metrics    http://127.0.0.1:{port}/metrics\nCtrl-C stops all of them.\n", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(p.poll() is None for _, p in procs):
            time.sleep(0.5)
        gone = next(name for name, p in procs if p.poll() is not None)
        print(f"{gone} stopped; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for name, p in reversed(procs):  # the API and workers first, Redis last (it flushes its AOF)
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    print(f"{name} did not stop in 15 s: killed", file=sys.stderr)
                    p.kill()
