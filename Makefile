# quanta: `make demo` runs the main job, `make test` runs the tests.
# Both create .venv and install everything they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint docs install postgres chromium clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

postgres:
	bash scripts/ensure-postgres.sh

# The HTML reports are rendered in headless Chromium by the tests.
chromium:
	bash scripts/ensure-chromium.sh

demo: $(STAMP)
	rm -rf quanta-demo
	PATH="$(CURDIR)/$(BIN):$$PATH" quanta demo quanta-demo

test: $(STAMP) postgres chromium lint docs
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest --cov=quanta --cov-report=term $(PYTEST_ARGS)

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash benchmarks/run_all.sh

# The documentation site (docs/): HTML in docs/_build/html; every warning is an error.
docs: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src/quanta

clean:
	rm -rf $(VENV) build .pytest_cache .coverage quanta-demo docs/_build
