# mlops-nb developer entry points. Each target does its own set-up on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# the browser tests drive Debian's /usr/bin/chromium: never let npm download Playwright's browsers
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: setup system-deps base-image lab demo test lint typecheck unit clean extension jest orchestrators

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m compileall -q mlops_nb  # an editable install is not byte-compiled by pip
	touch $(STAMP)

setup: $(STAMP)

# Airflow 3 and the kfp SDK for the pipeline-export tests, in their own virtualenv (their pins
# differ from ours; see scripts/orchestrators-requirements.txt). The committed constraints file
# is the complete resolved set (no constraints file is fetched from a hub): installed as is,
# without resolving again or byte-compiling 150 packages (what runs compiles on first use), then
# checked. Regenerate it with a plain `pip install -r orchestrators-requirements.txt` + freeze.
ORCH := .venv-orchestrators
$(ORCH)/.installed: scripts/orchestrators-requirements.txt scripts/orchestrators-constraints.txt
	test -x $(ORCH)/bin/python || $(PYTHON) -m venv $(ORCH)
	$(ORCH)/bin/python -m pip install -q --no-deps --no-compile \
	  -r scripts/orchestrators-constraints.txt
	$(ORCH)/bin/python -m pip check
	touch $@

orchestrators: $(ORCH)/.installed

system-deps:
	bash scripts/install-system-deps.sh

# Local Python base image from Debian packages (no registry needed), cached by tag.
base-image: system-deps
	bash scripts/build-base-image.sh

# as root (containers, CI machines) Jupyter insists on --allow-root
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

# The lab extension (extension/ -> mlops_nb/labextension), rebuilt when its sources changed, and
# linked into the venv (an editable install copies the build of its install time).
JLPM := PATH="$(CURDIR)/$(BIN):$$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(CURDIR)/$(BIN)/jlpm
EXT_SRC := $(shell find extension/src extension/style -type f 2>/dev/null) extension/package.json
LABEXT := mlops_nb/labextension/package.json

extension/node_modules/.yarn-state.yml: extension/package.json extension/yarn.lock | $(STAMP)
	cd extension && $(JLPM) install
	touch $@

$(LABEXT): $(EXT_SRC) extension/node_modules/.yarn-state.yml
	cd extension && $(JLPM) build:prod
	touch $@

extension: $(LABEXT)
	@dest=$(VENV)/share/jupyter/labextensions/mlops-nb; \
	if [ "$$(readlink $$dest)" != "$(CURDIR)/mlops_nb/labextension" ]; then \
	  rm -rf $$dest && mkdir -p $$(dirname $$dest) && ln -s $(CURDIR)/mlops_nb/labextension $$dest; fi

jest: extension/node_modules/.yarn-state.yml
	cd extension && $(JLPM) jest

lab: setup extension
	cd notebooks && ../$(BIN)/jupyter lab --ServerApp.root_dir=. --ip=127.0.0.1 $(ALLOW_ROOT)

demo: setup
	$(BIN)/python scripts/demo.py

lint: setup
	$(BIN)/ruff check mlops_nb tests benchmarks scripts
	$(BIN)/ruff format --check mlops_nb tests benchmarks scripts

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest tests/unit -q

test: setup system-deps lint typecheck extension jest orchestrators
	$(BIN)/pytest tests -q

clean:
	rm -rf $(VENV) $(ORCH) build dist .pytest_cache .mypy_cache .ruff_cache
