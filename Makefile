# Two commands do everything on a fresh machine:
#   make demo   offline rehearsal of a migration on the bundled sample, against the tenant emulator
#   make test   lint, types, requirements drift, and the whole test suite (starts Azurite itself)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-py312 lint typecheck pytest bench clean

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
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 3 --dist loadfile

test: lint typecheck pytest

# Azure's runtime is Python 3.12: a second venv, the unit and trigger tests, and an import of the app.
test-py312: node_modules/.bin/azurite
	test -x .venv312/bin/python || python3.12 -m venv .venv312
	.venv312/bin/python -m pip install --quiet --upgrade pip
	.venv312/bin/python -m pip install --quiet -e '.[dev]'
	.venv312/bin/python -c "import function_app; print(len(function_app.app.get_functions()), 'functions indexed')"
	.venv312/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/functions tests/spine

bench: $(STAMP)
	$(BIN)/python -m bench.import_throughput
	$(BIN)/python -m bench.import_utilisation
	$(BIN)/python -m bench.emulator_throughput
	$(BIN)/python -m bench.plan_throughput
	$(BIN)/python -m bench.jit_latency

clean:
	rm -rf $(VENV) .venv312 node_modules .mypy_cache .ruff_cache
