# make run / make test install what they need first; every step skips work already done.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# llama.cpp is compiled for a portable x86-64 level (AVX2/FMA/F16C), not -march=native: a
# native build on a CPU that reports AMX, inside a VM that does not grant the AMX tile state,
# segfaults on the first token (ggml_backend_amx_mul_mat). Override CMAKE_ARGS to tune.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
TOPIC ?= home solar batteries

.PHONY: install mcp-servers browser run test test-unit test-contract test-e2e lint bench clean

install: $(STAMP)

# Reinstalls only when pyproject.toml changes; pip keeps the compiled llama-cpp-python
# wheel in its cache, so even a fresh .venv does not compile it twice on one machine.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# The npm MCP servers the contract tests run, in tests/mcp_servers/node_modules (once per
# package.json); without node the step is skipped and those tests skip (they fail in CI).
MCP_STAMP := tests/mcp_servers/node_modules/.installed-stamp
mcp-servers: $(MCP_STAMP)

$(MCP_STAMP): tests/mcp_servers/package.json
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		cd tests/mcp_servers && npm install --no-audit --no-fund --silent && touch node_modules/.installed-stamp; \
	else echo "node is not installed: the MCP tests against the npm servers will skip"; fi

# The headless browser the run viewer's page tests drive: Debian's chromium and chromedriver,
# installed with apt-get when they are missing and apt-get can be used (root, or sudo without
# a password); nothing is done when they are there. Otherwise those tests skip (fail in CI).
APT_BROWSER := env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
		:; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "no apt-get: install chromium and chromedriver; the run viewer's browser tests will skip"; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
		else echo "not root and no sudo: the run viewer's browser tests will skip"; exit 0; fi; \
		$$SUDO $(APT_BROWSER) || { $$SUDO apt-get update -qq && $$SUDO $(APT_BROWSER); } \
			|| echo "chromium could not be installed: the run viewer's browser tests will skip"; \
	fi

run: install
	$(PY) main.py --crew research --input topic="$(TOPIC)"

# The unit tier runs on its own first: it must not load a real engine, model or Qdrant
# (tests/unit/conftest.py checks every test), which only a session of its own can see.
test: test-unit mcp-servers browser
	$(PY) -m pytest tests/contract tests/e2e

test-unit: install
	$(PY) -m pytest tests/unit

test-contract: install mcp-servers
	$(PY) -m pytest tests/contract

test-e2e: install browser
	$(PY) -m pytest tests/e2e

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/cold_start.py
	$(PY) bench/local_model.py
	$(PY) bench/stream_first_token.py
	$(PY) bench/orchestration.py
	$(PY) bench/debate_orchestration.py
	$(PY) bench/gateway_overhead.py
	$(PY) bench/batch_throughput.py
	$(PY) bench/memory_quality.py
	$(PY) bench/memory_recall.py
	$(PY) bench/worker_memory.py
	$(PY) bench/mcp_overhead.py
	$(PY) bench/startup.py
	$(PY) bench/tracing_overhead.py
	$(PY) bench/tool_calls.py
	$(PY) bench/planning.py
	$(PY) bench/example_crews.py 3
	$(PY) bench/local_crew_peer.py 3

clean:
	rm -rf $(VENV) .crewyard .pytest_cache .mypy_cache .ruff_cache
