"""The command line of the benchmarks that read the first N official test digits with a guard (`exif_orientation.py`,
`marks_around.py`, `camera_photos.py`, `tiny_scans.py`): MODEL, --n, --data-dir (and --val where a benchmark offers
validation digits for choosing); and the validation digits themselves (`validation_digits`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

import digit_lit
from digit_lit.data import load_split, split_train_val
from digit_lit.guard import Guard

SPLIT = OmegaConf.load(Path(digit_lit.__file__).parent / "conf" / "data" / "mnist.yaml")  # val_size, split_seed


def validation_digits(data_dir: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` validation digits and their labels (cycled when n > 5,000: each picture draws its own hand, pen
    and page)."""
    images, labels = load_split(data_dir, train=True, download=False)
    _, val = split_train_val(len(images), SPLIT.val_size, SPLIT.split_seed)
    pick = val.numpy()[np.arange(n) % len(val)]
    return images.numpy()[pick], labels.numpy()[pick]


def first_test_digits(
    description: str, n: int, parser: argparse.ArgumentParser | None = None, *, offer_val: bool = False
) -> tuple[Guard, np.ndarray, np.ndarray]:
    """Parse the command line (with a benchmark's own `parser`, which these arguments join), load the guard and the
    first N official test digits (uint8 [N, 28, 28], labels [N]), or with `offer_val` and --val the first N MNIST
    validation digits instead, and print which model reads how many of which."""
    parser = argparse.ArgumentParser(description=description) if parser is None else parser
    parser.add_argument("model", help="a guard's .ckpt or .onnx")
    parser.add_argument("--n", type=int, default=n)
    parser.add_argument("--data-dir", default="data")
    if offer_val:
        parser.add_argument("--val", action="store_true", help="MNIST validation digits instead of test digits")
    args = parser.parse_args()
    guard = Guard.load(args.model)
    if offer_val and args.val:
        digits, truth = validation_digits(args.data_dir, args.n)
        which = "validation"
    else:
        images, labels = load_split(args.data_dir, train=False, download=False)
        digits, truth = images[: args.n].numpy(), labels[: args.n].numpy()
        which = "test"
    print(f"model {Path(args.model).name} (threshold {guard.threshold:.4f}), the first {len(truth)} {which} digits")
    return guard, digits, truth
