# Two commands on a fresh machine with Python 3.11 and make:
#   make run   — set everything up and serve the site on SQLite with demo data
#   make test  — set everything up and run the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# Exported: the default SITE_URL (links in mail) follows the port the site runs on.
export PORT
export FLASK_APP := wsgi

.PHONY: run test lint venv translations clean serve worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

run: venv
	$(BIN)/flask db upgrade
	$(BIN)/flask seed demo --if-empty
	$(BIN)/flask search reindex --if-unavailable
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# Production web server: gunicorn with gunicorn.conf.py, configured by DATABASE_URL, REDIS_URL, PORT
# (and the settings in the README's "Production" section). Migrates first (idempotent).
serve: venv
	$(BIN)/flask db upgrade
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Background worker with RQ's scheduler (needs REDIS_URL): matching refits, search repair,
# notification scan and digest, outbox mail.
worker: venv
	$(BIN)/flask jobs worker

# Runs the suite on SQLite; when TEST_DATABASE_URL names a PostgreSQL server, runs the database tests
# on PostgreSQL too, side by side with the SQLite pass (each in its own fresh database; the PostgreSQL
# pass uses TEST_REDIS_URL_POSTGRES, or the next Redis database number, so the two never share a queue).
# The PostgreSQL pass's output is printed after the SQLite pass's; the target fails if either fails.
test: venv
	@if [ -z "$$TEST_DATABASE_URL" ]; then exec $(BIN)/python -m pytest; fi; \
	pg_redis="$${TEST_REDIS_URL_POSTGRES:-}"; \
	if [ -z "$$pg_redis" ] && [ -n "$$TEST_REDIS_URL" ]; then \
	  db="$${TEST_REDIS_URL##*/}"; case "$$db" in ''|*[!0-9]*) db=0;; esac; \
	  pg_redis="$${TEST_REDIS_URL%/*}/$$((db + 1))"; fi; \
	log="$$(mktemp)"; \
	echo "== SQLite and PostgreSQL passes side by side (PostgreSQL's output follows) =="; \
	TEST_DB=postgres TEST_REDIS_URL="$$pg_redis" $(BIN)/python -m pytest >"$$log" 2>&1 & pg=$$!; \
	$(BIN)/python -m pytest; sqlite=$$?; \
	wait $$pg; postgres=$$?; \
	echo "== PostgreSQL pass =="; cat "$$log"; rm -f "$$log"; \
	echo "== SQLite pass exit $$sqlite, PostgreSQL pass exit $$postgres =="; \
	[ $$sqlite -eq 0 ] && [ $$postgres -eq 0 ]

lint: venv
	$(BIN)/python -m ruff check .

translations: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations
	$(BIN)/pybabel compile -d translations

clean:
	rm -rf $(VENV) *.egg-info
