# Every target works from a fresh clone: the venv is created and filled on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The exact versions of every dev tool (and of hatchling, which builds the editable install):
# pip-compile's output from pyproject.toml, re-made by `make lock`. The library's own
# dependencies stay ranges in pyproject.toml; the lock only constrains this venv.
LOCK := requirements-dev.txt

.PHONY: venv lock generate check-generated accept-api golden lint format test test-fast demo

# The oldest Python the project supports, read from pyproject.toml's requires-python.
PY_MIN := $(shell sed -n 's/^requires-python *= *">=\([0-9.]*\)".*/\1/p' pyproject.toml)
# Exits 0 on a new enough Python, 1 on an older one (written to run on any Python).
PY_OK := import sys; sys.exit(sys.version_info[:2] < tuple(int(n) for n in "$(PY_MIN)".split(".")))

# The venv is made only by a new enough $(PYTHON), and one that cannot work (made by an older
# Python, or whose creation failed: no pip) is removed rather than reused.
$(STAMP): pyproject.toml $(LOCK)
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
	$(BIN)/python -m pip install -q -c $(LOCK) --upgrade pip
	$(BIN)/python -m pip install -q -c $(LOCK) --build-constraint $(LOCK) -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## lock: re-pin requirements-dev.txt after changing pyproject.toml's dependencies
##       (keeps the other pins; LOCK_ARGS=--upgrade moves every pin to the newest release)
lock:
	@test -x $(BIN)/pip-compile || { \
	  echo "make: lock needs $(BIN)/pip-compile: run make venv" >&2; exit 1; }
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra dev --strip-extras \
		--allow-unsafe --all-build-deps --no-emit-index-url --no-emit-find-links \
		--no-emit-trusted-host --output-file $(LOCK) $(LOCK_ARGS) pyproject.toml

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

# What ruff checks and formats (.pre-commit-config.yaml runs the same commands).
LINT_PATHS := codegen src tests bench

## lint: ruff on $(LINT_PATHS); mypy strict on the files pyproject.toml names (codegen, src,
##       bench, tests); the import layers (contracts in pyproject.toml, run by
##       `python -m codegen lint-imports` with the generated facades filled in)
lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(BIN)/python -m codegen lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

## test: everything CI runs; pytest on twice as many workers as cores (TEST_JOBS=N: N workers,
##       TEST_JOBS=0: in one process). The workers wait about half the time (sleeps of the
##       quota tests, subprocesses, Ray's processes): with 2 workers on 2 cores the run got 97%
##       of one core. Measured on this 2-core machine (pytest only, 3,261 tests, other jobs
##       on it; wall / CPU s / load averages before-after):
##         -n 2 worksteal   5:49 / 339 / 6.8-2.4     -n 3 worksteal  7:08 / 376 / 8.5-7.2
##         -n 4 worksteal   4:44 / 367 / 2.4-8.5     -n 3 loadgroup  41% of the tests in 9:40
##       worksteal: the few long tests (a regeneration, docs blocks, Ray) don't leave one worker
##       idle at the end; loadgroup (the Ray tests on one worker) hands out one test at a time
##       and was far slower. The Ray tests share one local cluster per run, one test at a
##       time (tests/support/ray_cluster.py): up to four clusters fought over the 2 cores
##       before. Where the CPU goes: TEXTSERVICE_CPU_LOG (docs/development.md). 2026-12-08,
##       -n 4 worksteal, 3,475-3,618 tests, two other engineers' suites on the machine
##       (wall / CPU s user+sys / load before-after; test CPU summed per test):
##         before the shared cluster   6:49 / 495 / 1.7-6.3    tests 476 s, Ray's 75 s
##         after (load up to 18)      11:47 / 471 / 2.8-8.0    tests 469 s, Ray's 45 s
##         fresh clone, bash .ci/run   8:51 / 486 / 2.2-7.6    (venv and lint included)
##       and 3,618 tests, the machine quieter: make test in a worktree (venv and mypy cache
##       warm) 3:51 / 345 / 2.9-3.9 (pytest 3:47); a fresh clone's bash .ci/run 4:46 / 424 /
##       2.6-5.1 (pytest 3:55).
##       On a quiet machine (load 1.6 before), a fresh clone's bash .ci/run, 3,619 tests: 4:43 /
##       420 s; with byte-code written (below) 4:13 / 366 s (pytest 3:26). Collection no longer
##       imports the optional frameworks (see test-fast).
TEST_JOBS ?= $(shell $(PYTHON) -c 'import os; print(2 * (os.cpu_count() or 1))')
##       Lint runs beside pytest (its output, kept in build/lint.log, is printed after pytest's):
##       the workers' idle time absorbs it, about 40 s of a clean clone's run. Either failing
##       fails the target. Byte-code is written even where PYTHONDONTWRITEBYTECODE is set (as
##       for test-fast): the hundreds of Python processes the tests start (the CLI, docs blocks,
##       servers) then load textservice's compiled modules instead of compiling them each time
##       (importing the CLI and the fake: 0.45 s of CPU without, 0.23 s with).
test: check-generated $(STAMP)
	@mkdir -p build
	@$(MAKE) --no-print-directory lint > build/lint.log 2>&1 & lint=$$!; \
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_JOBS) --dist worksteal; tests=$$?; \
	wait $$lint; linted=$$?; echo "== make lint (run beside pytest):"; cat build/lint.log; \
	if [ $$linted -ne 0 ]; then echo "make lint failed"; fi; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

## test-fast: the inner loop (no lint): the tests that start no process and open no socket, and
##            are not slow (markers in pyproject.toml, kept true by tests/support/marker_guard.py).
##            Byte-code is written even where PYTHONDONTWRITEBYTECODE is set: pytest keeps the
##            assert-rewritten test modules in __pycache__, which saves ~5 s per run. One worker
##            a core and one more (FAST_JOBS=N: N workers, 0: in one process): some tests wait
##            (a retry's backoff, a server's answer), and a third worker fills that time on 2
##            cores. Alternating runs on a quiet machine, 2,007 tests (wall / user CPU):
##            -n 3  19.6 / 32.7, 19.9 / 32.8, 18.4 / 29.9 s;
##            -n 2  23.1 / 29.3, 22.0 / 29.8, 21.5 / 28.9 s.
##            Earlier, 2 workers (load 0.7-1.6): 20.0-20.9 s (27.0-28.6 + 2.2 s CPU); starting and
##            collecting takes each worker 2.1 s of CPU, 4.9 s while test modules imported
##            Ray, llama-index, langchain, google-genai and pandas at collection (then 21-22 s,
##            29-31 s CPU); the tests that use them import them (test_collection_imports.py).
FAST_JOBS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
test-fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(FAST_JOBS) -m "not slow and not subprocess and not network"

## demo: embed a generated 3,000-line sample with today's default model (3,072 dimensions) and
##       the in-process fake server (no key, no network)
SAMPLE := build/demo/sample.txt
DEMO_OUT := build/demo/embeddings.npy

$(SAMPLE): src/textservice/cli/sample.py | $(STAMP)
	$(BIN)/python -m textservice.cli.sample $(SAMPLE)

demo: $(STAMP) $(SAMPLE)
	$(BIN)/textservice embed --fake --input $(SAMPLE) --output $(DEMO_OUT) --overwrite --progress

## bench: benchmark vs google-generativeai 0.7.2 and a raw grpcio floor -> bench/RESULTS.md
##        (BENCH_QUICK=1: smoke run -> bench/.work/RESULTS-quick.md; BENCH_ARGS: bench/run.py options),
##        then the quota scenario (bench/quota.py: its section of the same report; not with
##        BENCH_ARGS, a partial run: run python3 bench/quota.py on its own), then embed_content's
##        rows (bench/content.py, likewise; BENCH_QUICK=1: its smoke run), gemini-embedding-2's
##        task instructions (bench/instructions.py, likewise), the REST rows (bench/rest.py:
##        ours over gRPC and REST against google-genai 3.3.0), then the CLI at
##        scale (bench/scale.py: its section; SCALE_ARGS: its options, a partial run) and on a
##        folder of 2,000 images (scale.py --images 2000; not with BENCH_QUICK or SCALE_ARGS).
##        Each script replaces only its own section; the hand-written notes are bench/NOTES.md
.PHONY: bench
bench: $(STAMP)
	$(PYTHON) bench/run.py $(if $(BENCH_QUICK),--quick) $(BENCH_ARGS)
	$(if $(BENCH_ARGS),,$(PYTHON) bench/quota.py $(if $(BENCH_QUICK),--quick))
	$(if $(BENCH_ARGS),,$(PYTHON) bench/content.py $(if $(BENCH_QUICK),--quick))
	$(if $(BENCH_ARGS),,$(PYTHON) bench/instructions.py $(if $(BENCH_QUICK),--quick))
	$(if $(BENCH_ARGS),,$(PYTHON) bench/rest.py $(if $(BENCH_QUICK),--quick))
	$(BIN)/python bench/scale.py $(if $(BENCH_QUICK),--quick) $(SCALE_ARGS)
	$(if $(BENCH_QUICK)$(SCALE_ARGS),,$(BIN)/python bench/scale.py --images 2000)
