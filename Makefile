# The two commands a newcomer needs: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DISTS := shared alert-ingest notifier gateway-feishu rca-worker simulator cli devkit
STAMP := $(VENV)/.installed

.PHONY: install debian-packages demo test lint fmt bench clean

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

# What a fresh Debian machine lacks for `make test`: the real servers the tests run (as `binary:Debian
# package`) and, before .venv exists, a working `python3 -m venv` for `make install`. Present: nothing
# to do. Missing: installed with apt-get when this is root on a machine with apt, else `make test`
# stops with the exact command.
DEBIAN_NEEDS := prometheus:prometheus promtool:prometheus prometheus-alertmanager:prometheus-alertmanager \
	openssl:openssl

debian-packages:
	@missing=""; for need in $(DEBIAN_NEEDS); do \
	  command -v "$${need%%:*}" >/dev/null 2>&1 || case " $$missing " in \
	    *" $${need##*:} "*) ;; *) missing="$$missing $${need##*:}";; esac; \
	done; \
	[ -x $(BIN)/python ] || { scratch="$$(mktemp -d)"; \
	  $(PYTHON) -m venv "$$scratch/venv" >/dev/null 2>&1 || missing="$$missing python3-venv"; rm -rf "$$scratch"; }; \
	missing="$${missing# }"; \
	[ -z "$$missing" ] && exit 0; \
	sudo="sudo "; [ "$$(id -u 2>/dev/null)" = 0 ] && sudo=""; \
	if [ -z "$$sudo" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make test: installing the Debian packages it needs: $$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "make test needs the Debian packages $$missing; install them with:" >&2; \
	  echo "    $${sudo}apt-get update && $${sudo}apt-get install -y --no-install-recommends $$missing" >&2; \
	  exit 1; \
	fi

test: debian-packages lint
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
