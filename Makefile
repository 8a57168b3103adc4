# Bowtie: `make run` brings the portal up, `make test` runs the tests.
# Both create the virtual environment in .venv on first use.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

# Python 3.12 or newer: the first that answers, from PATH or pyenv's folders.
# Where `make run` serves the portal.
BIND ?= 127.0.0.1:8000

PYTHON ?= $(shell for candidate in python3.13 python3.12 python3 \
	$$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null) \
	$$(ls /usr/bin/python3.1[2-9] /usr/local/bin/python3.1[2-9] 2>/dev/null); do \
	$$candidate -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	&& { echo $$candidate; break; }; done)

.PHONY: run test bench lint demo clean

$(BIN)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Bowtie needs Python 3.12 or newer." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# Links in what the portal prints and sends follow a BIND given on the command
# line, unless BOWTIE_BASE_URL names the address people use.
ifneq ($(origin BIND),file)
run: export BOWTIE_BASE_URL ?= http://$(BIND)
endif
run: $(BIN)/.installed
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --no-input -v 0
	$(BIN)/python manage.py runportal --bind $(BIND)

test: $(BIN)/.installed
	$(BIN)/python manage.py makemigrations --check --dry-run -v 0
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python manage.py bench $(BENCH_ARGS)
	$(BIN)/python manage.py bench_sweeper $(SWEEPER_BENCH_ARGS)
	$(BIN)/python manage.py bench_dashboard $(DASHBOARD_BENCH_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var
