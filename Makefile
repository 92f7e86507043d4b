# Two commands for a fresh machine: `make train` and `make test` (each creates .venv when it is missing).
# `make help` lists every target; the text after `##` on a target's line is what it prints.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
MNIST_SRC ?= ../shared/mnist/MNIST/raw
FASHION_SRC ?= ../shared/fashion-mnist/FashionMNIST/raw
ARGS ?=

.PHONY: help setup data train test test-fast lint bench clean
.DEFAULT_GOAL := help

help: ## what each target does
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  (ARGS=\"...\" passes Hydra overrides to train, pytest options to test and test-fast)"
	@echo "  (JOBS=N test processes for test and test-fast: 2 by default, 0 for one process)"

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the pinned torch/torchvision first, so nothing else pulls another build
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1

# installed again whenever pyproject.toml changes (a new dependency), so an existing .venv keeps up with it
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed ## create .venv and install digit_lit (editable) with its dev tools

# Offline MNIST: copy the official .gz files (if a local copy exists) into data/, which torchvision extracts.
data: ## copy MNIST and Fashion-MNIST from ../shared into data/ (when there)
	@for d in MNIST:$(MNIST_SRC) FashionMNIST:$(FASHION_SRC); do \
	  name=$${d%%:*}; src=$${d#*:}; \
	  if [ -d "$$src" ]; then mkdir -p data/$$name/raw && cp -n "$$src"/*.gz data/$$name/raw/; fi; \
	done

train: setup data ## train the default MLP (Hydra overrides in ARGS)
	$(BIN)/python -m digit_lit.train $(ARGS)

# Two test processes (pytest-xdist; each idle worker takes tests from the other's queue): most tests wait on a fresh
# process importing torch and Lightning, or run one-core steps, so two share the 2 cores well (README: Testing).
# JOBS=0 runs the suite in one process.
JOBS ?= 2
XDIST = -n $(JOBS) --dist worksteal

test: setup data ## the whole test suite, as CI runs it
	$(BIN)/python -m pytest -q $(XDIST) $(ARGS)

# slow: accuracy runs of a minute or more; install: the wheel in a fresh venv; browser: the page in Chromium
test-fast: setup data ## the suite without slow accuracy runs, the wheel install or browser tests
	$(BIN)/python -m pytest -q $(XDIST) -m "not slow and not install and not browser" $(ARGS)

lint: setup ## ruff check and ruff format --check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup data ## time one MLP epoch against a bare PyTorch loop (benchmarks/epoch_overhead.py)
	$(BIN)/python benchmarks/epoch_overhead.py

clean: ## delete the run folders under outputs/
	rm -rf outputs/train outputs/eval outputs/multirun outputs/20*
