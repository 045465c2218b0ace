# yolodeck: `make demo` runs the main job, `make test` runs the tests. Both install first.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPACE_WHEELS := build/wheels-space/.stamp
WEB_STAMP := build/web/.installed
# other tools' own Python packages, each in a venv of its own (their pins conflict with ours), run by the tests
CLIENTS := build/venv-inference-sdk/.installed build/venv-label-studio-sdk/.installed
APT_PACKAGES := chromium ffmpeg redis-server
APT_STAMP := /var/tmp/.yolodeck-apt-$(subst $(eval) ,-,$(APT_PACKAGES))
# Tests run in a network namespace with only loopback when the machine allows it (root).
NETNS := $(shell unshare -n ip link set lo up 2>/dev/null && echo "unshare -n tests/in-netns.sh")
# Python's own cache of compiled modules stays on for everything run from here: where PYTHONDONTWRITEBYTECODE is set
# (some CI images and sandboxes set it), each of the many processes the suite and the demo start recompiles all it
# imports (ultralytics, onnxruntime and gradio: 9.6 s to import uncached, 5.3 s cached; the suite 541 s -> 509 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install install-system install-web install-clients demo-static test-needs test test-all bench mutations serve demo dashboard demo-checkpoint lint

# `make install`: the Python packages (what `make demo` needs); `make install-system` adds Debian's packages
# for the tests and the service. uv installs (pinned below, from the package index into the venv itself);
# `make install INSTALLER=pip` is the slower fallback with pip alone. requirements.txt is the one pin list.
UV_VERSION := 0.13.9
INSTALLER ?= uv
ifeq ($(INSTALLER),uv)
PIP_INSTALL = $(BIN)/uv pip install --python $(BIN)/python
else
PIP_INSTALL = $(BIN)/pip install --disable-pip-version-check --progress-bar on
endif
install: $(STAMP)
install-system: $(APT_STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PY) >/dev/null || { echo "need $(PY)"; exit 1; }
	@t0=$$(date +%s); test -x $(BIN)/python || $(PY) -m venv $(VENV); \
	if [ "$(INSTALLER)" = uv ]; then echo "==> install 1/3: uv $(UV_VERSION) into $(VENV) (from the package index)"; \
	  $(BIN)/pip install -q --disable-pip-version-check uv==$(UV_VERSION) || exit 1; fi; \
	echo "==> install 2/3: the pinned Python packages into $(VENV) with $(INSTALLER) (about 8 GB: PyPI's torch brings CUDA libraries)"; \
	$(PIP_INSTALL) -r requirements.txt || exit 1; \
	echo "==> install 3/3: yolodeck itself (editable)"; \
	$(PIP_INSTALL) -q --no-deps -e . || exit 1; \
	echo "==> installed in $$(( $$(date +%s) - t0 )) s"
	touch $(STAMP)

# The Space's lean set as local wheels: its test builds a fresh venv from them, offline.
$(SPACE_WHEELS): space/requirements.txt | $(STAMP)
	set -o pipefail; $(BIN)/pip download -q --disable-pip-version-check -r space/requirements.txt -d build/wheels-space 2>&1 \
	  | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	touch $@

# The static Space's vendored files (onnxruntime-web, plotly.js): npm ci of space/web's lock file (pinned versions
# and integrity hashes; `hub space build --sdk static` checks each file's sha256 again against space/web/vendor.json).
install-web: $(WEB_STAMP)
$(WEB_STAMP): space/web/package.json space/web/package-lock.json
	@command -v npm >/dev/null || { echo "need npm (Node.js) for the static Space's vendored files"; exit 1; }
	@echo "==> install: onnxruntime-web and plotly.js for the static Space (npm ci into build/web)"
	mkdir -p build/web && cp space/web/package.json space/web/package-lock.json build/web/
	cd build/web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

# Roboflow's own client (inference-sdk) in a venv of its own, for tests/apps/test_roboflow.py.
install-clients: $(CLIENTS)
build/venv-%/.installed: tests/clients/requirements-%.txt | $(STAMP)
	test -x build/venv-$*/bin/python || $(PY) -m venv build/venv-$*
	if [ -x $(BIN)/uv ]; then $(BIN)/uv pip install -q --python build/venv-$*/bin/python -r $<; \
	else build/venv-$*/bin/pip install -q --disable-pip-version-check -r $<; fi
	touch $@

# Headless Chromium (browser tests), ffmpeg (the fake webcam) and redis-server (the service's queue), from
# Debian's packages. `make demo` needs none of them.
$(APT_STAMP):
	@if command -v chromium >/dev/null && command -v ffmpeg >/dev/null && command -v redis-server >/dev/null; then touch $@; \
	elif [ "$$(id -u)" = 0 ]; then echo "==> install: $(APT_PACKAGES) (apt)"; t0=$$(date +%s); apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null && touch $@ && \
	  echo "==> apt packages installed in $$(( $$(date +%s) - t0 )) s"; \
	else echo "note: install $(APT_PACKAGES) (apt) for the browser and service tests; they are skipped without them"; fi

# `make test` installs what the tests need besides the venv side by side, then runs pytest: apt, npm, the client
# venvs and the Space's wheels are independent (AMD EPYC, apt's packages present, caches empty: 29.8 s one after
# another, 18.6 s side by side; where apt has work, its 48 s should hide the rest, not measured).
test-needs: install
	@$(MAKE) --no-print-directory -j4 install-system install-web install-clients $(SPACE_WHEELS)

test: test-needs
	$(NETNS) $(BIN)/python -m pytest -q -n 2 --dist worksteal --durations=15

test-all: test-needs
	$(NETNS) $(BIN)/python -m pytest -q -m "slow or not slow"

# Benchmarks (not tests: each prints ratios measured side by side in one run, and names the CPU):
# `make bench-NAME` runs tests/bench/NAME.py (`python -m tests.bench.NAME --help` lists its options).
#   runtime (`make bench`): our runtime against the raw backend call and Ultralytics' predict;
#   photos: large photos end to end; tiles: tiling on dense shelves; parity: the demo deck's mAP through our
#   runtime against Ultralytics' val; deck: deck build time by stage against the test split's size (--workers:
#   across hosts); video, streams (lag at 15 and 30 fps, 2 and 4 streams), webcam, app, service, static (the
#   page's milliseconds per frame beside native ONNX Runtime, and bytes per visit).
bench: bench-runtime
bench-%: install install-system
	$(NETNS) $(BIN)/python -m tests.bench.$*
bench-static: install-web

# Remakes training/checkpoints/shelves-demo.pt, the committed demo weights (classes product and empty): yolov8n
# trained 30 epochs at 416 on synth-shelves (products only), fine-tuned 30 epochs on synth-shelves --with-empty,
# where the gaps are labelled `empty`, then 20 more at 320, the size the demo deck runs at (AP50-95 on its test
# split: product 0.874 -> 0.906, empty 0.603 -> 0.653). About 65 minutes on 2 cores (AMD EPYC).
demo-checkpoint: install
	$(BIN)/python -m training data synth-shelves --out build/shelves --train 160 --val 32 --test 32
	$(BIN)/python -m training train --data build/shelves/data.yaml --epochs 30 --imgsz 416 --batch 16 --out build/runs/shelves-demo
	$(BIN)/python -m training weights build/runs/shelves-demo --out build/shelves-demo-products.pt --half
	$(BIN)/python -m training data synth-shelves --out build/shelves-empty --train 160 --val 32 --test 32 --with-empty
	$(BIN)/python -m training train --data build/shelves-empty/data.yaml --epochs 30 --imgsz 416 --batch 16 \
		--weights build/shelves-demo-products.pt --out build/runs/shelves-empty-demo
	$(BIN)/python -m training weights build/runs/shelves-empty-demo --out build/shelves-demo-empty.pt --half
	$(BIN)/python -m training train --data build/shelves-empty/data.yaml --epochs 20 --imgsz 320 --batch 16 \
		--weights build/shelves-demo-empty.pt --out build/runs/shelves-empty-320
	$(BIN)/python -m training weights build/runs/shelves-empty-320 --out training/checkpoints/shelves-demo.pt --half

# The detection service on the demo deck: redis-server (data under build/redis), the API, cores/2 workers.
serve: install install-system
	$(BIN)/python -m training.demo
	$(BIN)/python -m apps.service up --repo yolodeck/shelves-demo --port 8000

# Hand-made bugs, each run against the tests that must catch it (about 4 min once make test has run).
mutations: install install-system install-web install-clients $(SPACE_WHEELS)
	$(BIN)/python -m tests.tools.mutations

# Serves as soon as the demo's first variants are pushed; the whole deck builds meanwhile (first run only).
demo: install
	$(BIN)/python -m training.demo --first
	@mkdir -p build; $(BIN)/python -m training.demo > build/demo-deck.log 2>&1 & \
	  echo "==> the demo deck's other variants build in the background (build/demo-deck.log): reload the page to see them"; \
	  $(BIN)/python -m apps.gradio_app --repo yolodeck/shelves-demo --host 127.0.0.1 --port 7860

# The demo deck as a static Space (the model runs in the browser), served with the headers the Hub sets.
demo-static: install install-web
	$(BIN)/python -m training.demo --first
	rm -rf build/static-space
	$(BIN)/hub space build --sdk static --model yolodeck/shelves-demo --bundle --out build/static-space
	$(BIN)/python -m space.serve_static build/static-space --port 7861

dashboard: install
	$(BIN)/python -m training.demo
	$(BIN)/streamlit run apps/dashboard.py --server.address 127.0.0.1 --server.port 8501 --server.headless true --browser.gatherUsageStats false -- --repo yolodeck/shelves-demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/python -m mypy
