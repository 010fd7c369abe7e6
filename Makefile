# Two commands do everything on a fresh machine:
#   make demo   offline rehearsal of a migration on the bundled sample, against the tenant emulator
#   make test   lint, types, requirements drift, and the whole test suite (starts Azurite itself)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck pytest bench azurite clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

node_modules/.bin/azurite: package-lock.json
	npm ci --no-audit --no-fund --silent && touch -h node_modules/.bin/azurite

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/ciam-migrate demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python scripts/gen_requirements.py --check

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) node_modules/.bin/azurite
	$(BIN)/python -m pytest -q -p no:cacheprovider

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache
