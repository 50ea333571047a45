# Two entry points that work on a fresh machine with only Python 3.11 and pip:
#   make run   - set up, then bill the bundled sample month into outputs/
#   make test  - set up, then run the whole test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PERIOD ?= 2026-10

.PHONY: setup run test lint bench clean

# The project's own bytecode compiled here, once, as pip compiles the libraries' when it installs
# them: else the first `make test` of a fresh clone compiles it in every test worker at once.
# Sources changed later are compiled again (by this step, or by Python when it imports them).
setup: $(STAMP)
	@$(BIN)/python -m compileall -q billing_lib tests benchmarks samples >/dev/null

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

run: setup
	$(BIN)/billing run --period $(PERIOD) --reports samples/$(PERIOD)/reports --parameters parameters --output outputs

# Bytecode caches kept even where the environment says not to write them (PYTHONDONTWRITEBYTECODE):
# else every test process, notebook kernel and `billing` command compiles the project again.
test: setup
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check billing_lib tests benchmarks samples
	$(BIN)/ruff format --check billing_lib tests benchmarks samples
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/run_benchmark.py

clean:
	rm -rf $(VENV) build *.egg-info
