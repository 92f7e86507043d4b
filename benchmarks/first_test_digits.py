"""The command line of the benchmarks that read the first N official test digits with a guard (`exif_orientation.py`,
`marks_around.py`): MODEL, --n, --data-dir."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from digit_lit.data import load_split
from digit_lit.guard import Guard


def first_test_digits(
    description: str, n: int, parser: argparse.ArgumentParser | None = None
) -> tuple[Guard, np.ndarray, np.ndarray]:
    """Parse the command line (with a benchmark's own `parser`, which these arguments join), load the guard and the
    first N official test digits (uint8 [N, 28, 28], labels [N]), and print which model reads how many."""
    parser = argparse.ArgumentParser(description=description) if parser is None else parser
    parser.add_argument("model", help="a guard's .ckpt or .onnx")
    parser.add_argument("--n", type=int, default=n)
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    guard = Guard.load(args.model)
    images, labels = load_split(args.data_dir, train=False, download=False)
    digits, truth = images[: args.n].numpy(), labels[: args.n].numpy()
    print(f"model {Path(args.model).name} (threshold {guard.threshold:.4f}), the first {len(truth)} test digits")
    return guard, digits, truth
