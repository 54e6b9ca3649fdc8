# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench check clean format

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/yuqing run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy   # packages and settings in pyproject.toml [tool.mypy]
	$(BIN)/python -m pytest -q -n 3   # three workers on 2 cores: many tests wait on subprocesses and sockets (4.5 min; 5.3 with two)

bench: $(STAMP)
	$(BIN)/python -m bench

check: $(STAMP)
	$(BIN)/yuqing check

clean:
	rm -rf $(VENV) data/*.db data/*.db-wal data/*.db-shm

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
