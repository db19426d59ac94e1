# Two commands for a newcomer (README): `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test ui bench quality clean

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

# The whole pipeline at 100,000 people against the targets in demo/bench.py, then the generator
# alone at 1,000,000.
bench: setup
	$(BIN)/python -m demo.bench --customers 100000 --out data/bench
	$(BIN)/python -m demo.generate --customers 1000000 --out data/bench_generator_1m

# Identity resolution on the evaluation set the demo generator did not write
# (tests/fixtures/identity_eval) and on the demo (data/ after `make demo`, else a small fresh one),
# model and naive rule side by side, with the planted hard cases per class.
quality: setup
	$(BIN)/python -m cdp.identity_quality compare

clean:
	rm -rf data dbt_project/target dbt_project/logs
