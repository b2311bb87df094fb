# newscrawler: a newcomer needs only `make demo` (or `make crawl`) and `make test` (`make test-fast`: no crawls).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARCHIVE_DIR ?= output
# The demo's own archive: invented articles never mix with a real one.
DEMO_DIR ?= output-demo
DEMO_PORT ?= 0
SERVE_PORT ?= 8765
CRAWL_ARGS ?=

.PHONY: all venv test test-fast lint demo serve-demo crawl bench clean distclean

all: test

$(STAMP): pyproject.toml setup.py newscrawler/dedup/_simhash.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

## Run the test suite (offline: fixtures and loopback servers only).
test: $(STAMP)
	$(BIN)/python -m pytest

## The unit and component tests alone (no `scrapy crawl` subprocess: not the `crawl` marker),
## the property tests with a tenth of their examples: about half a minute.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not crawl" --hypothesis-profile=fast

## ruff and mypy on the package.
lint: $(STAMP)
	$(BIN)/ruff check newscrawler tests bench
	$(BIN)/mypy

## Serve the bundled sample on 127.0.0.1 and crawl it into $(DEMO_DIR)/ (offline).
demo: $(STAMP)
	$(BIN)/python -m newscrawler.dev.demo --fixtures tests/fixtures/eastmoney --archive $(DEMO_DIR) --port $(DEMO_PORT)

## Serve the bundled sample on 127.0.0.1:$(SERVE_PORT) until interrupted (to crawl it by hand).
serve-demo: $(STAMP)
	$(BIN)/python -m newscrawler.dev.server tests/fixtures/eastmoney --port $(SERVE_PORT)

## Crawl the real feeds (EASTMONEY_FEEDS) into $(ARCHIVE_DIR)/ (CRAWL_ARGS: more options).
## make itself can only exit 0 or 2: the crawl's own status is the last line when it is
## not 0 (a scheduler calls .venv/bin/scrapy directly to get it: docs/operations.md).
crawl: $(STAMP)
	@status=0; $(BIN)/scrapy crawl eastmoney -s ARCHIVE_DIR="$(ARCHIVE_DIR)" $(CRAWL_ARGS) || status=$$?; \
	if [ $$status -ne 0 ]; then \
	  echo "make crawl: scrapy crawl exited with status $$status (docs/operations.md#exit-statuses)" >&2; \
	  exit $$status; \
	fi

## Run every benchmark and print a table of figures.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

## Caches, and the demo's archive: only a folder the demo made (it holds the demo's mark),
## whatever DEMO_DIR or ARCHIVE_DIR say; a real archive is never deleted.
clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
	if [ -f "$(DEMO_DIR)/.newscrawler-demo" ]; then rm -rf -- "$(DEMO_DIR)"; fi

distclean: clean
	rm -rf $(VENV)
