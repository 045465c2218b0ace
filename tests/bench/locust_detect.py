"""Locust user for `make bench-service`: uploads shelf photos as fast as answers come back (closed loop).

$BENCH_IMAGES: a folder of JPEGs; $BENCH_ROUTE: /v1/detect (the service) or /predict (the baseline).
"""

import os
import random
from pathlib import Path

from locust import HttpUser, task

IMAGES = [p.read_bytes() for p in sorted(Path(os.environ["BENCH_IMAGES"]).glob("*.jpg"))]
ROUTE = os.environ.get("BENCH_ROUTE", "/v1/detect")


class Uploader(HttpUser):
    @task
    def detect(self) -> None:
        with self.client.post(ROUTE, files={"image": ("shelf.jpg", random.choice(IMAGES), "image/jpeg")},
                              data={"timeout": "30"}, name=ROUTE, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:120]}")
