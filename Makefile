# One-command install, test, run. Python 3.11+ is taken from $(PYTHON).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint run worker bench clean

install: $(STAMP)
	@scripts/install-system-packages.sh

$(STAMP): requirements.txt requirements-test.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	@touch $@

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check app handler.py tests bench scripts
	$(BIN)/ruff format --check app handler.py tests bench scripts

run: install
	$(BIN)/uvicorn app.main:app --host 127.0.0.1 --port 8000

worker: install
	$(BIN)/python handler.py --rp_serve_api

bench: install
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) data .pytest_cache
