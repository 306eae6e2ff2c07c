# Three commands matter: `make demo` (set up, ingest the samples, answer a question), `make lint` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ONNX_STAMP := $(VENV)/.onnx-exported
QUESTION ?= How many homes lost power in the storm?

.PHONY: demo test lint eval clean browser screenshot

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned to the CPU wheel: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	# pip's output goes to a log, printed whole only if the install fails: build backends print pages of warnings
	# (setuptools' packaging notes) that a newcomer cannot tell from errors. pip's own ERROR lines still show.
	$(BIN)/pip install -q -e '.[dev,aws,slack,peer,langchain]' > $(VENV)/pip-install.log 2>&1 \
	  || { cat $(VENV)/pip-install.log; echo "pip install failed (the log above is $(VENV)/pip-install.log)"; exit 1; }
	@grep '^ERROR' $(VENV)/pip-install.log || true
	touch $(STAMP)

# The ONNX export of the shipped encoder (~20 s, once per model) makes the default embedder several times faster
# to load and to run; a new model in newsdesk/encoder/ is exported again. Nothing is trained here.
$(ONNX_STAMP): $(STAMP) newsdesk/encoder/model.safetensors
	$(BIN)/newsdesk export-onnx --if-missing || echo "no ONNX export: Newsdesk uses sentence-transformers (slower)"
	touch $(ONNX_STAMP)

demo: $(ONNX_STAMP)
	@$(BIN)/newsdesk ingest examples/articles/
	@$(BIN)/newsdesk ask "$(QUESTION)"

test: $(ONNX_STAMP) browser
	$(BIN)/pytest -q -p no:cacheprovider

# tests/test_browser.py drives Debian's Chromium with selenium: installed here when missing and we are root
# (CI is); elsewhere those tests are skipped and say why.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and chromium-driver for the browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "could not install chromium: tests/test_browser.py will be skipped"; \
	  else echo "chromium is not installed and we are not root: tests/test_browser.py will be skipped"; fi; \
	fi

# Refresh docs/screenshot.png (the README's picture of the page) from the browser tests.
screenshot: $(STAMP) browser
	NEWSDESK_SCREENSHOT=1 $(BIN)/pytest -q -p no:cacheprovider tests/test_browser.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy newsdesk ingest handler.py
	$(BIN)/cfn-lint template.yaml

clean:
	rm -rf $(VENV) .newsdesk
