# Lookalike. The two commands a new user needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MVN_FLAGS ?= -q -B
# Maven runs on the JDK Solr will run on (the newest usable one, lookalike/solr/java.py): built on
# Java 22+ the plugin also gets its in-place vector scan, and the jar still runs on Java 17.
# Empty when no JDK is found that way: Maven then uses its own JAVA_HOME.
MVN_JAVA_HOME ?= $(shell PYTHONPATH=. $(PYTHON) -c 'from lookalike.solr.java import find_jdk; print(find_jdk().home)' 2>/dev/null)
MVN ?= $(if $(MVN_JAVA_HOME),JAVA_HOME=$(MVN_JAVA_HOME) )mvn
JAVA_SOURCES := $(shell find solr -path '*/target' -prune -o -type f \( -name '*.java' -o -name '*.xml' -o -name '*.cfg' \) -print 2>/dev/null)
RUNTIME_STAMP := solr/launcher/target/runtime/.built

.PHONY: help venv solr solr-test browser test unit demo bench stop clean

help:
	@echo "make demo   start Solr, build the demo catalog, index it, serve the storefront"
	@echo "make test   install everything into .venv, build the Solr side, run every test"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# The Solr runtime: our plugin and launcher, and Solr 9.10.x jars from Maven Central.
$(RUNTIME_STAMP): $(JAVA_SOURCES)
	$(MVN) $(MVN_FLAGS) -f solr/pom.xml -DskipTests package
	touch $@

solr: $(RUNTIME_STAMP)

solr-test:
	$(MVN) $(MVN_FLAGS) -f solr/pom.xml test

# Headless Chromium for the browser tests (Debian's package; Playwright drives it).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: sudo apt-get install chromium"; exit 1; fi; }

test: venv solr browser solr-test
	$(BIN)/pytest

unit: venv
	$(BIN)/pytest tests/unit

DATA_DIR := $(or $(LOOKALIKE_DATA_DIR),$(HOME)/.lookalike)
DEMO_COUNT ?= 2000

# The main job: a real Solr, the demo catalog, a real pretrained CNN, the storefront.
demo: venv solr
	$(BIN)/lookalike solr start
	@test -f "$(DATA_DIR)/demo/catalog.jsonl" || $(BIN)/lookalike demo-catalog "$(DATA_DIR)/demo" --count $(DEMO_COUNT)
	$(BIN)/lookalike index "$(DATA_DIR)/demo/catalog.jsonl" --if-changed
	$(BIN)/lookalike clusters build
	@# the merchandiser who signs in to /merch: the token is printed once, when it is made
	$(BIN)/lookalike merchandiser add demo --exist-ok
	$(BIN)/lookalike serve

# Benchmarks: regenerates BENCHMARKS.md, benchmarks/plots/ and benchmarks/results/ (about 40 min from a fresh clone, 17 of them the quality section,
# before the cloud and scale sections were added; BENCH_FLAGS=--quick for a smoke run, --large adds 1M vectors and runs the scale section at 1M).
BENCH_FLAGS ?=
bench: venv solr
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python -m benchmarks.run $(BENCH_FLAGS)

stop:
	-$(BIN)/lookalike solr stop

clean:
	rm -rf $(VENV) solr/*/target
