# Diving into Machine Learning with TensorFlow 2: the workshop's commands.
#   make run    set up, fetch the data, run every notebook in order, print the results table
#   make test   set up, then unit tests and every notebook under nbval in quick mode
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# GPU=1: `make setup GPU=1` installs tensorflow[and-cuda] (same version) instead of tensorflow-cpu
# in the same .venv; the choice is remembered in .venv/.gpu (make setup GPU=0 goes back).
GPU ?= $(shell cat $(VENV)/.gpu 2>/dev/null || echo 0)
STAMP := $(VENV)/.installed-gpu$(GPU)
LAB_PORT ?= 8888
PYTEST_ARGS ?= --durations=15
DATA_HOST ?= 127.0.0.1
DATA_PORT ?= 8000

.PHONY: help setup data run test lint format test-unit test-notebooks e2e lab doctor bench clean distclean \
	exercises my-work export slides serve-data distributed-local wheelhouse test-wheelhouse

help:
	@echo "make run      set up, fetch data, execute every notebook (full mode), print results"
	@echo "make test     set up, unit tests + every notebook under nbval (quick mode)"
	@echo "make lint     ruff check + ruff format --check; make format fixes what it can"
	@echo "make test-unit / make test-notebooks  one half of make test"
	@echo "make setup    .venv with the pinned packages, the workshop installed editable (GPU=1: tensorflow[and-cuda])"
	@echo "make e2e      JupyterLab and TensorBoard in headless Chromium, as an attendee uses them"
	@echo "make data     fetch the data sets (WORKSHOP_DATA_MIRROR=folder-or-url to use a mirror)"
	@echo "make lab      JupyterLab on 127.0.0.1:$(LAB_PORT) with a token"
	@echo "make doctor   check Python, TensorFlow, devices, data cache, ports"
	@echo "make bench    word2vec against gensim (benchmarks/)"
	@echo "make distributed-local  word2vec on chief + 2 ps + 2 workers on 127.0.0.1 (DIST_ARGS='--steps 2000 --startup-deadline 120', DIST_LAUNCHER_ARGS='--restarts 2')"
	@echo "make my-work  copy the exercise notebooks to my-work/ (yours: git ignores it, nothing overwrites it)"
	@echo "make export   copy the notebook cells marked '#| export' into their section's helper module"
	@echo "make exercises  attendee copies exercises/<section>.ipynb from the solution notebooks"
	@echo "make slides   one reveal.js deck per notebook in build/slides/ (works offline)"
	@echo "make serve-data  serve the verified data cache (DATA_HOST=0.0.0.0 for the room, DATA_PORT=8000)"
	@echo "make wheelhouse  the pinned wheels for the room mirror (WHEELHOUSE_PLATFORMS, WHEELHOUSE_PYTHONS); serve-data serves them"
	@echo "make test-wheelhouse  make setup in a fresh clone from a served wheelhouse alone (slow, ~0.5 GB)"
	@echo "make clean    remove artifacts, executed notebooks, caches (keeps .venv and data)"
	@echo "make distclean  make clean, and remove .venv and the downloaded data"

# PIP: pip, but `install` takes the packages from the room mirror's wheelhouse when
# WORKSHOP_DATA_MIRROR has one for this machine (make wheelhouse + make serve-data), and
# from the package index otherwise (or for what the mirror lacks).
PIP = $(PY) -m workshop_sections.tools.serve_data pip
$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PY) -m workshop_sections.tools.doctor --write-requirements $(VENV)/requirements-gpu$(GPU).txt --gpu $(GPU)
	@$(PY) -m pip uninstall --quiet -y $(if $(filter 1,$(GPU)),tensorflow-cpu,tensorflow) 2>/dev/null || true
	$(PIP) install --quiet -r $(VENV)/requirements-gpu$(GPU).txt
	$(PIP) install --quiet --no-deps -e .
	@echo $(GPU) > $(VENV)/.gpu
	@rm -f $(VENV)/.installed*; touch $(STAMP)

setup: $(STAMP)

data: setup
	$(PY) -m workshop_sections.data fetch all

run: setup data
	$(PY) -m workshop_sections.tools.notebooks run

# Tests run in quick mode and write what the notebooks hand on to build/test-artifacts/, so a
# `make test` never replaces the full-mode results `make run` left in artifacts/.
TEST_ENV = WORKSHOP_QUICK=1 WORKSHOP_ARTIFACTS=$(CURDIR)/build/test-artifacts

# The unit tests run in two pytest-xdist workers, one test file per worker at a time (TEST_WORKERS=
# to run them in one process); the notebooks then run one after another (a later section reads what
# an earlier one wrote). Both always run; make test fails if either fails.
TEST_WORKERS ?= -n 2 --dist loadfile
test: setup
	@status=0; \
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . || status=1; \
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS) $(TEST_WORKERS) tests -p no:cacheprovider || status=1; \
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS) workshop_sections --nbval-lax --nbval-cell-timeout=600 \
		-p no:cacheprovider || status=1; \
	exit $$status

# ruff (pinned in requirements.txt, configured in pyproject.toml): lint and format check; `make format` fixes
# lint and format need only ruff: they set up the .venv only when it has no ruff yet
RUFF_DEP = $(if $(wildcard $(VENV)/bin/ruff),,setup)
lint: $(RUFF_DEP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: $(RUFF_DEP)
	$(VENV)/bin/ruff check --fix . ; $(VENV)/bin/ruff format .

test-unit: setup
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS) $(TEST_WORKERS) tests

test-notebooks: setup
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS) workshop_sections --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider

# Needs Debian's chromium (apt-get install -y chromium); screenshots in build/e2e/.
e2e: setup
	$(TEST_ENV) WORKSHOP_E2E=require $(PY) -m pytest $(PYTEST_ARGS) tests/test_e2e.py -m e2e -p no:cacheprovider

lab: setup
	@echo "JupyterLab on http://127.0.0.1:$(LAB_PORT)/ (the URL with the token is printed below)"
	$(PY) -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) --no-browser \
		--ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root)

doctor: setup
	$(PY) -m workshop_sections.tools.doctor

# Attendees' own copies: never overwritten (cp -n), ignored by git, so `git pull` never conflicts with them.
my-work:
	@mkdir -p my-work
	@for f in exercises/*.ipynb; do \
	  if [ -e "my-work/$$(basename $$f)" ]; then echo "kept    my-work/$$(basename $$f) (yours)"; \
	  else cp "$$f" my-work/ && echo "copied  my-work/$$(basename $$f)"; fi; done

export: setup
	$(PY) -m workshop_sections.tools.export

exercises: setup
	$(PY) -m workshop_sections.tools.exercise_copies

# decks from build/executed/ (make run's); a missing or stale copy is executed first, in quick
# mode (marked on the title slide) unless SLIDES_ARGS=--full
slides: setup
	$(PY) -m workshop_sections.tools.slides build $(SLIDES_ARGS)

serve-data: setup
	$(PY) -m workshop_sections.tools.serve_data --host $(DATA_HOST) --port $(DATA_PORT)

# The room's wheelhouse (served by make serve-data beside the data; make setup takes it via
# WORKSHOP_DATA_MIRROR): about 0.5 GB per platform and Python.
WHEELHOUSE_PLATFORMS ?= linux_x86_64 linux_aarch64 macos_arm64 macos_x86_64 windows_x86_64
# the pins' Pythons (numpy 2.4.6 needs 3.11+); macOS gets tensorflow for tensorflow-cpu (no wheel)
WHEELHOUSE_PYTHONS ?= 3.11 3.12 3.13
wheelhouse: setup
	$(PY) -m workshop_sections.tools.serve_data wheelhouse --platforms $(WHEELHOUSE_PLATFORMS) --pythons $(WHEELHOUSE_PYTHONS)

# The wheelhouse end to end: builds this machine's, serves it, `make setup` in a fresh clone
# with the package index unreachable (downloads and installs ~0.5 GB: not in make test).
test-wheelhouse: setup
	WORKSHOP_WHEELHOUSE_TEST=1 $(PY) -m pytest $(PYTEST_ARGS) tests/test_wheelhouse.py -m slow -s -p no:cacheprovider

bench: setup
	$(PY) -m pip install --quiet -r requirements-bench.txt
	$(PY) benchmarks/bench_word2vec.py

DIST_ARGS ?= --steps 2000
DIST_LAUNCHER_ARGS ?=
distributed-local: setup
	$(PY) -m workshop_sections.distributed_tensorflow.launcher --num-ps 2 --num-workers 2 --fresh $(DIST_LAUNCHER_ARGS) -- $(DIST_ARGS)

clean:
	rm -rf artifacts build .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
	find workshop_sections -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) data/mnist data/nltk data/corpora data/questions-words.txt
