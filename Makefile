# sluice developer commands. `make test` and `make demo` create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv demo test chaos screenshots browser faketime lint typecheck bench bench-network bench-peers aws-differential aws-bench docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV) || { echo "'$(PYTHON) -m venv' failed: sluice needs Python >= 3.11 \
	with venv (Debian/Ubuntu: apt install python3-venv), or pass PYTHON=/path/to/python3" >&2; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP) ## create .venv and install sluice with its dev tools

demo: $(STAMP) ## run the demo on the embedded SQLite default (no server needed)
	$(BIN)/sluice demo purge

browser: ## make sure the system Chromium the dashboard test drives is installed
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	&& { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } \
	>/dev/null; } || echo "no chromium: the dashboard test \
	will skip (CI=true: fail); install it with apt-get install chromium" >&2

faketime: ## make sure libfaketime (the clock-skew tests' skewed processes) is installed
	@ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] \
	&& command -v apt-get >/dev/null && { apt-get install -y -q faketime libfaketime \
	|| { apt-get update -q && apt-get install -y -q faketime libfaketime; }; } >/dev/null; } \
	|| echo "no libfaketime: the clock-skew tests will skip (CI=true: fail); install it with \
	apt-get install faketime libfaketime" >&2

test: $(STAMP) browser faketime ## run the whole test suite (SQLite and PostgreSQL)
	$(BIN)/pytest -q -n 2 -m "not serial"
	$(BIN)/pytest -q -m serial

chaos: $(STAMP) ## the long proofs: the bucket source with 5,000 objects on both stores
	SLUICE_BUCKET_PROOF_OBJECTS=5000 $(BIN)/pytest -q tests/sources/test_bucket_processes.py

screenshots: $(STAMP) browser ## retake the README's dashboard screenshots (docs/images)
	SLUICE_SCREENSHOTS=1 $(BIN)/pytest -q tests/web/test_dashboard.py tests/web/test_dashboard_controls.py \
		tests/web/test_dashboard_search.py

docs: $(STAMP) ## build the documentation site into site/ (strict: any warning fails)
	$(BIN)/mkdocs build --strict --site-dir site

lint: $(STAMP) ## ruff check and format check
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: $(STAMP) ## mypy --strict on the package
	$(BIN)/mypy

bench: $(STAMP) ## run the benchmarks (by hand; results go to docs/benchmarks.md)
	$(BIN)/python bench/store.py --backend both
	$(BIN)/python bench/worker.py --backend both
	$(BIN)/python bench/produce.py --backend both

bench-network: $(STAMP) ## PostgreSQL 1 ms away vs loopback, and round trips per claim and ack
	$(BIN)/python bench/network.py

bench-peers: $(STAMP) ## drains vs PGQueuer, Huey and raw SQL (docs/benchmarks.md); pickup vs PGQueuer; start-up
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/pickup.py --rounds 4
	$(BIN)/python bench/worker_start.py --rounds 7

MOTO_VENV := .bench-moto-venv
$(MOTO_VENV)/.installed:
	python3 -m venv $(MOTO_VENV)
	$(MOTO_VENV)/bin/pip install --quiet 'moto[server]==5.2.5' pytest pytest-xdist freezegun
	touch $@

aws-differential: $(STAMP) $(MOTO_VENV)/.installed ## moto's SQS tests against sluice serve (docs/sqs-differential.md)
	$(BIN)/python bench/moto_differential.py --moto-python $(MOTO_VENV)/bin/python --backend sqlite
	$(BIN)/python bench/moto_differential.py --moto-python $(MOTO_VENV)/bin/python --backend postgres

aws-bench: $(STAMP) $(MOTO_VENV)/.installed ## SQS wire vs native API vs moto's server (docs/benchmarks.md)
	$(BIN)/python bench/sqs.py --backend both --moto-python $(MOTO_VENV)/bin/python
	$(BIN)/python bench/sqs.py --backend both --server-workers 2

clean: ## remove the venvs, caches and demo files
	rm -rf $(VENV) .bench-peers-venv $(MOTO_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis sluice-*.db* handoff-demo \
		sluice-etl-blobs files-demo
