# Three commands matter: `make demo` (set up, ingest the samples, answer a question), `make lint` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUESTION ?= How many homes lost power in the storm?

.PHONY: demo test lint eval clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned to the CPU wheel: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,aws,slack,peer,langchain]'
	touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/newsdesk ingest examples/articles/
	@$(BIN)/newsdesk ask "$(QUESTION)"

test: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy newsdesk ingest handler.py
	$(BIN)/cfn-lint template.yaml

clean:
	rm -rf $(VENV) .newsdesk
