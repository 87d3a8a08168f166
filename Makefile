# twenty-oauth: `make demo` serves the example site, `make test` runs the tests.

# The newest Python here that runs (Django 6 needs 3.12+); PYTHON=... overrides.
PYTHON ?= $(shell for p in $(HOME)/.pyenv/versions/3.13*/bin/python3.13 python3.13 python3.12 python3; do \
	"$$p" -c 'import sys; assert sys.version_info >= (3, 11)' >/dev/null 2>&1 && echo "$$p" && break; done)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
PGDB ?= test

.PHONY: demo demo-relying-party venv install install-test test test-sqlite test-django52 test-postgres test-interop test-interop-js test-interop-conformance bench bench-peer bench-smoke lint migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]' gunicorn
	touch $@

venv install: $(VENV)/.installed

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --verbosity 0

$(VENV)/.installed-demo: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[mcp]'
	touch $@

# The site and its MCP server at /mcp, as one ASGI app (example_project/asgi.py).
demo: migrate $(VENV)/.installed-demo
	$(BIN)/python manage.py demo_user
	@echo "Serving the example site on http://127.0.0.1:$(PORT)/ and its MCP server on /mcp (Ctrl-C stops it)"
	TWENTY_OAUTH_ISSUER=http://127.0.0.1:$(PORT) $(BIN)/uvicorn example_project.asgi:application \
		--host 127.0.0.1 --port $(PORT)

test: test-sqlite

# Tests marked `postgres` (races) need a database that can show one: they run in test-postgres.
test-sqlite: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not postgres"

# The same suite on Django 5.2 LTS, the oldest Django supported, in a virtualenv of its own: the
# real host project, every user model and every mount included.
VENV52 ?= .venv-django52
$(VENV52)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV52)
	$(VENV52)/bin/python -m pip install --quiet --upgrade pip
	$(VENV52)/bin/pip install --quiet -e '.[test]' 'django>=5.2,<5.3'
	touch $@

test-django52: $(VENV52)/.installed
	$(VENV52)/bin/python -m django --version
	$(VENV52)/bin/python -m pytest -q -m "not postgres"

# The whole suite with server-side binding (the example's and README's setting), then the races
# and round trips again with Django's default, client-side binding.
test-postgres: $(VENV)/.installed-test
	TWENTY_DB=postgres PGDATABASE=$(PGDB) $(BIN)/python -m pytest -q
	TWENTY_DB=postgres TWENTY_PG_BINDING=client PGDATABASE=$(PGDB) $(BIN)/python -m pytest -q -m postgres

$(VENV)/.installed-interop: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[interop]'
	touch $@

# A second site that signs its users in with OpenID Connect against `make demo` (run it first,
# in another terminal): mozilla-django-oidc on http://127.0.0.1:8001/.
demo-relying-party: $(VENV)/.installed-interop
	$(BIN)/python -m interop.relying_party.run --provider http://127.0.0.1:$(PORT)

# Real clients against a live example site (see interop/README.md): the Python clients, the
# JavaScript ones, then the official MCP conformance suite.
test-interop: $(VENV)/.installed-interop
	$(BIN)/python -m pytest -c interop/pytest.ini interop
	$(MAKE) test-interop-js
	$(MAKE) test-interop-conformance

# The JavaScript clients (interop/js/README.md): oauth4webapi, the MCP TypeScript SDK, and
# Debian's Chromium driven by Playwright. The consent page's screenshot goes to interop/artifacts/.
test-interop-js: $(VENV)/.installed-interop
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	cd interop/js && npm ci --no-audit --no-fund
	PYTHON=$(BIN)/python interop/js/run.sh

# The official MCP conformance suite (interop/README.md): its `authorization` command against
# the site, its `server` command against /mcp. It needs Node 22, which npm installs beside it
# (the registry's `node` package); results go to interop/artifacts/conformance/.
test-interop-conformance: $(VENV)/.installed-interop
	cd interop/conformance && npm ci --no-audit --no-fund
	$(BIN)/python -m interop.conformance.run

# Load benchmark (see bench/README.md): gunicorn + wrk, results in bench/results/.
# `make bench BENCH_DB=postgres` runs it on PostgreSQL; BENCH_ARGS passes options to bench.run.
bench: $(VENV)/.installed-test
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run --db $(or $(BENCH_DB),sqlite) $(BENCH_ARGS)

# The same scenarios beside django-oauth-toolkit, in its own virtualenv (bench/.venv-peer).
bench-peer: $(VENV)/.installed-test
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.peer.install
	$(BIN)/python -m bench.run --peer --db $(or $(BENCH_DB),sqlite) $(BENCH_ARGS)

# CI: one short round of every scenario, checking that every answer is valid (not speed).
bench-smoke: $(VENV)/.installed-test
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python -m bench.run --smoke

lint: $(VENV)/.installed-test
	$(BIN)/ruff check twenty_oauth example_project tests interop bench scripts
	$(BIN)/ruff format --check twenty_oauth example_project tests interop bench scripts

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache build *.egg-info
