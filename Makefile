# Two commands for a newcomer:  make run  (the provider + demo portal)  ·  make test  (the suite)
# The interpreter: the distribution's own (/usr/bin/python3) when it is 3.11 or newer and can make
# a virtual environment, else the first python3 on PATH; `make PYTHON=…` chooses another.
# Distributions, like the python:3.11 image of the Dockerfile, build CPython with profile-guided
# optimization and LTO; pyenv's default build has neither: a pure-Python loop ran ≈ 25 % slower
# on it, the provider 5-10 % per request (bench/CHANGES.md, 2026-12-06).
PYTHON ?= $(shell /usr/bin/python3 -c 'import ensurepip, sys, venv; sys.exit(sys.version_info < (3, 11))' \
            >/dev/null 2>&1 && echo /usr/bin/python3 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint translations bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## set up everything and start the provider on :5000 and the demo portal on :5001
	$(BIN)/idp demo

test: $(STAMP)  ## the whole suite (IDP_TEST_DATABASE_URL=postgresql://… to run it on PostgreSQL)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check idp tests examples bench

translations: $(STAMP)  ## after changing page text: collect the Vietnamese messages, then write their English in messages.po and run this again
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ -k NC_:1c,2 -k _l -k pgettext:1c,2 --no-location --sort-output \
	  -o idp/translations/messages.pot .
	$(BIN)/pybabel -q update -i idp/translations/messages.pot -d idp/translations -l en \
	  --no-fuzzy-matching
	$(BIN)/pybabel -q compile -d idp/translations -l en

clean:
	rm -rf $(VENV) instance .pytest_cache
