# Two commands for a fresh machine: `make train` and `make test` (each creates .venv when it is missing).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
MNIST_SRC ?= ../shared/mnist/MNIST/raw
FASHION_SRC ?= ../shared/fashion-mnist/FashionMNIST/raw
ARGS ?=

.PHONY: setup data train test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# the pinned torch/torchvision first, so nothing else pulls another build
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[dev]'

setup: $(BIN)/python

# Offline MNIST: copy the official .gz files (if a local copy exists) into data/, which torchvision extracts.
data:
	@for d in MNIST:$(MNIST_SRC) FashionMNIST:$(FASHION_SRC); do \
	  name=$${d%%:*}; src=$${d#*:}; \
	  if [ -d "$$src" ]; then mkdir -p data/$$name/raw && cp -n "$$src"/*.gz data/$$name/raw/; fi; \
	done

train: setup data
	$(BIN)/python -m digit_lit.train $(ARGS)

test: setup data
	$(BIN)/python -m pytest -q $(ARGS)

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: setup data
	$(BIN)/python benchmarks/epoch_overhead.py

clean:
	rm -rf outputs/train outputs/eval outputs/multirun outputs/20*
