# yolodeck: `make demo` runs the main job, `make test` runs the tests. Both install first.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := chromium ffmpeg redis-server
APT_STAMP := /var/tmp/.yolodeck-apt-$(subst $(eval) ,-,$(APT_PACKAGES))
# Tests run in a network namespace with only loopback when the machine allows it (root).
NETNS := $(shell unshare -n ip link set lo up 2>/dev/null && echo "unshare -n tests/in-netns.sh")

.PHONY: install test test-all bench bench-photos bench-tiles bench-webcam bench-app bench-service bench-video mutations serve demo dashboard demo-checkpoint lint

install: $(STAMP) $(APT_STAMP)

$(STAMP): requirements.txt space/requirements.txt pyproject.toml
	@command -v $(PY) >/dev/null || { echo "need $(PY)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "==> install 1/3: the pinned Python packages into $(VENV) (about 8 GB: PyPI's torch brings CUDA libraries)"
	set -o pipefail; $(BIN)/pip install --disable-pip-version-check --progress-bar on -r requirements.txt \
	  | { grep -v "^Requirement already" || true; }
	@echo "==> install 2/3: yolodeck itself (editable)"
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@echo "==> install 3/3: the Space's lean set as local wheels (its test builds a fresh venv from them, offline)"
	$(BIN)/pip download -q --disable-pip-version-check -r space/requirements.txt -d build/wheels-space
	touch $(STAMP)

# Headless Chromium (browser tests), ffmpeg (the fake webcam) and redis-server (the service's queue), from
# Debian's packages.
$(APT_STAMP):
	@if command -v chromium >/dev/null && command -v ffmpeg >/dev/null && command -v redis-server >/dev/null; then touch $@; \
	elif [ "$$(id -u)" = 0 ]; then echo "==> install: $(APT_PACKAGES) (apt)"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null && touch $@; \
	else echo "note: install $(APT_PACKAGES) (apt) for the browser and service tests; they are skipped without them"; fi

test: install
	$(NETNS) $(BIN)/python -m pytest -q

test-all: install
	$(NETNS) $(BIN)/python -m pytest -q -m "slow or not slow"

bench: install
	$(NETNS) $(BIN)/python -m tests.bench

bench-photos: install
	$(NETNS) $(BIN)/python -m tests.bench_photos

bench-tiles: install
	$(NETNS) $(BIN)/python -m tests.bench_tiles

bench-webcam: install
	$(NETNS) $(BIN)/python -m tests.bench_webcam

bench-app: install
	$(NETNS) $(BIN)/python -m tests.bench_app

# Remakes training/checkpoints/shelves-demo.pt, the committed demo weights (about 30 min on 2 cores).
demo-checkpoint: install
	$(BIN)/python -m training data synth-shelves --out build/shelves --train 160 --val 32 --test 32
	$(BIN)/python -m training train --data build/shelves/data.yaml --epochs 30 --imgsz 416 --batch 16 --out build/runs/shelves-demo
	$(BIN)/python -m training weights build/runs/shelves-demo --out training/checkpoints/shelves-demo.pt --half

# The detection service on the demo deck: redis-server (data under build/redis), the API, cores/2 workers.
serve: install
	$(BIN)/python -m training.demo
	$(BIN)/python -m apps.service up --repo yolodeck/shelves-demo --port 8000

bench-video: install
	$(NETNS) $(BIN)/python -m tests.bench_video

bench-service: install
	$(NETNS) $(BIN)/python -m tests.bench_service

# Hand-made bugs, each run against the tests that must catch it (about 4 min once make test has run).
mutations: install
	$(BIN)/python -m tests.mutations

# Serves as soon as the demo's first variants are pushed; the whole deck builds meanwhile (first run only).
demo: install
	$(BIN)/python -m training.demo --first
	@mkdir -p build; $(BIN)/python -m training.demo > build/demo-deck.log 2>&1 & \
	  echo "==> the demo deck's other variants build in the background (build/demo-deck.log): reload the page to see them"; \
	  $(BIN)/python -m apps.gradio_app --repo yolodeck/shelves-demo --host 127.0.0.1 --port 7860

dashboard: install
	$(BIN)/python -m training.demo
	$(BIN)/streamlit run apps/dashboard.py --server.address 127.0.0.1 --server.port 8501 --server.headless true --browser.gatherUsageStats false -- --repo yolodeck/shelves-demo

lint: install
	$(BIN)/ruff check .
