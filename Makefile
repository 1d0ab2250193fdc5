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

# `install` sets up what serving needs; the development tools come only with `test`,
# `lint`, `typecheck` and `bench`.
install: $(STAMPS)/python $(STAMPS)/assets

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(BIN)/python || { echo "==> Creating the virtual environment in $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> Installing the packages accredit needs to run, into $(VENV) (a few minutes the first time)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(STAMPS)/dev: $(STAMPS)/python
	@echo "==> Installing the development tools (pytest, Playwright, ruff, mypy, ...) into $(VENV)"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# GOV.UK Frontend comes from npm and is built into accredit/static/govuk (git-ignored).
$(STAMPS)/assets: package.json package-lock.json assets/scss/*.scss
	@mkdir -p $(STAMPS) accredit/static/govuk
	@echo "==> Installing GOV.UK Frontend with npm and building the stylesheet"
	@npm ci --no-audit --no-fund --loglevel=error
	@npm run --silent build
	@cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js accredit/static/govuk/
	@rm -rf accredit/static/govuk/assets
	@cp -R node_modules/govuk-frontend/dist/govuk/assets accredit/static/govuk/assets
	@touch $@

assets: $(STAMPS)/assets

run: install
	@echo "==> Bringing the database up to date"
	@$(FLASK) db upgrade
	@echo "==> Importing the question banks in question_banks/"
	@$(FLASK) banks import question_banks
	@echo "==> Creating the demo accounts, enrolments and Northhaven's past sittings"
	@$(FLASK) demo
	@echo "==> Closing attempts whose time has run out every 30 seconds, in the background"
	@echo "==> Starting the background worker (rescoring, item analysis and exports)"
	@echo "==> Serving on http://127.0.0.1:$(PORT) (Ctrl-C to stop)"
	@$(FLASK) attempts sweep --every 30 & sweeper=$$!; \
	$(FLASK) jobs worker --workers 2 & worker=$$!; \
	trap 'kill $$sweeper $$worker 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

lint: $(STAMPS)/dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMPS)/dev
	$(BIN)/mypy

test-sqlite: install $(STAMPS)/dev
	env -u ACCREDIT_TEST_DATABASE_URL $(BIN)/pytest -p no:cacheprovider

test-postgres: install $(STAMPS)/dev
	ACCREDIT_TEST_DATABASE_URL=$${ACCREDIT_TEST_DATABASE_URL:-$(PG_TEST_URL)} $(BIN)/pytest -p no:cacheprovider

test: install $(STAMPS)/dev lint typecheck test-sqlite
	@if [ "$$CI" = "true" ] || [ -n "$$ACCREDIT_TEST_DATABASE_URL" ]; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL pass skipped (set CI=true or ACCREDIT_TEST_DATABASE_URL to run it)"; \
	fi

bench: install $(STAMPS)/dev
	$(BIN)/python bench/banks.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/item_analysis.py
	$(BIN)/python bench/exam_day.py

clean:
	rm -rf $(STAMPS) $(VENV) node_modules accredit/static/govuk build dist
