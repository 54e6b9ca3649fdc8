# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench check clean format

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes. `--no-compile`: pip would compile every module of
# every package (numpy, scipy, matplotlib … ~30 s of a fresh machine's install); Python compiles
# the ones a process imports, once, as it first imports them (bytecode is written: see below).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-compile -e ".[dev,bench]"
	touch $(STAMP)

# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE=1 in this
# machine's image): with the install above, every start would compile its imports again.
run: $(STAMP)
	@export PYTHONDONTWRITEBYTECODE=; $(BIN)/yuqing run

# `make test` on 2 cores:
# - Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE=1 in
#   this machine's image). Otherwise pytest rewrites the asserts of every test module again in
#   every worker (about 5 s of CPU each) and every `yuqing run` a test starts compiles the
#   sources again.
# - ruff and mypy (settings in pyproject.toml [tool.mypy]; ~12 s on a fresh clone) run in the
#   background while one collection writes those files (~10 s), and print before the tests.
# - Then the tests, on four workers that steal work from each other: many tests wait on
#   subprocesses, sockets and the PostgreSQL server, and a few run for 15-40 s.
# Both halves always run; either failing fails the target.
PYTEST_ARGS ?= -q -n 4 --dist worksteal
test: $(STAMP)
	@export PYTHONDONTWRITEBYTECODE=; \
	{ r=0; $(BIN)/ruff check . || r=1; $(BIN)/ruff format --check . || r=1; $(BIN)/mypy || r=1; exit $$r; } \
	  > $(VENV)/lint.log 2>&1 & lint=$$!; \
	$(BIN)/python -m pytest --collect-only -q -p no:cacheprovider > /dev/null 2>&1; \
	wait $$lint; lint=$$?; \
	echo "$(BIN)/ruff check .; $(BIN)/ruff format --check .; $(BIN)/mypy"; cat $(VENV)/lint.log; \
	echo "$(BIN)/python -m pytest $(PYTEST_ARGS)"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); tests=$$?; \
	if [ $$lint != 0 ]; then echo "make test: ruff or mypy failed (above)" >&2; exit 1; fi; \
	exit $$tests

bench: $(STAMP)
	@export PYTHONDONTWRITEBYTECODE=; $(BIN)/python -m bench

check: $(STAMP)
	$(BIN)/yuqing check

clean:
	rm -rf $(VENV) data/*.db data/*.db-wal data/*.db-shm

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
