# The two commands a newcomer runs: `make render` and `make test`.
PYTHON ?= python3
VENV   := .venv
TOOLS  := .tools
STACK  ?= dev
PIP    := $(VENV)/bin/python -m pip
# The test suite runs with the tested versions of every dependency (tests/constraints.txt and
# tests/tools/constraints.txt, written by `make lock`); `make test LOCK=0` takes the newest versions
# pyproject.toml's ranges allow instead (the scheduled drift job). `make render` keeps the ranges.
LOCK   ?= 1
LOCKED  = $(if $(filter 1,$(LOCK)),-c $(1),)

.PHONY: install tools render test lint bench reference clean testenv otelcol lock drift demo

install: $(VENV)/.installed
tools: $(TOOLS)/.installed

# What rendering needs (the library and its runtime dependencies) ...
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

# ... and what testing and linting add.
$(VENV)/.installed: $(VENV)/.runtime tests/constraints.txt
	$(PIP) install -q $(call LOCKED,tests/constraints.txt) -e '.[test,dev]'
	touch $@

$(TOOLS)/.installed: tests/tools/requirements.txt tests/tools/constraints.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --upgrade pip
	$(TOOLS)/bin/python -m pip install -q $(call LOCKED,tests/tools/constraints.txt) -r tests/tools/requirements.txt
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

## otelcol: build (or find, cached) the log router's collector for its live test; last line: the binary
otelcol:
	@bash testenv/otelcol/build.sh

## demo: a local control plane (make testenv's binaries) with the dev stack's in-cluster layer applied,
## `tenancy verify --skip-aws` run against it and two walls shown; stops everything at the end
## (`make demo KEEP=1` keeps it running and prints the kubeconfig and the stop command)
KEEP ?= 0
demo: install
	$(VENV)/bin/python tools/demo.py --stack $(STACK) $(if $(filter 1,$(KEEP)),--keep,)

lint: install
	$(VENV)/bin/ruff check tenancy tests stacks examples benchmarks tools testenv
	$(VENV)/bin/mypy tenancy

## lock: re-resolve the tested versions (tests/constraints.txt, tests/tools/constraints.txt) from the
## ranges and tests/lock-holds.txt; run the suite after it, and commit the locks with what they fixed
lock:
	$(PYTHON) tools/lock.py

## drift: what the newest versions the ranges allow change against the locks (run `make test LOCK=0` too)
drift:
	$(PYTHON) tools/lock.py --report

bench: install
	$(VENV)/bin/python benchmarks/render_scaling.py

## reference: regenerate docs/reference.md's spec reference from the models' documentation
reference: install
	$(VENV)/bin/python -c "from pathlib import Path; from tenancy.spec.reference import splice; p = Path('docs/reference.md'); p.write_text(splice(p.read_text()))"

clean:
	rm -rf build .pytest_cache .hypothesis
