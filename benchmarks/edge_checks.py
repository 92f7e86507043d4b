"""What each setting of preprocessing's edge and ring checks costs and gives, on validation digits only.

    python benchmarks/edge_checks.py MODEL [--world 2000] [--marks 500] [--data-dir data]

`preprocess.runs_off` refuses a digit cut by the picture's edge (CROSS_RUN, CROSS_DEPTH) and `preprocess.ringed` a
circle drawn around the digit and touching it (RING_DEPTH, RING_SHARE, RING_REACH). Their settings are a trade: a
check that refuses more cut or circled digits also refuses more whole digits. Both are chosen here, on MNIST
VALIDATION digits (never the test digits the benchmarks report): `world` pictures (`world.draw_page` +
`world.photo_effects`, seed 11) for the cost, and `marks_around.py`'s own cases drawn from the same digits for the
gain. Each picture is read once by the guard without the two checks; then each setting is asked of it. A cell is
"accepted right refused / accepted wrong refused": what the setting takes from the guard's right answers and from
its wrong ones (the shipped setting is marked *).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import marks_around
import numpy as np
from first_test_digits import validation_digits

from digit_lit import preprocess
from digit_lit.guard import Guard
from digit_lit.world import draw_page, photo_effects

WORLD_SEED = 11
SETS = ("world", "digit alone", "cut by the frame", "circle touching it")
EDGE = list(itertools.product((0.25, 0.4, 0.6), (1.0, 1.5, 2.0)))  # CROSS_RUN's low end, CROSS_DEPTH
RING = list(itertools.product((1.0, 1.5, 2.0), (0.05, 0.1), (0.0, 0.5)))  # RING_DEPTH, RING_SHARE, RING_REACH


def readings(guard: Guard, pictures: list, labels: np.ndarray) -> list[tuple[preprocess.Ink, bool, bool]]:
    """Each picture that preprocessing takes up to the two checks: its ink, and whether the guard accepts it right
    or wrong."""
    found, truth = [], []
    for picture, label in zip(pictures, labels, strict=True):
        try:
            found.append(preprocess.one_digit(preprocess.ink(picture)))
        except preprocess.PreprocessError:
            continue
        truth.append(label)
    verdicts = guard.verdicts(np.stack([preprocess.frame(f.grey, f.mask) for f in found]))
    return [
        (f, v["accepted"] and v["digit"] == t, v["accepted"] and v["digit"] != t)
        for f, v, t in zip(found, verdicts, truth, strict=True)
    ]


def cell(rows: list[tuple[preprocess.Ink, bool, bool]], refused) -> str:
    hits = [(right, wrong) for found, right, wrong in rows if (right or wrong) and refused(found)]
    return f"{sum(r for r, _ in hits)} / {sum(w for _, w in hits)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a guard's .ckpt or .onnx")
    parser.add_argument("--world", type=int, default=2000)
    parser.add_argument("--marks", type=int, default=500)
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    guard = Guard.load(args.model)
    digits, labels = validation_digits(args.data_dir, max(args.world, args.marks))
    pictures: dict[str, list] = {"world": []}
    for i in range(args.world):
        rng = np.random.default_rng([WORLD_SEED, i])
        page, look = draw_page(digits[i], rng)
        pictures["world"].append(photo_effects(page, rng, look=look))
    cases = list(marks_around.CASES)
    for name in SETS[1:]:
        k, mark = cases.index(name), marks_around.CASES[name]
        pictures[name] = []
        for n in range(args.marks):
            img = marks_around.page(digits[n])
            pictures[name].append(img if mark is None else mark(img, np.random.default_rng([k, n])) or img)
    rows = {name: readings(guard, pictures[name], labels[: len(pictures[name])]) for name in SETS}
    print(f"model {Path(args.model).name}; validation digits: {args.world} world pictures, {args.marks} a case")
    for name in SETS:
        right, wrong = sum(r for _, r, _ in rows[name]), sum(w for *_, w in rows[name])
        print(f"  {name}: {len(rows[name])} reach the checks, {right} accepted right, {wrong} accepted wrong")
    shipped = (preprocess.CROSS_RUN, preprocess.CROSS_DEPTH, preprocess.RING_DEPTH, preprocess.RING_SHARE,
               preprocess.RING_REACH)  # fmt: skip
    try:
        print("\nedge check (runs_off): CROSS_RUN low end, CROSS_DEPTH | accepted right / wrong refused, per set")
        print(f"{'':<14}" + "".join(f"{name:>22}" for name in SETS))
        for low, depth in EDGE:
            preprocess.CROSS_RUN, preprocess.CROSS_DEPTH = (low, shipped[0][1]), depth
            mark = "*" if (preprocess.CROSS_RUN, depth) == shipped[:2] else " "
            cells = [cell(rows[name], lambda f: not f.cut and preprocess.runs_off(f)) for name in SETS]
            print(f"{mark}{low:<6}{depth:<7}" + "".join(f"{c:>22}" for c in cells))
        preprocess.CROSS_RUN, preprocess.CROSS_DEPTH = shipped[:2]
        print("\nring check (ringed): RING_DEPTH, RING_SHARE, RING_REACH")
        for depth, share, reach in RING:
            preprocess.RING_DEPTH, preprocess.RING_SHARE, preprocess.RING_REACH = depth, share, reach
            mark = "*" if (depth, share, reach) == shipped[2:] else " "
            cells = [cell(rows[name], lambda f: preprocess.ringed(f.mask)) for name in SETS]
            print(f"{mark}{depth:<5}{share:<5}{reach:<4}" + "".join(f"{c:>22}" for c in cells))
    finally:
        preprocess.CROSS_RUN, preprocess.CROSS_DEPTH = shipped[:2]
        preprocess.RING_DEPTH, preprocess.RING_SHARE, preprocess.RING_REACH = shipped[2:]


if __name__ == "__main__":
    main()
