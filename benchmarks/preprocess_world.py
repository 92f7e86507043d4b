"""How well `preprocess.to_mnist` keeps the digit in world pictures, per look, and how long it takes.

    python benchmarks/preprocess_world.py [--data-dir data] [--n 2000] [--seed 0]

Each of `n` MNIST VALIDATION digits (the 5,000 that `split_train_val(60000, 5000, 12345)` carves out; test digits are
never used) is drawn as one world picture (`world.draw_page` + `world.photo_effects`, seeded per picture, so a given
(seed, n) always draws the same pictures whatever preprocessing does) and viewed through `to_mnist`. Prints, per
look and overall: the share refused by `to_mnist`, the share lost (its view's `agreement` with the drawing under
READABLE), the share readable, and the wall and CPU ms of `to_mnist` per picture.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one picture, one core, as a server worker reads it

from digit_lit.data import load_split, split_train_val
from digit_lit.world import LOOKS, READABLE, agreement, draw_page, photo_effects, to_view

MNIST_TRAIN, VAL_SIZE, VAL_SEED = 60_000, 5_000, 12_345  # the project's validation split (conf/data defaults)


def validation_digits(data_dir: str, n: int) -> np.ndarray:
    """The first `n` validation digits (cycled when n > 5,000: each picture draws its own hand, pen and page)."""
    images, _ = load_split(data_dir, train=True, download=False)
    _, val = split_train_val(MNIST_TRAIN, VAL_SIZE, VAL_SEED)
    return images.numpy()[val.numpy()[np.arange(n) % len(val)]]


def measure(digits: np.ndarray, seed: int) -> dict[str, dict[str, float]]:
    """Counts per look: pictures, refused, lost, readable; wall and CPU seconds spent in to_mnist."""
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for i, digit in enumerate(digits):
        rng = np.random.default_rng([seed, i])
        page, look = draw_page(digit, rng)
        picture = photo_effects(page, rng, look=look)
        start, cpu = time.perf_counter(), time.process_time()
        view = to_view(picture)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        outcome = "refused" if view is None else "readable" if agreement(view, page) >= READABLE else "lost"
        for key in (look, "overall"):
            stats[key]["n"] += 1
            stats[key][outcome] += 1
            stats[key]["wall"] += wall
            stats[key]["cpu"] += cpu
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--n", type=int, default=2000, help="pictures, one per validation digit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    stats = measure(validation_digits(args.data_dir, args.n), args.seed)
    print(f"{args.n} world pictures of MNIST validation digits, seed {args.seed}; readable: agreement >= {READABLE}")
    print(f"{'look':8s} {'n':>5s} {'refused':>8s} {'lost':>7s} {'readable':>9s} {'ms/picture':>11s} {'CPU ms':>7s}")
    for look in (*LOOKS, "overall"):
        s = stats[look]
        n = max(s["n"], 1)
        print(
            f"{look:8s} {int(s['n']):5d} {s['refused'] / n:8.1%} {s['lost'] / n:7.1%} {s['readable'] / n:9.1%} "
            f"{1000 * s['wall'] / n:11.2f} {1000 * s['cpu'] / n:7.2f}"
        )


if __name__ == "__main__":
    main()
