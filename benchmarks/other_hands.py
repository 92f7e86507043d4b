"""How the guard reads digits written as other hands write them: 1s with a flag (and a foot), crossed 7s.

    python benchmarks/other_hands.py MODEL [--n 500] [--data-dir data] [--seed 0]
                                     [--flag-length LO HI] [--flag-angle LO HI]

MNIST's writers rarely flag a 1 or cross a 7; much of Europe does both, and a flagged 1 is a 7 to a reader that has
only seen MNIST. Each of the first `n` official test 1s and 7s is drawn as written and restyled by `digit_lit.hands`
(the flag, the foot and the crossbar forced, but for a crossbar that would close a loop: `hands.cross_seven` leaves
that 7 as written), then read as `predict` reads a picture (`Guard.read`), twice: drawn
(the 28x28 digit, four times larger, black on white) and as a world picture (`world.draw_page` + `photo_effects`,
seeded per picture). Prints, per style: read right, accepted, wrong accepts (and as which digits). The last style,
a 1 with a flag as long and as shallow as a 7's bar (`hands.AMBIGUOUS_LENGTH`, `AMBIGUOUS_ANGLE_DEG`), is one the world
teaches the guard to refuse: read right is no goal there, accepted is what to keep low.

--flag-length and --flag-angle draw the flags from another range than the world's (`hands.FLAG_LENGTH`, share of the
height, and `hands.FLAG_ANGLE_DEG`, degrees below horizontal): e.g. flags in the gap between the world's two ranges,
drawn by neither (0.3 0.35 and 32 40), to see what a guard makes of them.

The restyling is the very code the world trains with (`data.world.other_hands`), on test digits: this measures what
training on it taught, and what a guard that never saw it does; not how real writers' flags and crossbars read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
from PIL import Image

from digit_lit import hands, world
from digit_lit.data import load_split
from digit_lit.guard import Guard
from digit_lit.preprocess import PreprocessError

Style = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def styles(length: tuple[float, float], angle: tuple[float, float]) -> dict[str, tuple[int, Style | None]]:
    """Each style's digit and how it is restyled (None: as written), flags drawn from these ranges."""
    ambiguous_length, ambiguous_angle = hands.AMBIGUOUS_LENGTH, hands.AMBIGUOUS_ANGLE_DEG
    return {
        "1 as written": (1, None),
        "1 flagged": (1, lambda d, rng: hands.flag_one(d, rng, False, length, angle)),
        "1 flagged, footed": (1, lambda d, rng: hands.flag_one(d, rng, True, length, angle)),
        "7 as written": (7, None),
        "7 crossed": (7, lambda d, rng: hands.cross_seven(d, rng)),
        # last, so that the styles above draw as they always did; the world's ambiguous flag, whatever --flag-*
        "1 with a 7's bar": (1, lambda d, rng: hands.flag_one(d, rng, False, ambiguous_length, ambiguous_angle)),
    }


def drawn(digit: np.ndarray) -> Image.Image:
    """The digit as a clean picture: four times larger, black ink on white paper."""
    return Image.fromarray(255 - digit).resize((112, 112), Image.Resampling.BICUBIC)


def verdict(guard: Guard, picture: Image.Image) -> tuple[int, bool]:
    try:
        out = guard.read(picture)
    except PreprocessError:
        return -1, False
    return int(out["digit"]), bool(out["accepted"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a guard's .ckpt or .onnx")
    parser.add_argument("--n", type=int, default=500, help="test digits of each style")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flag-length", type=float, nargs=2, default=hands.FLAG_LENGTH, metavar=("LO", "HI"))
    parser.add_argument("--flag-angle", type=float, nargs=2, default=hands.FLAG_ANGLE_DEG, metavar=("LO", "HI"))
    args = parser.parse_args()
    for name in ("flag_length", "flag_angle"):
        lo, hi = getattr(args, name)
        if not 0 <= lo <= hi:
            parser.error(f"--{name.replace('_', '-')} {lo} {hi}: give LO HI with 0 <= LO <= HI")
    guard = Guard.load(args.model)
    images, labels = (t.numpy() for t in load_split(args.data_dir, train=False, download=False))
    length, angle = tuple(args.flag_length), tuple(args.flag_angle)
    print(f"model {Path(args.model).name} (threshold {guard.threshold:.4f}), the first {args.n} test digits of a style")
    print(f"flags {length[0]}-{length[1]} of the height at {angle[0]}-{angle[1]} degrees")
    print(f"{'style':<20}{'as':<7}{'n':>5}{'read right':>11}{'accepted':>9}{'wrong acc':>10}  wrong accepts read as")
    for k, (name, (label, style)) in enumerate(styles(length, angle).items()):
        digits = images[labels == label][: args.n]
        if style is not None:
            digits = np.stack([style(d, np.random.default_rng([args.seed, k, i])) for i, d in enumerate(digits)])
        for how in ("drawn", "world"):
            read = []
            for i, d in enumerate(digits):
                if how == "drawn":
                    picture = drawn(d)
                else:
                    rng = np.random.default_rng([args.seed, k, i, 1])
                    page, look = world.draw_page(d, rng)
                    picture = world.photo_effects(page, rng, look=look)
                read.append(verdict(guard, picture))
            digit, accepted = (np.array(v) for v in zip(*read, strict=True))
            wrong = accepted & (digit != label)
            counts = np.bincount(digit[wrong], minlength=10)
            as_ = ", ".join(f"{d}: {c}" for d, c in enumerate(counts) if c) or "-"
            print(
                f"{name:<20}{how:<7}{len(digit):>5}{(digit == label).mean():>11.3f}{accepted.mean():>9.3f}"
                f"{wrong.sum():>5} ({wrong.mean():.1%})  {as_}"
            )


if __name__ == "__main__":
    main()
