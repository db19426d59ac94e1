# Two commands for a newcomer (README): `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup demo test ui bench quality clean

$(BIN)/dagster: pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.5"
	# Compiled now: where PYTHONDONTWRITEBYTECODE is set (this machine, CI) every process would
	# otherwise compile dagster, dlt and pyarrow from source again (~10 s of CPU each).
	$(BIN)/uv sync --frozen --all-extras --compile-bytecode --python $(BIN)/python
	$(BIN)/python -m compileall -q -j 0 assets cdp connectors demo emulators orchestration
	touch $@

setup: $(BIN)/dagster

demo: setup
	$(BIN)/python -m demo run --fresh

test: setup
	$(BIN)/python -m pytest -q -p no:warnings tests

ui: setup
	$(BIN)/python -m demo ui

# The benchmark at SCALE people (100k, 300k or 1M; 2k/20k for a quick check): full, ~1 %-changed and
# no-change runs per stage, the plain-DuckDB floor and the pandas version, against the targets in
# demo/bench/report.py; writes docs/benchmarks/$(SCALE).json, docs/benchmarks.md and the plots.
SCALE ?= 100k
bench: setup
	$(BIN)/python -m demo.bench --scale $(SCALE) --out data/bench --docs docs

# Identity resolution on the evaluation set the demo generator did not write
# (tests/fixtures/identity_eval) and on the demo (data/ after `make demo`, else a small fresh one),
# model and naive rule side by side, with the planted hard cases per class.
quality: setup
	$(BIN)/python -m cdp.identity_quality compare

clean:
	rm -rf data dbt_project/target dbt_project/logs
