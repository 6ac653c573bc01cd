# Customer Warehouse: the two commands are `make run` and `make test`.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PYTHON ?= python3
PEOPLE ?= 3000
SEED   ?= 42
export CDW_HOME ?= $(CURDIR)/data

.PHONY: install run test lint chromium java ui docs bench clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,spark]"
	@touch $@

install: $(VENV)/.installed

## run: install, generate demo sources if none, run the whole pipeline through Dagster
run: install
	@if [ -z "$$(ls -A "$(CDW_HOME)/landing/crm" 2>/dev/null)" ]; then \
		$(VENV)/bin/cdw generate --people $(PEOPLE) --seed $(SEED); fi
	$(VENV)/bin/cdw run

## test: install and run the whole test suite (Chromium from Debian for the UI test, Java for the Spark test, when root can apt-get)
# Two workers (pytest-xdist), one per core of the CI machine; a test file's tests stay on one worker
# so its module fixtures are built once, and files go out in the order tests/conftest.py gives them
# (the longest first). PYTEST_ARGS adds to it (e.g. PYTEST_ARGS="-n 0 -k gate").
# The tests' homes (warehouse, exports, Dagster's SQLite run history) go to a RAM disk when one with
# TEST_TMPFS_MIN_GB free is there: Dagster stores each of a run's ~1,500 events in its own
# SQLite transactions, ~6 fdatasync calls an event, ~4 ms each on this machine's disk and ~0.01 ms
# in RAM (strace -f -w -c), and DuckDB syncs its commits too. Removed after a green run, kept (path
# printed) after a failure. TEST_TMPFS= (empty) keeps them in the system temp folder.
PYTEST_ARGS ?=
TEST_TMPFS ?= /dev/shm
TEST_TMPFS_MIN_GB ?= 4
test: install chromium java lint
	@tmp=""; if [ -n "$(TEST_TMPFS)" ] && [ -d "$(TEST_TMPFS)" ] && \
		[ "$$(df -Pk "$(TEST_TMPFS)" | awk 'NR == 2 {print $$4}')" -ge $$(( $(TEST_TMPFS_MIN_GB) * 1048576 )) ]; then \
		tmp=$$(mktemp -d "$(TEST_TMPFS)/cdw-tests.XXXXXX"); echo "test homes in $$tmp"; fi; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/pytest -n 2 --dist loadfile --no-loadscope-reorder $${tmp:+--basetemp=$$tmp} $(PYTEST_ARGS); rc=$$?; \
	if [ -n "$$tmp" ]; then if [ $$rc = 0 ]; then rm -rf "$$tmp"; else echo "test homes kept in $$tmp (in RAM: remove when done)"; fi; fi; \
	exit $$rc

## lint: ruff over the Python (rules in pyproject.toml [tool.ruff]); `ruff check --fix .` repairs most
lint: install
	$(VENV)/bin/ruff check .

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
			|| echo "chromium could not be installed: the browser UI test will fail in CI, be skipped elsewhere"; \
		else echo "chromium not installed and not root: the browser UI test will fail in CI, be skipped elsewhere"; fi; }

## java: Java 17 for Spark (CDW_ENGINE=spark, tests/test_spark.py), Debian's openjdk-17-jre-headless when missing
java:
	@command -v java >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless) >/dev/null 2>&1 \
			|| echo "openjdk-17-jre-headless could not be installed: the Spark engine cannot run"; \
		else echo "java not installed and not root: install openjdk-17-jre-headless for the Spark engine"; fi; }

## ui: the Dagster UI on workspace.yaml (runs of `cdw run` show up in its history)
# `cdw prepare` creates CDW_HOME's Dagster instance and the dbt manifest first: importing the
# definitions writes nothing; under `dagster dev` dagster-dbt re-parses on each load (dbt on PATH)
ui: install
	$(VENV)/bin/cdw prepare
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" DAGSTER_HOME="$(CDW_HOME)/dagster" $(VENV)/bin/dagster dev -w workspace.yaml

## docs: dbt docs for analysts (offline), served on :8080; also target/static_index.html, one file to open without a server
docs: install
	cd dbt_project && CDW_WAREHOUSE="$(CDW_HOME)/warehouse.duckdb" ../$(VENV)/bin/dbt docs generate --static --profiles-dir . && \
		CDW_WAREHOUSE="$(CDW_HOME)/warehouse.duckdb" ../$(VENV)/bin/dbt docs serve --profiles-dir . --port 8080 --no-browser

clean:
	rm -rf "$(CDW_HOME)" dbt_project/target dbt_project/logs

## bench: benchmark at scales S and M (SCALES=S,M,L for the 1M-people scale, BENCH_ARGS=--no-erasure to skip erasure; sources cached in .bench/)
## ENGINE=spark: the dbt build on local Spark beside DuckDB's (layers, start-up, ratio), e.g. make bench ENGINE=spark SCALES=S
SCALES ?= S,M
ENGINE ?= duckdb
bench: install
	@if [ "$(ENGINE)" = spark ]; then $(MAKE) --no-print-directory java && $(PY) -m benchmarks.spark_vs_duckdb --scales $(SCALES); \
	else $(PY) -m benchmarks.bench --scales $(SCALES) $(BENCH_ARGS); fi
