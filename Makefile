# Relais: `make demo` and `make test` work on a fresh machine (they create .venv themselves).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install console score bench bench-quick lint clean db-upgrade migration

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/relais demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .

console: $(STAMP)
	$(BIN)/relais console

db-upgrade: $(STAMP)
	$(BIN)/relais db upgrade

score: $(STAMP)
	$(BIN)/relais analyse ../shared/corpus/dev.jsonl > var/predictions.jsonl
	$(BIN)/python ../shared/tools/score_corpus.py ../shared/corpus/dev.jsonl var/predictions.jsonl

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

bench-quick: $(STAMP)
	for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b --quick || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache

# A new migration for a change of the models (append-only: never edit one already committed).
migration: $(STAMP)
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 2; }
	$(BIN)/python tools/new_migration.py "$(m)"
