# brochure_build: `make` builds every edition, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SYSTEM := build/.cache/system-deps-ok

.PHONY: all build test lint clean photos

all: build

$(SYSTEM): scripts/system_deps.sh
	@scripts/system_deps.sh
	@mkdir -p $(dir $@) && touch $@

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

## build: the print and screen PDFs of every edition, into build/<lang>/
build: $(SYSTEM) $(INSTALLED)
	@$(BIN)/brochure check
	@$(BIN)/brochure build

## test: the test suite (real renders)
test: $(SYSTEM) $(INSTALLED)
	$(BIN)/python -m pytest -q

## lint: ruff
lint: $(INSTALLED)
	$(BIN)/ruff check src tests scripts bench

## photos: stand-in photos for any figure whose file is missing from assets/
photos: $(INSTALLED)
	$(BIN)/python scripts/make_standin_photos.py

## clean: remove build outputs
clean:
	rm -rf build
