# brochure_build: `make` builds every edition, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SYSTEM := build/.cache/system-deps-ok
TEST_SYSTEM := build/.cache/system-deps-test-ok
port ?= 8000

.PHONY: all build test lint clean photos watch

all: build

$(SYSTEM): scripts/system_deps.sh
	@scripts/system_deps.sh
	@mkdir -p $(dir $@) && touch $@

$(TEST_SYSTEM): scripts/system_deps.sh
	@scripts/system_deps.sh test
	@mkdir -p $(dir $@) && touch $@

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

## build: the print and screen PDFs of every edition, into build/<lang>/
build: $(SYSTEM) $(INSTALLED)
	@$(BIN)/brochure check
	@$(BIN)/brochure build

## test: the test suite (real renders, and a headless chromium for the preview server)
test: $(SYSTEM) $(TEST_SYSTEM) $(INSTALLED)
	$(BIN)/python -m pytest -q

## watch: live preview of the pages as spreads at http://127.0.0.1:8000/ (make watch lang=en port=8001)
watch: $(SYSTEM) $(INSTALLED)
	@$(BIN)/brochure serve --port $(port) $(if $(lang),--lang $(lang))

## lint: ruff
lint: $(INSTALLED)
	$(BIN)/ruff check src tests scripts bench

## photos: stand-in photos for any figure whose file is missing from assets/
photos: $(INSTALLED)
	$(BIN)/python scripts/make_standin_photos.py

## clean: remove build outputs
clean:
	rm -rf build
