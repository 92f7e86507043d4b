"""A digit with something else on the page: a circle (apart from it or touching it) or a cell around it, a pen lying
beside it, an underline, a line through it, a finger's shadow, a shadow stripe across the page; or the page cut through
the digit by the frame.

    python benchmarks/marks_around.py MODEL [--n 500] [--data-dir data]

Each of the first N official test digits is drawn in dark ink on white paper (a 300-px page, the digit 150 px
tall in its middle), then the mark is added (its size, place and shade drawn at random, seeded by the digit's
index). Per case it prints read right, accepted, wrong accepts (accepted as another digit) and unusable pictures
(a PreprocessError: refused with a reason). A circle or a cell around the digit is refused by `preprocess.one_digit`
(the loop read as a sure 0 before), and so is a digit cut by the frame (`preprocess.runs_off`: the stem of a cut 7 read
as a sure 1); the other cases go to the guard as they are.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
from first_test_digits import first_test_digits
from PIL import Image, ImageDraw

from digit_lit.preprocess import PreprocessError

SIDE = 300  # the page, px
INK, PAPER = 30, 235  # grey levels


def page(digit: np.ndarray) -> Image.Image:
    """An MNIST digit as dark ink on white paper, 150 px tall in the middle of the page."""
    img = Image.new("L", (SIDE, SIDE), PAPER)
    img.paste(Image.new("L", (150, 150), INK), (75, 75), Image.fromarray(digit).resize((150, 150), Image.BICUBIC))
    return img


def circle(img: Image.Image, rng: np.random.Generator) -> None:
    jitter = rng.integers(-10, 11, 4)
    box = (45 + jitter[0], 45 + jitter[1], 255 + jitter[2], 255 + jitter[3])
    ImageDraw.Draw(img).ellipse(box, outline=INK, width=int(rng.integers(4, 9)))


def ink_box(img: Image.Image) -> tuple[int, int, int, int]:
    """The digit's ink on the page: top, left, bottom, right (the last two past its last row and column)."""
    ink = np.argwhere(np.asarray(img) < 128)
    (top, left), (bottom, right) = ink.min(0), ink.max(0) + 1
    return int(top), int(left), int(bottom), int(right)


def circle_touching(img: Image.Image, rng: np.random.Generator) -> None:
    """A circle drawn tight around the digit's ink, through its ends: one mark with it."""
    top, left, bottom, right = ink_box(img)
    grow = rng.integers(-4, 9, 4)  # the circle's box: the ink's, a little wider or narrower on each side
    box = (left - 12 - grow[0], top - 6 - grow[1], right + 11 + grow[2], bottom + 5 + grow[3])
    ImageDraw.Draw(img).ellipse(box, outline=INK, width=int(rng.integers(4, 9)))


def cell(img: Image.Image, rng: np.random.Generator) -> None:
    jitter = rng.integers(-10, 11, 4)
    box = (55 + jitter[0], 55 + jitter[1], 245 + jitter[2], 245 + jitter[3])
    ImageDraw.Draw(img).rectangle(box, outline=int(rng.integers(INK, 120)), width=int(rng.integers(2, 5)))


def pen(img: Image.Image, rng: np.random.Generator) -> None:
    """A pen lying on the page, reaching in from the right edge towards the digit."""
    y, length, width = (int(v) for v in (rng.integers(40, 260), rng.integers(80, 160), rng.integers(12, 24)))
    tip = (SIDE - length, y + int(rng.integers(-40, 41)))
    ImageDraw.Draw(img).line([(SIDE, y), tip], fill=int(rng.integers(INK, 90)), width=width)


def underline(img: Image.Image, rng: np.random.Generator) -> None:
    y = int(rng.integers(230, 251))
    ImageDraw.Draw(img).line([(70, y), (230, y + int(rng.integers(-6, 7)))], fill=INK, width=int(rng.integers(4, 10)))


def crossed_out(img: Image.Image, rng: np.random.Generator) -> None:
    ImageDraw.Draw(img).line([(60, 60 + int(rng.integers(-20, 21))), (240, 240)], fill=INK, width=8)


def shade(img: Image.Image, light: np.ndarray) -> None:
    img.paste(Image.fromarray((np.asarray(img, np.float32) * light).astype(np.uint8)))


def finger_shadow(img: Image.Image, rng: np.random.Generator) -> None:
    """A soft dark blob rising from the bottom edge (a finger or the phone over the page)."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    cx = int(rng.integers(0, SIDE))
    shade(img, 1 - 0.6 * np.exp(-(((xs - cx) / 50.0) ** 2 + ((ys - SIDE) / 90.0) ** 2)))


def shadow_stripe(img: Image.Image, rng: np.random.Generator) -> None:
    """A soft shadow stripe down the page (a pen's shadow, a fold): 15-20% darker at its middle, 40-60 px wide."""
    xs = np.arange(SIDE)
    cx, width, depth = int(rng.integers(40, 261)), rng.uniform(40, 60), rng.uniform(0.15, 0.2)
    shade(img, (1 - depth * np.exp(-0.5 * ((xs - cx) / (width / 2.5)) ** 2))[None].repeat(SIDE, 0))


def cut_by_frame(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """The page cut through the digit (photographed half outside the frame, cropped into): 40-75% of the digit kept,
    from one side drawn at random; paper on the other three sides."""
    top, left, bottom, right = ink_box(img)
    keep = rng.uniform(0.4, 0.75)
    side = int(rng.integers(4))
    if side == 0:  # the top of the digit kept
        return img.crop((0, 0, SIDE, int(top + keep * (bottom - top))))
    if side == 1:
        return img.crop((0, int(bottom - keep * (bottom - top)), SIDE, SIDE))
    if side == 2:
        return img.crop((0, 0, int(left + keep * (right - left)), SIDE))
    return img.crop((int(right - keep * (right - left)), 0, SIDE, SIDE))


# each mark draws on the page, or returns the picture to read instead (a cut)
CASES: dict[str, Callable[[Image.Image, np.random.Generator], Image.Image | None] | None] = {
    "digit alone": None,
    "circled": circle,
    "in a printed cell": cell,
    "pen beside it": pen,
    "underlined": underline,
    "crossed out": crossed_out,
    "finger shadow": finger_shadow,
    "shadow stripe": shadow_stripe,
    "cut by the frame": cut_by_frame,
    # last: a case's marks are drawn from its place in this list, so the earlier cases' figures stay as measured
    "circle touching it": circle_touching,
}


def main() -> None:
    guard, digits, truth = first_test_digits(__doc__.splitlines()[0], 500)
    print(f"{'case':<20}{'right':>8}{'accepted':>10}{'wrong accepts':>15}{'unusable':>10}")
    for k, (name, mark) in enumerate(CASES.items()):
        right = accepted = wrong = unusable = 0
        for n, digit in enumerate(digits):
            img = page(digit)
            if mark is not None:
                img = mark(img, np.random.default_rng([k, n])) or img
            try:
                verdict = guard.read(img)
            except PreprocessError:
                unusable += 1
                continue
            right += verdict["digit"] == truth[n]
            accepted += verdict["accepted"]
            wrong += verdict["accepted"] and verdict["digit"] != truth[n]
        n = len(truth)
        print(f"{name:<20}{right / n:>8.3f}{accepted / n:>10.3f}{wrong:>9} ({wrong / n:.1%}){unusable:>10}")


if __name__ == "__main__":
    main()
