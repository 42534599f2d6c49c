# brochure_build: `make` builds every edition, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SYSTEM := build/.cache/system-deps-ok

.PHONY: all build test lint clean photos proofs approve

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

## proofs: page PNGs and contact sheets per edition, and build/proofs/languages.png
proofs: build
	@$(BIN)/brochure proofs

## approve: accept the pages as they are now: rewrite the snapshots in tests/snapshots/
approve: build
	@$(BIN)/brochure proofs --snapshots tests/snapshots
	@git status --short tests/snapshots 2>/dev/null || true

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
