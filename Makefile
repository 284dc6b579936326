# One-command install, test, run. Python 3.11+ is taken from $(PYTHON).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock test lint run worker bench clean

install: $(STAMP)
	@scripts/install-system-packages.sh

# Installs exactly what the lock names (every file checked against its hash); a new lock reinstalls.
$(STAMP): requirements.lock requirements-test.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.lock
	@touch $@

# Regenerates both locks after a requirements*.txt change; ARGS="--upgrade-package NAME" upgrades one.
lock: $(STAMP)
	$(BIN)/python scripts/lock.py $(ARGS)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check app handler.py tests bench scripts
	$(BIN)/ruff format --check app handler.py tests bench scripts

run: install
	$(BIN)/python -m app

worker: install
	$(BIN)/python handler.py --rp_serve_api

bench: install
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) data .pytest_cache
