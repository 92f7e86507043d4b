"""Does the guard's one threshold keep its promise on tiny scans, and would a threshold of their own?

    python benchmarks/tiny_threshold.py MODEL [--n 5000] [--scans 500] [--data-dir data] [--seed 0]

The world draws a tiny scan (8x8 to 16x16, sometimes shown enlarged) for one picture in ten, so the threshold, bound
on all world validation pictures together, says little about them. Here each of `n` MNIST validation digits is drawn
in the tiny look only (`world.draw_page(..., look="tiny")` + `world.photo_effects`, seeded per picture) and read by
the guard: accuracy, coverage and wrong accepts at its stored threshold, and the threshold that the tiny pictures
alone would need to meet the world's target (0.2%, Clopper-Pearson at 95%, as `calibration.choose_threshold` fits
the guard's), with its coverage there. Then the first `scans` official test digits as optdigits-like scans, stored as
`tiny_scans.py` stores them, read at both thresholds: is what validation says borne out on digits never tuned on?
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
from first_test_digits import validation_digits
from omegaconf import OmegaConf
from tiny_scans import STORED, optdigits, read

import digit_lit
from digit_lit import world
from digit_lit.calibration import choose_threshold
from digit_lit.data import load_split
from digit_lit.guard import Guard

CONF = Path(digit_lit.__file__).parent / "conf"
TARGET = OmegaConf.load(CONF / "experiment" / "guard.yaml").model.max_world_wrong_accept  # the world's target
BOUND = OmegaConf.load(CONF / "model" / "ensemble.yaml").bound_confidence  # and its confidence


def row(name: str, conf: np.ndarray, right: np.ndarray, thresholds: list[float]) -> str:
    cells = [f"{name:<24}{right.mean():>7.3f}"]
    for t in thresholds:
        accepted = conf >= t
        wrong = int((accepted & ~right).sum())
        cells.append(f"{accepted.mean():>9.3f}{wrong:>5} ({wrong / len(conf):.2%})")
    return "".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a guard's .ckpt or .onnx")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--scans", type=int, default=500)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    guard = Guard.load(args.model)
    digits, labels = validation_digits(args.data_dir, args.n)
    pictures = []
    for i, digit in enumerate(digits):
        rng = np.random.default_rng([args.seed, i])
        pictures.append(world.photo_effects(world.draw_page(digit, rng, look="tiny")[0], rng, look="tiny"))
    conf, right, _ = read(guard, pictures, labels)
    own = choose_threshold([(conf, right, TARGET)], BOUND)
    print(f"model {Path(args.model).name}: stored threshold {guard.threshold:.5f}; tiny pictures alone {own:.5f}")
    print(f"{'':<24}{'right':>7}{'accepted, wrong at stored':>27}{'accepted, wrong at own':>24}")
    print(row(f"tiny val ({len(conf)})", conf, right, [guard.threshold, own]))
    test, truth = load_split(args.data_dir, train=False, download=False)
    scans = [optdigits(d) for d in test[: args.scans].numpy()]
    truth = truth[: args.scans].numpy()
    for name, store in STORED.items():
        conf, right, _ = read(guard, [store(s) for s in scans], truth)
        print(row(name, conf, right, [guard.threshold, own]))


if __name__ == "__main__":
    main()
