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

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the pinned torch/torchvision first, so nothing else pulls another build
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[dev]'

setup: $(BIN)/python ## create .venv and install digit_lit (editable) with its dev tools

# Offline MNIST: copy the official .gz files (if a local copy exists) into data/, which torchvision extracts.
data: ## copy MNIST and Fashion-MNIST from ../shared into data/ (when there)
	@for d in MNIST:$(MNIST_SRC) FashionMNIST:$(FASHION_SRC); do \
	  name=$${d%%:*}; src=$${d#*:}; \
	  if [ -d "$$src" ]; then mkdir -p data/$$name/raw && cp -n "$$src"/*.gz data/$$name/raw/; fi; \
	done

train: setup data ## train the default MLP (Hydra overrides in ARGS)
	$(BIN)/python -m digit_lit.train $(ARGS)

test: setup data ## the whole test suite, as CI runs it
	$(BIN)/python -m pytest -q $(ARGS)

# slow: accuracy runs of a minute or more; install: the wheel in a fresh venv; browser: if the server's tests mark any
test-fast: setup data ## the suite without slow accuracy runs, the wheel install or browser tests
	$(BIN)/python -m pytest -q -m "not slow and not install and not browser" $(ARGS)

lint: setup ## ruff check and ruff format --check
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup data ## time one MLP epoch against a bare PyTorch loop (benchmarks/epoch_overhead.py)
	$(BIN)/python benchmarks/epoch_overhead.py

clean: ## delete the run folders under outputs/
	rm -rf outputs/20* outputs/multirun
