# The course, one command per step. `make help` lists the targets.
#
# Every target is idempotent: run it again and you get the same result.
# Ports and paths can be changed per command, e.g. `make stage-1 COURSE_SERVER_PORT=4300`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed

# Ports and the state folder can be changed per command (`make stage-1 COURSE_SERVER_PORT=4300`).
# coursekit points every Prefect command it runs at the course's own server and home (your own
# Prefect profile is never touched); `eval "$$(make -s env)"` does the same for your shell.
export PYTHONUNBUFFERED := 1

COURSE := $(PY) -m coursekit

# make stage-5 TARGET=cloud deploys to Prefect Cloud (needs PREFECT_API_KEY; see 05_cloud/README.md).
TARGET ?= local

.PHONY: help setup lock env server facts s3 smtp mlflow postgres image worker hint progress watch ui stop status stage-1 check-1 stage-2 check-2 stage-3 check-3 stage-4 check-4 stage-5 check-5 tour test test-fast lint bench clean chromium ui-check ui-walkthrough ui-test screenshots

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# --- environment ------------------------------------------------------------------------------

setup: $(STAMP) ## Create .venv and install the locked dependencies (again only when the lock changes)

$(STAMP): requirements/course.lock requirements/bootstrap.lock
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV) || { echo "✗ Could not create $(VENV): install Python >= 3.11 with the venv module."; exit 1; }
	@test -x $(VENV)/bin/uv || $(PY) -m pip install --quiet --require-hashes --no-deps -r requirements/bootstrap.lock
	@# --compile-bytecode: every process the course starts (workers' flow runs, CLI commands) imports
	@# Prefect, pandas and scikit-learn; without .pyc files (PYTHONDONTWRITEBYTECODE=1 is common) each
	@# import compiles them from source again, seconds every time.
	$(VENV)/bin/uv pip sync --quiet --compile-bytecode --python $(PY) requirements/course.lock
	@# The shared package is importable from every lesson script and worker through a .pth file,
	@# so no build step is needed and `python 01_intro/cat_facts.py` works as it is.
	@$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "course.pth").write_text("$(CURDIR)\n")'
	@# Migrating a new server database costs Prefect ~15 s: done here once, each new server copies it.
	@$(PY) -m coursekit empty-database >&2
	@touch $(STAMP)
	@echo "✓ Environment ready in $(VENV)" >&2  # stderr: eval "$$(make -s env)" reads stdout

lock: ## Re-resolve dependencies into the hashed pin files (no download URLs recorded)
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 --generate-hashes --no-header -o requirements/course.lock
	$(VENV)/bin/uv pip compile requirements/bootstrap.in --universal --python-version 3.11 --generate-hashes --no-header -o requirements/bootstrap.lock

env: $(STAMP) ## Print the exports that point your shell at the course server: eval "$(make -s env)"
	@$(COURSE) env

# --- services ---------------------------------------------------------------------------------

server: $(STAMP) ## Start the local Prefect server in the background (if it is not up yet)
	@$(COURSE) server

facts: $(STAMP) ## Start lesson 1's flaky local facts API (make stage-1 does it for you)
	@$(COURSE) facts

s3: $(STAMP) ## Start the local S3-compatible endpoint (moto server on loopback) and its bucket
	@$(COURSE) s3

smtp: $(STAMP) ## Start lesson 5's local SMTP server (make stage-5 does it for you); mail lands in .course/mail
	@$(COURSE) smtp

mlflow: $(STAMP) ## Start lesson 2's MLflow tracking server (make stage-2 does it for you); runs and models in .course/mlflow
	@$(COURSE) mlflow

postgres: $(STAMP) ## Start the course's PostgreSQL (lesson 5) and print the COURSE_DATABASE_URL to export
	@$(PY) -m coursekit.services.postgres

# The pool a worker polls: make worker POOL=course-scale (or course-docker, lesson 3's Docker pool). course-pool is the one lessons 3 to 5 deploy to.
POOL ?= course-pool

image: $(STAMP) ## Build lesson 3's image for the Docker work pool (03_deploy_local/Dockerfile; again only when the lock or the code changes)
	@$(COURSE) image

worker: $(STAMP) ## Start a worker for the course's pool in the background (POOL=course-scale, or POOL=course-docker for a Docker worker)
	@$(COURSE) worker --pool $(POOL)

ui: $(STAMP) ## Print the UI address (and open it where a browser exists)
	@$(COURSE) ui

status: $(STAMP) ## Show which course processes are running
	@$(COURSE) status

stop: ## Stop the server and every helper process the course started, and nothing else
	@if [ -x $(PY) ]; then $(COURSE) stop; else echo "Nothing to stop (no $(VENV) yet)."; fi

# --- lessons ----------------------------------------------------------------------------------

stage-1: $(STAMP) ## 01_intro: tasks, flows, subflows, retries against a flaky API
	@$(COURSE) stage 1

check-1: $(STAMP) ## Check your 01_intro exercises
	@$(COURSE) check 1

stage-2: $(STAMP) ## 02_workflow: the taxi training flow: caching, artifacts, parameters
	@$(COURSE) stage 2

check-2: $(STAMP) ## Check your 02_workflow exercises
	@$(COURSE) check 2

stage-3: $(STAMP) ## 03_deploy_local: prefect.yaml, work pools, a process worker, deployments, schedules
	@$(COURSE) stage 3

check-3: $(STAMP) ## Check your 03_deploy_local exercises
	@$(COURSE) check 3

stage-4: $(STAMP) ## 04_deploy_s3: blocks, data, model and code in S3, a run started by an event
	@$(COURSE) stage 4

check-4: $(STAMP) ## Check your 04_deploy_s3 exercises
	@$(COURSE) check 4

stage-5: $(STAMP) ## 05_cloud: email hooks + automation, two workers on one pool, a Dask sweep (TARGET=cloud: Prefect Cloud)
	@COURSE_TARGET=$(TARGET) $(COURSE) stage 5

check-5: $(STAMP) ## Check your 05_cloud exercises
	@$(COURSE) check 5

tour: $(STAMP) ## Run the whole course end to end on the embedded local services
	@$(COURSE) tour

# The learner's loop, as rustlings has it: `make watch` checks the exercise you are on at every save.
N ?=

hint: $(STAMP) ## The next hint of one exercise: make hint N=2-3 (stage 2, exercise 3)
	@test -n "$(N)" || { echo "✗ Name the exercise: make hint N=2-3 (stage 2, exercise 3); make progress lists them."; exit 2; }
	@$(COURSE) hint $(N)

progress: $(STAMP) ## Every stage's exercises, done or not, with a bar
	@$(COURSE) progress

watch: $(STAMP) ## Check the first exercise not done each time you save it; move on once it passes
	@$(COURSE) watch

# --- the UI in a real browser -----------------------------------------------------------------

# Debian's Chromium, which Playwright drives (Playwright's own browser download is never used).
# COURSE_CHROMIUM can point at another Chromium or Chrome binary; coursekit/browser.py reads the same variable.
COURSE_CHROMIUM ?= /usr/bin/chromium
export COURSE_CHROMIUM

# Installs Debian's chromium package when it is missing and this runs as root; otherwise prints the command.
# Never fails by itself: the next step says the same thing (the UI test skips, or fails under CI).
chromium:
	@if [ -x "$(COURSE_CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium package (the browser the UI checks drive)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
	    || echo "! Could not install chromium with apt-get."; \
	else \
	  echo "! Chromium is not installed at $(COURSE_CHROMIUM). Install it with: sudo apt-get install chromium"; \
	fi

ui-check: $(STAMP) chromium ## After make tour: check in Chromium that your UI shows what the API says
	@$(COURSE) ui-check

ui-walkthrough: $(STAMP) chromium ## After make tour: the lessons' UI steps (custom run, pool, schedule, automation) done in Chromium, each checked on the server
	@$(COURSE) ui-walkthrough

screenshots: $(STAMP) chromium ## After make tour: the UI checks and the walkthrough, saving the READMEs' pictures in docs/screenshots/
	@$(COURSE) screenshots

ui-test: $(STAMP) chromium ## A whole tour on a throw-away server, its UI checked in Chromium; the UI walkthrough beside it
	$(PY) -m pytest -n 2 --dist loadfile tests/e2e/test_tour.py tests/e2e/test_walkthrough.py

# --- quality ----------------------------------------------------------------------------------

# Three test processes on 2 cores (four starved each other: docs/figures.md), a file each at a time, the
# longest files first (tests/conftest.py): each process has its own server, workers, ports and state
# folder, and an end-to-end test spends much of its time waiting on workers and schedules, when another
# process can compute.
# --durations=20: the slowest tests, listed at the end, are where the suite's time goes.
test: lint ## Lint, then every test: units, exercises (solutions pass, starters fail), end to end
	$(PY) -m pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=20

# The quick loop while you change the course: units, structure, the README checks and the exercises that
# run in one process; no worker, deployment or end-to-end stage. Under 90 s on 2 cores.
test-fast: lint ## Lint, then every test but the end-to-end ones (about a minute)
	$(PY) -m pytest -n 2 --dist loadfile -m "not e2e"

bench: $(STAMP) ## Speed and accuracy figures: model RMSE and compute time, cache hits, the whole tour from cold
	@$(COURSE) bench

lint: $(STAMP) ## ruff (lint rules and formatting), then mypy's type check of coursekit
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean: stop ## Stop everything and delete what the course generated (.course, data, models)
	rm -rf .course data models
