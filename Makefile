# Two commands for a newcomer (see README.md):
#   make book   - install everything into .venv and build the rendered book (executes every notebook)
#   make test   - install everything into .venv and run the whole test suite
#   make robust - execute every chapter under five seed offsets and oneDNN kernels (a table)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= 2
# The test suite re-executes the chapters under another seed than the book build (offset 0), so
# CI's second execution of every notebook is a second seed, not a repeat (see README.md).
TEST_SEED_OFFSET ?= 1
# Folders the suite covers (only those that exist, so a fresh checkout never trips on a missing one).
TEST_PATHS := $(wildcard tests book exercises solutions)
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
# The book shows seed 0 (an offset set in the caller's environment does not leak into it).
export VGRAD_SEED_OFFSET := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# The build and the suite run two kernels at once on two cores: one BLAS thread each, or
# OpenBLAS' spinning threads fight TensorFlow's (a small NumPy product then costs 10-30 times
# its CPU). `make robust` keeps OpenBLAS' default threads: one more floating-point path.
BLAS_ONE := OPENBLAS_NUM_THREADS=1

.PHONY: setup book test robust lint lab clean bench

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps -e .
	touch $@

book: $(STAMP)
	@# Fill the execution cache with one kernel per core, then build (every result from the cache).
	$(BLAS_ONE) $(BIN)/python .ci/preexecute.py
	$(BLAS_ONE) $(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP)
	@# pytest exits 5 when it collects no test: say so and fail loudly instead of passing silently.
	VGRAD_SEED_OFFSET=$(TEST_SEED_OFFSET) $(BLAS_ONE) \
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --nbval-lax -p no:randomly $(TEST_PATHS); \
	rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests: the suite is empty" >&2; fi; exit $$rc

# Every chapter under seed offsets 1-5 and with oneDNN kernels on; prints a chapter x variant table.
robust: $(STAMP)
	$(BIN)/python .ci/robust.py --jobs $(JOBS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmarks (see benchmarks/README.md): ratios measured in one run; slow (tens of minutes).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_monitor.py
	$(BIN)/python benchmarks/bench_input_grads.py
	$(BIN)/python benchmarks/bench_book.py
	$(BIN)/python benchmarks/bench_suite.py --workers $(JOBS)
	$(BIN)/python benchmarks/bench_grader.py

lab: $(STAMP)
	$(BIN)/jupyter lab

clean:
	rm -rf _build
