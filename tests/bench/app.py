"""``make bench-app``: the app's round trip through ``gradio_client``, beside Gradio's own floor.

Two servers on the demo deck, started side by side: the app, and the same app with every handler
answering from a cache of one real result (``tests.bench.webcam_app --floor``: the same
components, inputs and outputs, no model, no drawing, no files written, Gradio's own queue
settings). The floor is what Gradio itself costs for this shape of request on this machine; the
ratio is what the app adds. ``/detect`` on a 640 px shelf, ``/frame`` on a 320 x 240 frame and
``/compare`` (every variant) with 1 client and with 8 clients at once, blocks in turn. Prints
what this one run measured.

    python -m tests.bench.app [--calls 24] [--rounds 3] [--clients 1,8] [--apis /detect,/frame,/compare]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

import hub.base.offline

hub.base.offline.configure()


def _inputs(folder: Path) -> dict[str, tuple]:
    import cv2

    from training.data.synth_shelves import render

    shelf = render(np.random.default_rng([5, 1]), width=640, height=640)[0]
    cv2.imwrite(str(folder / "shelf.png"), shelf)
    cv2.imwrite(str(folder / "frame.jpg"), cv2.resize(shelf, (320, 240)))
    return {"/detect": ("shelf.png", 0.25, 0.7, 320, [], "off"), "/frame": ("frame.jpg", 0.25, 0.7),
            "/compare": ("shelf.png", 0.25, 0.7)}


def _block(url: str, api: str, args: tuple, folder: Path, deck: tuple, clients: int, calls: int) -> list[float]:
    """``calls`` requests split over ``clients`` threads, each with its own client; ms per request."""
    from gradio_client import Client, handle_file

    repo, backend, precision = deck
    image, *rest = args
    payload = {"/detect": lambda: (handle_file(str(folder / image)), repo, "main", backend, precision, *rest),
               "/frame": lambda: (handle_file(str(folder / image)), repo, "main", backend, precision, *rest),
               "/compare": lambda: (handle_file(str(folder / image)), repo, "main", *rest)}[api]
    made = [Client(url, verbose=False) for _ in range(clients)]
    times: list[float] = []
    lock = threading.Lock()

    def worker(client) -> None:
        for _ in range(calls // clients):
            t = time.perf_counter()
            client.predict(*payload(), api_name=api)
            with lock:
                times.append((time.perf_counter() - t) * 1e3)

    threads = [threading.Thread(target=worker, args=(c,)) for c in made]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    for c in made:
        c.close()
    return times + [-len(times) / wall]  # the block's rate rides along as a negative last element


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=24, help="requests per block")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--apis", default="/detect,/frame,/compare")
    parser.add_argument("--app-flags", default="", help="for the app row, e.g. --busy-queue (Gradio's own 1 ms poll)")
    args = parser.parse_args(argv)
    import hub
    from hub.deck.probe import cpu
    from tests.helpers.apps import free_port, start_server, stop
    from training.demo import ensure_demo

    repo = ensure_demo()
    best = hub.open_deck(repo).default_variant(threads=1)
    deck = (repo, best.backend, best.precision)
    clients = [int(n) for n in args.clients.split(",")]
    apis = args.apis.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = _inputs(folder)
        env = {**os.environ, "GRADIO_TEMP_DIR": str(folder / "gradio")}
        servers = {}
        for name, extra in (("app", args.app_flags.split()), ("floor", ["--floor"])):
            port = free_port()
            cmd = [sys.executable, "-m", "tests.bench.webcam_app", "--repo", repo, "--port", str(port), *extra]
            servers[name] = (start_server(cmd, port, env, timeout=300), f"http://127.0.0.1:{port}/")
        try:
            for _, url in servers.values():  # warm both: the model cache, the floor's one real result
                for api in apis:
                    _block(url, api, inputs[api], folder, deck, 1, 2)
            print(f"{repo}, {best.id} (the default here); 2 events at once per server; CPU {cpu()}\n")
            head = (f"{'api':<9} {'clients':>7} {'floor p50':>10} {'app p50':>9} {'ratio':>6} "
                    f"{'floor req/s':>12} {'app req/s':>10}")
            print(head + "\n" + "-" * len(head), flush=True)
            for api in apis:
                for n in clients:
                    got: dict[str, list[list[float]]] = {"floor": [], "app": []}
                    for _ in range(args.rounds):  # blocks in turn: the machine's moments fall on both alike
                        for name in ("floor", "app"):
                            calls = args.calls if api != "/compare" else max(n, args.calls // 4)
                            got[name].append(_block(servers[name][1], api, inputs[api], folder, deck, n, calls))
                    p50 = {k: min(statistics.median(b[:-1]) for b in v) for k, v in got.items()}
                    rate = {k: max(-b[-1] for b in v) for k, v in got.items()}
                    print(f"{api:<9} {n:>7} {p50['floor']:>8.0f}ms {p50['app']:>7.0f}ms "
                          f"{p50['app'] / p50['floor']:>5.2f}x {rate['floor']:>12.1f} {rate['app']:>10.1f}",
                          flush=True)
        finally:
            for proc, _ in servers.values():
                stop(proc)
    print("\np50: the quietest block's median over the rounds; req/s: the best block's rate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
