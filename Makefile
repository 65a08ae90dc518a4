# The two commands: `make run` and `make test`. Both create .venv with uv when it is missing.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# uv from PATH, or the one `make uv` installs with pip (run as a module: no PATH needed).
UV = $(shell command -v uv >/dev/null 2>&1 && echo uv || echo python3 -m uv)
PARLOUR_HOST ?= 127.0.0.1
PARLOUR_PORT ?= 8000
export PARLOUR_HOST PARLOUR_PORT

.PHONY: run test lint bench uv venv install install-test lock browser redis clean

uv:
	@if ! command -v uv >/dev/null 2>&1 && ! python3 -m uv --version >/dev/null 2>&1; then \
		echo "installing uv"; python3 -m pip install --quiet uv; fi

$(PY): | uv
	$(UV) venv --quiet $(VENV)

venv: $(PY)

# Installs exactly what uv.lock pins (what CI tested), the project itself editable. --locked
# refuses a lock that no longer matches pyproject.toml: run `make lock` after changing it.
# `install` keeps packages it does not need (--inexact), so `make run` after `make test` does
# not uninstall the test tools.
install: venv
	$(UV) sync --quiet --locked --inexact

install-test: venv
	$(UV) sync --quiet --locked --extra test

# Re-resolve uv.lock from pyproject.toml (after adding or bumping a dependency); commit both.
lock: uv
	$(UV) lock

# Debian's Chromium for the browser tests; never a downloaded browser.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: browser tests will skip (fail in CI)"; fi

# redis: Debian's redis-server for the many-nodes tests (each test starts its own on a free
# port); never a downloaded binary.
redis:
	@if ! command -v redis-server >/dev/null 2>&1; then \
		echo "installing Debian's redis-server for the many-nodes tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) \
		|| echo "could not install redis-server: Redis tests will skip (fail in CI)"; fi

# The demo: PARLOUR_DEMO=1 lets `parlour demo` load accounts with a published password and the
# login page offer them. A production server runs `parlour serve` without it (docs/deploying.md).
run: export PARLOUR_DEMO = 1
run: install
	$(VENV)/bin/parlour migrate
	$(VENV)/bin/parlour demo --if-empty
	$(VENV)/bin/parlour serve --host $(PARLOUR_HOST) --port $(PARLOUR_PORT)

test: install-test browser redis lint
	$(VENV)/bin/pytest

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# The realtime benchmark (docs/benchmarks.md); e.g. make bench BENCH_ARGS="--backend sqlite".
# ai: then the local AI provider's cost per 1,000 messages (bench/ai_bench.py).
BENCH_ARGS ?=
# search: then the search benchmark; e.g. SEARCH_BENCH_ARGS="--backend postgresql".
SEARCH_BENCH_ARGS ?=
bench: install-test redis
	$(PY) -m bench.realtime_bench $(BENCH_ARGS)
	$(PY) -m bench.search_bench $(SEARCH_BENCH_ARGS)
	$(PY) -m bench.ai_bench  # ai: the local AI provider per 1,000 messages

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
