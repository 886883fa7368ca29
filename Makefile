# make run / make test install what they need first; every step skips work already done.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
TOPIC ?= home solar batteries

.PHONY: install run test test-unit test-contract test-e2e lint bench clean

install: $(STAMP)

# Reinstalls only when pyproject.toml changes; pip keeps the compiled llama-cpp-python
# wheel in its cache, so even a fresh .venv does not compile it twice on one machine.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: install
	$(PY) main.py --crew research --input topic="$(TOPIC)"

# The unit tier runs on its own first: it must not load a real engine, model or Qdrant
# (tests/unit/conftest.py checks every test), which only a session of its own can see.
test: test-unit
	$(PY) -m pytest tests/contract tests/e2e

test-unit: install
	$(PY) -m pytest tests/unit

test-contract: install
	$(PY) -m pytest tests/contract

test-e2e: install
	$(PY) -m pytest tests/e2e

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/cold_start.py
	$(PY) bench/local_model.py
	$(PY) bench/orchestration.py
	$(PY) bench/debate_orchestration.py
	$(PY) bench/gateway_overhead.py
	$(PY) bench/batch_throughput.py
	$(PY) bench/memory_quality.py
	$(PY) bench/memory_recall.py
	$(PY) bench/worker_memory.py

clean:
	rm -rf $(VENV) .crewyard .pytest_cache .mypy_cache .ruff_cache
