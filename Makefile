# The two commands a newcomer runs: `make render` and `make test`.
PYTHON ?= python3
VENV   := .venv
TOOLS  := .tools
STACK  ?= dev
PIP    := $(VENV)/bin/python -m pip

.PHONY: install tools render test lint bench reference clean testenv

install: $(VENV)/.installed
tools: $(TOOLS)/.installed

# What rendering needs (the library and its runtime dependencies) ...
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

# ... and what testing and linting add.
$(VENV)/.installed: $(VENV)/.runtime
	$(PIP) install -q -e '.[test,dev]'
	touch $@

$(TOOLS)/.installed: tests/tools/requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/bin/python -m pip install -q -r tests/tools/requirements.txt
	touch $@

## render: render the dev stack offline (no cloud account, no Pulumi CLI) into build/$(STACK)
render: $(VENV)/.runtime
	$(VENV)/bin/tenancy render --stack $(STACK)

## test: the whole suite, with the independent analysers (and the live tests when `make testenv` has run;
## they skip otherwise, or fail with TENANCY_LIVE_REQUIRED=1)
test: install tools
	TENANCY_TOOLS=$(abspath $(TOOLS))/bin $(VENV)/bin/python -m pytest -n 2 -q

## testenv: build (or find, cached) the live tests' binaries from Go modules; last line: their folder
testenv:
	@bash testenv/build.sh

lint: install
	$(VENV)/bin/ruff check tenancy tests stacks examples benchmarks tools
	$(VENV)/bin/mypy tenancy

bench: install
	$(VENV)/bin/python benchmarks/render_scaling.py

## reference: regenerate README's spec reference from the models' documentation
reference: install
	$(VENV)/bin/python -c "from pathlib import Path; from tenancy.reference import splice; p = Path('README.md'); p.write_text(splice(p.read_text()))"

clean:
	rm -rf build .pytest_cache .hypothesis
