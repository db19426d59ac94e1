# Two commands for a newcomer (README): `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test ui bench clean

$(BIN)/dagster: pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.5"
	$(BIN)/uv sync --frozen --all-extras --python $(BIN)/python
	touch $@

setup: $(BIN)/dagster

demo: setup
	$(BIN)/python -m demo run --fresh

test: setup
	$(BIN)/python -m pytest -q -p no:warnings tests

ui: setup
	$(BIN)/python -m demo ui

bench: setup
	$(BIN)/python -m demo.generate --customers 1000000 --out data/bench

clean:
	rm -rf data dbt_project/target dbt_project/logs
