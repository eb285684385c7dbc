# Two commands on a fresh machine (each sets up .venv and installs the project first):
#   make demo   runs the main job (mlc demo)
#   make test   runs ruff, mypy and the test suite
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("ml-connector needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mlc demo

lint: $(STAMP)
	$(VENV)/bin/ruff check engine connectors tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: lint typecheck
	$(VENV)/bin/python -m pytest -n 2 -q

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/x12_read.py
	$(VENV)/bin/python benchmarks/x12_check.py
	$(VENV)/bin/python benchmarks/render.py
	$(VENV)/bin/python benchmarks/render_project.py
	$(VENV)/bin/python benchmarks/end_to_end.py
	$(VENV)/bin/python benchmarks/console.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
