# reportgen task runner. On a fresh Debian/Ubuntu machine these two are the whole set-up:
#   make report   builds .venv, installs reportgen, renders the sample report
#   make test     builds .venv and runs the test suite
# The first interpreter that runs and is 3.11+ (pyenv shims may exist without running).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
            $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
            && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SPARK_STAMP := $(VENV)/.spark-stamp
PYTEST_ARGS ?=
# test files on this many processes at most (pytest-xdist, one a core where there are fewer)
TEST_WORKERS ?= 2

.PHONY: report test bench lint docs system-deps clean

report: $(STAMP)
	$(BIN)/reportgen run configs/sample.yaml

test: $(STAMP) $(SPARK_STAMP)
	@bash scripts/system-deps.sh "$(PYTHON)" test
	$(BIN)/python -m pytest -n auto --maxprocesses=$(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py

lint: $(STAMP)
	$(BIN)/ruff check reportgen tests benchmarks scripts
	$(BIN)/lint-imports
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --quiet

system-deps:
	@bash scripts/system-deps.sh "$(PYTHON)"

$(STAMP): pyproject.toml | system-deps
	@test -n "$(PYTHON)" || { echo "error: reportgen needs Python 3.11 or newer and none was found; install python3.11 or set PYTHON=/path/to/python3"; exit 1; }
	@test -x $(BIN)/python || "$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

# engine: spark's tests run a real local Spark: PySpark (500 MB) only for the tests
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
