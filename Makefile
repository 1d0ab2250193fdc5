# accredit: `make run` to try it, `make test` to check it. Both set up everything first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app accredit
PORT   ?= 5000
STAMPS := .make
# Under CI, the suite runs on SQLite and again on PostgreSQL.
PG_TEST_URL ?= postgresql+psycopg://postgres:postgres@127.0.0.1:5432/test

.PHONY: install assets run serve test lint typecheck test-sqlite test-postgres bench clean

install: $(STAMPS)/python $(STAMPS)/assets

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# GOV.UK Frontend comes from npm and is built into accredit/static/govuk (git-ignored).
$(STAMPS)/assets: package.json package-lock.json assets/scss/*.scss
	@mkdir -p $(STAMPS) accredit/static/govuk
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js accredit/static/govuk/
	rm -rf accredit/static/govuk/assets
	cp -R node_modules/govuk-frontend/dist/govuk/assets accredit/static/govuk/assets
	@touch $@

assets: $(STAMPS)/assets

run: install
	$(FLASK) db upgrade
	$(FLASK) banks import question_banks
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

lint: $(STAMPS)/python
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMPS)/python
	$(BIN)/mypy

test-sqlite: install
	env -u ACCREDIT_TEST_DATABASE_URL $(BIN)/pytest -p no:cacheprovider

test-postgres: install
	ACCREDIT_TEST_DATABASE_URL=$${ACCREDIT_TEST_DATABASE_URL:-$(PG_TEST_URL)} $(BIN)/pytest -p no:cacheprovider

test: install lint typecheck test-sqlite
	@if [ "$$CI" = "true" ] || [ -n "$$ACCREDIT_TEST_DATABASE_URL" ]; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL pass skipped (set CI=true or ACCREDIT_TEST_DATABASE_URL to run it)"; \
	fi

bench: install
	$(BIN)/python bench/banks.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/exam_day.py

clean:
	rm -rf $(STAMPS) $(VENV) node_modules accredit/static/govuk build dist
