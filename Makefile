# Observatoire du parc social — the two commands are `make demo` and `make test`.
# Every target installs into .venv first (idempotent: stamp files record the installed lock and the bytecode).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PACKAGES := $(VENV)/.packages
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.9
# Every module of the venv and of the project to bytecode (see $(STAMP) below), by $(1) processes (0: one per core).
COMPILE = $(PY) -m compileall -q -j $(1) "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" pipeline >/dev/null 2>&1

.PHONY: install demo test test-fast ui lock clean

install: $(STAMP)

# uv (from PyPI) installs the stack in ~10 s; pip is the fallback when uv cannot be installed.
$(PACKAGES): pyproject.toml constraints.txt Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if $(PY) -m pip install --quiet "uv==$(UV_VERSION)" >/dev/null 2>&1; then \
	  echo "install: uv pip install -c constraints.txt -e .[dev]"; \
	  $(VENV)/bin/uv pip install --quiet --python $(PY) -c constraints.txt -e ".[dev]"; \
	else \
	  echo "install: uv unavailable, using pip"; \
	  $(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"; \
	fi
	@touch $(PACKAGES)

# Then every module is compiled to bytecode once: uv does not compile by default, and where
# PYTHONDONTWRITEBYTECODE is set Python never caches what it compiles, so each process (the CLI,
# every dbt invocation, the atlas kernel) would compile thousands of modules again (~10 s each).
$(STAMP): $(PACKAGES)
	@echo "install: compiling to bytecode"
	@$(call COMPILE,0) || true
	@touch $(STAMP)

## make demo: generate the demo extracts (in data_demo/), run the whole pipeline, write the atlas PDF.
## On a fresh venv the bytecode is compiled by one process beside the demo (its generator uses one
## core for ~30 s): each .pyc is written whole (a module imported meanwhile is compiled in memory).
demo: $(PACKAGES)
	@if [ $(STAMP) -nt $(PACKAGES) ]; then $(VENV)/bin/observatoire demo; else \
	  echo "install: compiling to bytecode, beside the demo"; \
	  { $(call COMPILE,1) || true; touch $(STAMP); } & \
	  $(VENV)/bin/observatoire demo; status=$$?; wait; exit $$status; \
	fi

## make test: the whole test suite, end-to-end pipeline runs included, TEST_WORKERS files at a time
## (pytest-xdist; a file's tests on one worker, so its module fixtures are built once)
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

## make test-fast: everything but the tests marked slow
test-fast: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

## make ui: the Dagster UI on http://127.0.0.1:3000
ui: $(STAMP)
	$(VENV)/bin/observatoire ui

## make lock: re-resolve constraints.txt from pyproject.toml (needs the registries)
lock: $(STAMP)
	$(VENV)/bin/uv pip compile --python $(PY) pyproject.toml --extra dev -o constraints.txt

clean:
	rm -rf var reports/output data_demo dbt_project/target dbt_project/logs
