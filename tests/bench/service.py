"""`make bench-service`: Locust (headless, closed loop) against the service with 1 and 2 workers, and against
the seed's shape (one FastAPI process calling Ultralytics' predict) in the same run, on the demo deck.

Prints requests/s, p50/p95/p99 and failures per row, then the ratios. Everything shares this machine's
cores: Locust, the API, Redis and the workers (say which CPU with the figures; this script prints it).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hub.base.offline

hub.base.offline.configure()


def locust(url: str, route: str, users: int, seconds: int, images: Path, out: Path) -> dict:
    prefix = out / f"{route.strip('/').replace('/', '_')}-{users}-{int(time.time() * 1000)}"
    env = {**os.environ, "BENCH_IMAGES": str(images), "BENCH_ROUTE": route}
    subprocess.run([sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locust_detect.py")),
                    "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", url,
                    "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR", "--stop-timeout", "5"],
                   env=env, check=False, capture_output=True, timeout=seconds + 120)
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))
    agg = next(r for r in rows if r["Name"] == "Aggregated")
    failures = list(csv.DictReader(open(f"{prefix}_failures.csv"))) if Path(f"{prefix}_failures.csv").exists() else []
    return {"users": users, "rps": float(agg["Requests/s"]), "p50": float(agg["50%"]), "p95": float(agg["95%"]),
            "p99": float(agg["99%"]), "requests": int(agg["Request Count"]), "failures": int(agg["Failure Count"]),
            "errors": sorted({f["Error"][:60] for f in failures})}


def main(argv: list[str] | None = None) -> int:
    from hub.deck.probe import cpu
    from tests.helpers.apps import free_port, start_server, stop
    from tests.helpers.service import RedisServer, start_api, start_worker
    from training.demo import DEMO_REPO, ensure_demo_deck

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="per row")
    parser.add_argument("--users", type=int, nargs="*", default=[1, 4, 8, 16])
    args = parser.parse_args(argv)
    deck = ensure_demo_deck()
    images = deck / "examples"
    tmp = Path(tempfile.mkdtemp(prefix="yolodeck-bench-service-"))
    env = dict(os.environ)  # the demo deck where `make demo` put it
    server = RedisServer(tmp / "redis").start()
    table: list[tuple[str, dict]] = []
    print(f"cpu: {cpu()}; images: {images} ({len(list(images.glob('*.jpg')))} shelf photos)", flush=True)
    try:
        for n in (1, 2):
            prefix = f"bench{n}"
            workers = [start_worker(server.url, DEMO_REPO, env, tmp / f"w{n}-{i}.log", "--prefix", prefix)
                       for i in range(n)]
            api, url = start_api(server.url, env, "--prefix", prefix)
            import httpx

            served = httpx.get(url + "/v1/models").json()["default"]
            for users in args.users:
                table.append((f"service, {n} worker{'s' if n > 1 else ''} ({served})",
                              locust(url, "/v1/detect", users, args.seconds, images, tmp)))
                print(table[-1], flush=True)
            if n == 2:  # past saturation: a short queue answers 503 at once instead of letting requests time out
                stop(api)
                api, url = start_api(server.url, env, "--prefix", prefix, "--max-queue", "4")
                table.append(("service, 2 workers, --max-queue 4", locust(url, "/v1/detect", 64, args.seconds,
                                                                         images, tmp)))
                print(table[-1], flush=True)
            for p in (*workers, api):
                stop(p)
        port = free_port()
        base = start_server([sys.executable, str(Path(__file__).with_name("service_baseline.py")),
                             str(deck / "model-fp32.onnx"), str(port), "320"], port, env, timeout=120)
        for users in args.users:
            table.append(("baseline: FastAPI + YOLO(onnx-fp32).predict",
                          locust(f"http://127.0.0.1:{port}", "/predict", users, args.seconds, images, tmp)))
            print(table[-1], flush=True)
        stop(base)
    finally:
        server.stop()
    print(f"\n{'setup':52} {'users':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'fail':>5}")
    for name, r in table:
        print(f"{name:52} {r['users']:5d} {r['rps']:7.1f} {r['p50']:7.0f} {r['p95']:7.0f} {r['p99']:7.0f} "
              f"{r['failures']:5d} {'; '.join(r['errors'])}")
    top = max(args.users)

    def at(prefix: str) -> dict:
        return next(r for name, r in table if name.startswith(prefix) and r["users"] == top)

    one, two, seed = at("service, 1"), at("service, 2 workers ("), at("baseline")
    print(f"\nat {top} users: service (2 workers) / baseline = {two['rps'] / max(seed['rps'], 1e-9):.2f}x req/s, "
          f"p95 {two['p95']:.0f} vs {seed['p95']:.0f} ms; second worker: {two['rps'] / max(one['rps'], 1e-9):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
