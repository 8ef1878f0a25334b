# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test install clean

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(INSTALLED)

install: $(INSTALLED)

## The main job on the embedded snapshot: no network, no keys.
run: $(INSTALLED)
	$(BIN)/aitrack run

## The test suite (PostgreSQL tests run when AITRACK_TEST_POSTGRES_URL is set).
test: $(INSTALLED)
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data/aitrack.db data/aitrack.db-wal data/aitrack.db-shm
