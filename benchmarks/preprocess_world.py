"""How well `preprocess.to_mnist` keeps the digit in world pictures, per look, and how long it takes.

    python benchmarks/preprocess_world.py [--data-dir data] [--n 2000] [--seed 0] [--model CKPT_OR_ONNX]

Each of `n` MNIST VALIDATION digits (the 5,000 that `split_train_val(60000, 5000, 12345)` carves out; test digits are
never used) is drawn as one world picture (`world.draw_page` + `world.photo_effects`, seeded per picture, so a given
(seed, n) always draws the same pictures whatever preprocessing does) and viewed through `to_mnist`. Prints, per
look and overall: the share refused by `to_mnist`, the share lost (its view's `agreement` with the drawing under
READABLE), the share readable, and the wall and CPU ms of `to_mnist` per picture. With --model, also how that
guard reads the views (pictures preprocessing refused count as not accepted): the accuracy of its top digit, the
share it accepts and the share it accepts wrongly, over all pictures of the look.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one picture, one core, as a server worker reads it

from first_test_digits import validation_digits

from digit_lit.guard import Guard
from digit_lit.world import LOOKS, READABLE, agreement, draw_page, photo_effects, to_view


def measure(digits: np.ndarray, labels: np.ndarray, seed: int, guard: Guard | None) -> dict[str, dict[str, float]]:
    """Counts per look: pictures, refused, lost, readable; wall and CPU seconds spent in to_mnist; with a guard, its
    right, accepted and wrongly accepted readings."""
    stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    views: list[tuple[str, int, np.ndarray]] = []
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
        if view is not None:
            views.append((look, int(labels[i]), view))
    if guard is not None and views:
        verdicts = guard.verdicts(np.stack([v for _, _, v in views]))
        for (look, label, _), verdict in zip(views, verdicts, strict=True):
            right = verdict["digit"] == label
            for key in (look, "overall"):
                stats[key]["right"] += right
                stats[key]["accepted"] += verdict["accepted"]
                stats[key]["wrong_accepted"] += verdict["accepted"] and not right
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--n", type=int, default=2000, help="pictures, one per validation digit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="a guard (.ckpt or .onnx) to read the views with")
    args = parser.parse_args()
    guard = Guard.load(args.model) if args.model else None
    stats = measure(*validation_digits(args.data_dir, args.n), args.seed, guard)
    print(f"{args.n} world pictures of MNIST validation digits, seed {args.seed}; readable: agreement >= {READABLE}")
    header = f"{'look':8s} {'n':>5s} {'refused':>8s} {'lost':>7s} {'readable':>9s} {'ms/picture':>11s} {'CPU ms':>7s}"
    print(header + (f" {'acc':>6s} {'accepted':>9s} {'wrong acc':>10s}" if guard else ""))
    for look in (*LOOKS, "overall"):
        s = stats[look]
        n = max(s["n"], 1)
        line = (
            f"{look:8s} {int(s['n']):5d} {s['refused'] / n:8.1%} {s['lost'] / n:7.1%} {s['readable'] / n:9.1%} "
            f"{1000 * s['wall'] / n:11.2f} {1000 * s['cpu'] / n:7.2f}"
        )
        if guard:
            line += f" {s['right'] / n:6.1%} {s['accepted'] / n:9.1%} {s['wrong_accepted'] / n:10.2%}"
        print(line)


if __name__ == "__main__":
    main()
