"""Scale-out across hosts: Redis and the API on one test host, two workers and a client on another.

The hosts are network namespaces this test makes (``ip netns add`` and a veth pair, 10.77.0.0/24),
each with its own loopback: the workers reach Redis, and the client the API, only over the veth.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.helpers.service import REDIS, can_make_hosts, two_hosts

NET = "10.77.0"


pytestmark = pytest.mark.skipif(not can_make_hosts(), reason="needs root, iproute2 and redis-server")


@pytest.fixture
def hosts():
    """Two hosts joined by a veth pair: (server host, worker host)."""
    with two_hosts(NET) as pair:
        yield pair


CLIENT = """
import json, sys, httpx
url, paths = sys.argv[1], sys.argv[2:]
out = []
with httpx.Client(base_url=url, timeout=60) as http:
    for i in range(24):
        p = paths[i % len(paths)]
        r = http.post("/v1/detect", files={"image": (p, open(p, "rb").read())}, data={"timeout": "30"})
        r.raise_for_status()
        out.append({"worker": r.json()["worker"], "boxes": len(r.json()["detections"])})
print(json.dumps(out))
"""


def test_workers_on_another_host_serve_the_api_across_the_link(hosts, demo_hub, state_dir, tiny_data, tmp_path):
    from pathlib import Path

    from tests.helpers.service import service_env

    server_host, worker_host = hosts
    root, repo = demo_hub
    env = {**service_env(root, state_dir / "service-cache"), "NETGUARD_OWN_HOSTS": f"{NET}.1"}
    port, api_port = 6390, 8090
    procs = []

    def on(ns: str, *cmd: str, log: str) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], env=env, stdout=open(tmp_path / log, "w"),
                             stderr=subprocess.STDOUT)
        procs.append(p)
        return p

    try:
        on(server_host, REDIS, "--port", str(port), "--bind", f"{NET}.1", "127.0.0.1", "--dir", str(tmp_path),
           "--save", "", "--protected-mode", "no", log="redis.log")
        time.sleep(0.3)
        on(server_host, sys.executable, "-m", "apps.service", "api", "--redis", f"redis://127.0.0.1:{port}/0",
           "--host", f"{NET}.1", "--port", str(api_port), log="api.log")
        workers = [on(worker_host, sys.executable, "-m", "apps.service", "worker", "--redis",
                      f"redis://{NET}.1:{port}/0", "--repo", repo, "--variant", "onnx-fp32", log=f"w{i}.log")
                   for i in range(2)]
        images = sorted(str(p) for p in (Path(tiny_data).parent / "images" / "test").iterdir())
        deadline = time.time() + 90
        while time.time() < deadline:  # both workers' heartbeats, read from the worker host's side
            probe = subprocess.run(["ip", "netns", "exec", worker_host, sys.executable, "-c",
                                    f"import httpx; print(httpx.get('http://{NET}.1:{api_port}/v1/models').text)"],
                                   env=env, capture_output=True, text=True, timeout=60)
            if probe.returncode == 0 and '"workers":2' in probe.stdout.replace(" ", ""):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"no two workers: {probe.stdout[-500:]} {probe.stderr[-500:]} "
                        f"{(tmp_path / 'w0.log').read_text()[-800:]}")
        client = subprocess.run(["ip", "netns", "exec", worker_host, sys.executable, "-c", CLIENT,
                                 f"http://{NET}.1:{api_port}", *images[:4]], env=env, capture_output=True, text=True,
                                timeout=120)
        assert client.returncode == 0, client.stderr[-1500:]
        answers = json.loads(client.stdout)
        assert len(answers) == 24 and all(a["boxes"] > 0 for a in answers)
        assert {a["worker"].rsplit("-", 1)[1] for a in answers} == {str(w.pid) for w in workers}  # both hosts' workers
        # the server host's loopback is its own: from the worker host, 127.0.0.1 has no API
        local = subprocess.run(["ip", "netns", "exec", worker_host, sys.executable, "-c",
                                f"import socket; print(socket.socket().connect_ex(('127.0.0.1', {api_port})))"],
                               env=env, capture_output=True, text=True, timeout=30)
        assert local.stdout.strip() != "0"
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
