# Every target works from a fresh clone: the venv is created and filled on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv generate check-generated accept-api golden lint format test demo

# The oldest Python the project supports, read from pyproject.toml's requires-python.
PY_MIN := $(shell sed -n 's/^requires-python *= *">=\([0-9.]*\)".*/\1/p' pyproject.toml)
# Exits 0 on a new enough Python, 1 on an older one (written to run on any Python).
PY_OK := import sys; sys.exit(sys.version_info[:2] < tuple(int(n) for n in "$(PY_MIN)".split(".")))

# The venv is made only by a new enough $(PYTHON), and one that cannot work (made by an older
# Python, or whose creation failed: no pip) is removed rather than reused.
$(STAMP): pyproject.toml
	@$(PYTHON) -c '$(PY_OK)' 2>/dev/null || { \
	  found=$$(command -v $(PYTHON) >/dev/null && $(PYTHON) --version 2>&1 || echo "not found"); \
	  echo "make: this project needs Python $(PY_MIN) or newer, and $(PYTHON) is $$found:" \
	    "run make PYTHON=python$(PY_MIN) (or a newer one)" >&2; \
	  exit 1; }
	@if [ -e $(VENV) ] && ! { $(BIN)/python -c '$(PY_OK)' && $(BIN)/python -m pip --version; } \
	    >/dev/null 2>&1; then \
	  echo "make: removing $(VENV): its Python is missing, older than $(PY_MIN) or has no pip"; \
	  rm -rf $(VENV); fi
	test -d $(VENV) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## generate: clean and regenerate all generated code from protos/ and codegen/templates
generate: $(STAMP)
	$(BIN)/python -m codegen generate

## check-generated: fail (listing the files) when committed generated code is stale, or (with
##                  a diff) when the facades' public signatures differ from codegen/public_api.txt
check-generated: $(STAMP)
	$(BIN)/python -m codegen check

## accept-api: accept the generated facades' public signatures (rewrites codegen/public_api.txt)
accept-api: $(STAMP)
	$(BIN)/python -m codegen accept-api

## golden: re-render the facade golden files (tests/golden) from the fixture protos (tests/protos)
golden: $(STAMP)
	$(BIN)/python -m codegen golden

## lint: ruff, mypy strict on codegen/ and src/, and the import layers (lint-imports,
##       contracts in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check codegen src tests
	$(BIN)/ruff format --check codegen src tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

format: $(STAMP)
	$(BIN)/ruff check --fix codegen src tests
	$(BIN)/ruff format codegen src tests

## test: everything CI runs
test: check-generated lint
	$(BIN)/python -m pytest

## demo: embed the bundled sample with the in-process fake server (no key, no network)
SAMPLE := src/textservice/cli/sample.txt
DEMO_OUT := build/demo/embeddings.npy

$(SAMPLE): | $(STAMP)
	$(BIN)/python -m textservice.cli.sample $(SAMPLE)

demo: $(STAMP) $(SAMPLE)
	$(BIN)/textservice embed --fake --model models/embedding-gecko-001 \
		--input $(SAMPLE) --output $(DEMO_OUT) --overwrite --progress

## bench: benchmark vs google-generativeai 0.7.2 and a raw grpcio floor -> bench/RESULTS.md
##        (BENCH_QUICK=1: smoke run -> bench/.work/RESULTS-quick.md; BENCH_ARGS: bench/run.py options)
##        then the CLI at scale (bench/scale.py; SCALE_ARGS: its options) -> its section of it
.PHONY: bench
bench: $(STAMP)
	$(PYTHON) bench/run.py $(if $(BENCH_QUICK),--quick) $(BENCH_ARGS)
	$(BIN)/python bench/scale.py $(if $(BENCH_QUICK),--quick) $(SCALE_ARGS)
