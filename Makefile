# brochure_build: `make` builds every edition, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SYSTEM := build/.cache/system-deps-ok
TEST_SYSTEM := build/.cache/system-deps-test-ok
port ?= 8000

.PHONY: all build preflight test lint clean photos proofs approve watch

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

# The package's bytecode, written once rather than compiled at every start of `brochure` (where
# PYTHONDONTWRITEBYTECODE is set, Python never writes it itself: 0.1 s per command).
BYTECODE := build/.cache/bytecode.done
$(BYTECODE): $(INSTALLED) $(shell find src -name '*.py' 2>/dev/null)
	@$(BIN)/python -m compileall -q src
	@mkdir -p $(dir $@) && touch $@

# Everything a build reads. When none of it changed since the last good run, and no output was
# deleted, `make` does nothing (without starting Python); otherwise brochure build itself skips
# the editions whose inputs did not change.
SOURCES := $(shell find brochure layouts fonts assets src -type f ! -name '*.pyc' 2>/dev/null) pyproject.toml
DONE := build/.cache/make-build.done

## build: check the content, build every edition (print, screen, imposed) into build/<lang>/, preflight them
##        (brochure make: the three in one process)
build: $(DONE)
	@while read -r output; do test -f "$$output" || { rm -f $(DONE); exec $(MAKE) --no-print-directory build; }; done < $(DONE)

$(DONE): $(SYSTEM) $(INSTALLED) $(BYTECODE) $(SOURCES)
	@$(BIN)/brochure make
	@find build -name '*.pdf' -not -path 'build/.cache/*' -not -path 'build/.preview/*' > $@  # the preview's PDFs come and go

## preflight: check the built editions again (table, build/preflight.json, build/preflight.html)
preflight: $(INSTALLED)
	@$(BIN)/brochure preflight

## proofs: page PNGs and contact sheets per edition, and build/proofs/languages.png
proofs: build
	@$(BIN)/brochure proofs

## approve: accept the pages as they are now: rewrite the snapshots in tests/snapshots/
approve: build
	@$(BIN)/brochure proofs --snapshots tests/snapshots
	@git status --short tests/snapshots 2>/dev/null || true

## test: the test suite (real renders, and a headless chromium for the preview server)
test: $(SYSTEM) $(TEST_SYSTEM) $(INSTALLED) $(BYTECODE)
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
