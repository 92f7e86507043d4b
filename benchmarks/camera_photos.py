"""Test digits as a phone photographs them: at the camera's resolution, then shrunk by `predict` itself.

    python benchmarks/camera_photos.py MODEL [--n 500] [--side 1600] [--data-dir data]

The world's photos (`digit_lit/world.py`, look "photo") are drawn at the size they are sent at, 24 to 320 px. A phone
takes them at thousands of px, and its sensor noise, blur and JPEG are made there: shrinking the picture (`predict`
works at 192 px) averages the noise away. Here each of the first N official test digits is written by the world's
hand with the world's pens (fine, natural, marker) on the world's photo paper, in its ink colours and light, on a
`--side` x 3/4 px photo, the digit 10-70% of its height; then blurred up to 2 px, with sensor noise up to the world's
photo level (std 0.06) at that resolution, and saved as JPEG at quality 60-95, as phones save. Beside it, the same
digits in the world's own photo look. Per pen kind it prints read right, accepted, wrong accepts (accepted as another
digit) and unusable pictures (refused by preprocessing).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
from first_test_digits import first_test_digits
from PIL import Image

from digit_lit import world
from digit_lit.guard import Guard
from digit_lit.preprocess import PreprocessError

FILL = (0.1, 0.7)  # digit height / photo height, log-uniform
BLUR_PX = (0.0, 2.0)  # focus blur, camera px
JPEG_QUALITY = (60, 95)  # phones save at high quality
UPSAMPLE = 8  # the hand is drawn 8x MNIST's size, so that the fine pen's lines stay whole when enlarged


def redrawn(written: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """The drawing in a pen drawn as `world.pen` draws one (its kind, then its width), and that kind."""
    kind = world._pick(world.PEN_KINDS, rng)
    return world.pen(written, rng, width=world._uniform(rng, world.PEN_WIDTH[kind])), kind


def camera_photo(digit: np.ndarray, rng: np.random.Generator, side: int) -> tuple[Image.Image, str]:
    """One test digit as a phone photo `side` px wide, and the kind of pen it was written with."""
    ink, kind = redrawn(world.handwriting(digit, rng, upsample=UPSAMPLE), rng)
    h, w = round(side * 0.75), side
    tall = round(h * world._log_uniform(rng, FILL))
    wide = min(w, max(1, round(tall * ink.shape[1] / ink.shape[0])))
    drawn = np.zeros((h, w), np.float32)
    y, x = int(rng.integers(0, h - tall + 1)), int(rng.integers(0, w - wide + 1))
    drawn[y : y + tall, x : x + wide] = np.clip(world._resize(ink, (wide, tall), Image.Resampling.BICUBIC), 0, 1)
    page = world.paper((h, w), rng, "photo")
    ink_kind, colour = world.ink_colour(rng)
    rgb = world.lay_ink(page, drawn, world.legible(colour, float(page.mean())), rng, ink_kind)
    rgb = world.uneven_light(rgb, rng)
    rgb = world.blur(rgb, world._uniform(rng, BLUR_PX))
    rgb = world.sensor_noise(rgb, rng, world._uniform(rng, (0.0, world.NOISE["photo"])))
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    return world.jpeg(Image.fromarray(world._to_uint8(rgb)), quality), kind


def world_photo(digit: np.ndarray, rng: np.random.Generator, side: int) -> tuple[Image.Image, str]:
    """The same digit in the world's photo look (a page of 24-320 px), and the kind of pen."""
    ink, kind = redrawn(world.handwriting(digit, rng), rng)
    return world.photo_effects(world.place(ink, rng), rng, look="photo"), kind


Maker = Callable[[np.ndarray, np.random.Generator, int], tuple[Image.Image, str]]


def measure(guard: Guard, digits: np.ndarray, truth: np.ndarray, make: Maker, side: int) -> dict[str, list[int]]:
    """Per pen kind: [pictures, read right, accepted, wrong accepts, unusable]."""
    counts: dict[str, list[int]] = {}
    for n, digit in enumerate(digits):
        picture, kind = make(digit, np.random.default_rng([7, n]), side)
        row = counts.setdefault(kind, [0] * 5)
        row[0] += 1
        try:
            verdict = guard.read(picture)
        except PreprocessError:
            row[4] += 1
            continue
        row[1] += verdict["digit"] == truth[n]
        row[2] += verdict["accepted"]
        row[3] += verdict["accepted"] and verdict["digit"] != truth[n]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=1600, help="the photo's width, px")
    guard, digits, truth = first_test_digits(parser.description, 500, parser)
    side = parser.parse_args().side
    print(f"{'pictures':<22}{'pen':<9}{'n':>5}{'right':>8}{'accepted':>10}{'wrong accepts':>15}{'unusable':>10}")
    for name, make in ((f"camera, {side} px", camera_photo), ("world photo look", world_photo)):
        counts = measure(guard, digits, truth, make, side)
        total = [sum(col) for col in zip(*counts.values(), strict=True)]
        for kind, (n, right, accepted, wrong, unusable) in [*sorted(counts.items()), ("all", total)]:
            print(
                f"{name:<22}{kind:<9}{n:>5}{right / n:>8.3f}{accepted / n:>10.3f}"
                f"{wrong:>9} ({wrong / n:.1%}){unusable:>10}"
            )


if __name__ == "__main__":
    main()
