# Two commands do all the set-up on a fresh Debian machine with Python 3.11 and Node 20:
#   make demo   – install, seed a demo hub, start JupyterLab on 127.0.0.1
#   make test   – install, run the checks (make lint), then the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := .demo
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: demo test install lint format bench clean chromium api-types frontend-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Editable install: builds the JupyterLab extension (Node via jlpm), links it, enables the server extension.
$(VENV)/.installed: $(BIN)/python pyproject.toml package.json
	$(BIN)/pip install -q -e ".[test,postgres]"
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jupyter labextension develop --overwrite . >/dev/null
	$(BIN)/jupyter server extension enable --sys-prefix labcycle >/dev/null
	touch $@

install: $(VENV)/.installed

# JupyterHub's proxy for the multi-user tests (tests/jupyterhub), from npm into the venv.
CHP := $(VENV)/chp/node_modules/.bin/configurable-http-proxy
$(CHP): | $(BIN)/python
	mkdir -p $(VENV)/chp && echo '{"private": true}' > $(VENV)/chp/package.json
	npm install --prefix $(VENV)/chp --no-audit --no-fund --silent configurable-http-proxy@5

# Browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: install
	@mkdir -p $(DEMO)/workspace
	@test -f $(DEMO)/workspace/.labcycle-demo.json || LABCYCLE_HOME=$(CURDIR)/$(DEMO)/home $(BIN)/labcycle demo seed --workspace $(DEMO)/workspace
	@echo "LabCycle demo: open the URL that JupyterLab prints below (http://127.0.0.1:$(PORT)/lab?token=...)."
	cd $(DEMO)/workspace && LABCYCLE_HOME=$(CURDIR)/$(DEMO)/home $(CURDIR)/$(BIN)/jupyter lab \
		--ip=127.0.0.1 --port=$(PORT) --no-browser $(ROOT_FLAG) \
		--ServerApp.open_browser=False --LabApp.news_url=None


# What CI checks before the tests: ruff (lint and format), mypy on the package ([tool.mypy] in
# pyproject.toml), eslint + prettier, and the TypeScript compiler over the sources and the tests.
lint: install
	$(BIN)/ruff check server_ext tests bench
	$(BIN)/ruff format --check server_ext tests bench
	$(BIN)/mypy
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jlpm lint:check
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jlpm tsc --noEmit -p tsconfig.json
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jlpm tsc --noEmit -p tsconfig.test.json

format:
	$(BIN)/ruff check --fix server_ext tests bench
	$(BIN)/ruff format server_ext tests bench

# MLflow's pins clash with LabCycle's (pyarrow), so the tests and benchmarks run it from a
# venv of its own (bench/README.md).
MLFLOW_VENV := bench/.work/mlflow-venv
MLFLOW_PYTHON := $(or $(LABCYCLE_MLFLOW_PYTHON),$(CURDIR)/$(MLFLOW_VENV)/bin/python)

$(MLFLOW_VENV)/.installed:
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install -q "mlflow==3.17.2" scikit-learn pandas skops
	touch $@

# The frontend's API types are generated from the OpenAPI document the server builds; after a
# change to a route or a Pydantic model, `make api-types` regenerates labextension/src/api/schema.ts.
api-types: install
	LABCYCLE_PYTHON=$(CURDIR)/$(BIN)/python PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jlpm api-types

# Fails when the committed API types differ from the document; then the frontend's unit tests.
frontend-test: install
	LABCYCLE_PYTHON=$(CURDIR)/$(BIN)/python PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jlpm api-types:check
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jlpm test

# The MLflow-compatibility tests drive the real MLflow client from a venv of its own
# (its pins clash with LabCycle's); LABCYCLE_MLFLOW_PYTHON=/path/to/bin/python uses another one.
test: install lint chromium frontend-test $(CHP) $(if $(LABCYCLE_MLFLOW_PYTHON),,$(MLFLOW_VENV)/.installed)
	LABCYCLE_MLFLOW_PYTHON=$(MLFLOW_PYTHON) PATH=$(CURDIR)/$(BIN):$$PATH \
		$(BIN)/python -m pytest tests -q -p no:cacheprovider

bench: install $(if $(LABCYCLE_MLFLOW_PYTHON),,$(MLFLOW_VENV)/.installed)
	LABCYCLE_BENCH_MLFLOW_PYTHON=$(MLFLOW_PYTHON) \
		$(BIN)/python bench/tracking.py

clean:
	rm -rf lib server_ext/labcycle/labextension tsconfig.tsbuildinfo .pytest_cache
