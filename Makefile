# The two commands a newcomer needs: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DISTS := shared alert-ingest notifier gateway-feishu rca-worker simulator cli devkit
STAMP := $(VENV)/.installed

.PHONY: install demo test lint fmt bench clean

install: $(STAMP)

$(STAMP): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(DISTS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt $(addprefix -e ./,$(DISTS)) -r requirements-dev.txt
	touch $(STAMP)

demo: install
	$(BIN)/python -m demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/src/aegis alert-ingest/src/aegis notifier/src/aegis cli/src/aegis gateway-feishu/src/aegis rca-worker/src/aegis simulator/src/aegis devkit/src/aegis tests bench demo deploy/compose

test: lint
	$(BIN)/pytest

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.delivery
	$(BIN)/python -m bench.gateway
	$(BIN)/python -m bench.evidence
	$(BIN)/python -m bench.worker
	$(BIN)/python -m bench.isolation

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
