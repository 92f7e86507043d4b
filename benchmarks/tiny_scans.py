"""Tiny scans stored the ways people store them: 8x8 grey levels as they are, inverted, enlarged, in colour maps.

    python benchmarks/tiny_scans.py MODEL [--n 500] [--data-dir data] [--val]

Each of the first N official test digits is made into an 8x8 scan as UCI optdigits made theirs (the ink of a 1-bit
bitmap filling the height of a 32x32 frame, counted in 4x4 blocks: 17 grey levels, bright ink on black), then saved
as an image the way a person shows such a scan: its 8x8 grey levels stretched to 0-255, inverted, enlarged by a whole
factor repeating pixels (nearest neighbour) or smoothly (bilinear, bicubic), or painted with a matplotlib colour map.
Per storage it prints read right, accepted, wrong accepts (accepted as another digit) and unusable pictures. With
--val, the first N MNIST validation digits instead: for choosing (preprocessing's levels, say), test digits report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
from first_test_digits import first_test_digits
from PIL import Image

from digit_lit import world
from digit_lit.guard import Guard
from digit_lit.preprocess import PreprocessError, to_mnist

NEAREST, BILINEAR, BICUBIC = Image.Resampling.NEAREST, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC


def optdigits(digit: np.ndarray) -> np.ndarray:
    """An MNIST digit as an optdigits 8x8 scan: counts 0..16, bright ink on black (float [8, 8])."""
    written = world.handwriting(digit, np.random.default_rng(0), shear=0.0, angle=0.0, aspect=1.0, elastic=0.0)
    bitmap = (world.fill_frame(written) > 0.5).astype(np.float32)
    return np.round(np.clip(world._resize(bitmap, (8, 8), Image.Resampling.BOX), 0, 1) * 16)


def grey(counts: np.ndarray) -> Image.Image:
    return Image.fromarray(world._to_uint8(counts / 16))  # rounded (255 * k / 16 truncated made 15 levels 1 darker)


def coloured(counts: np.ndarray, cmap: str) -> Image.Image:
    return Image.fromarray(world._to_uint8(world.painted(counts / 16, cmap)))  # rounded, as the world's tiny look


STORED = {
    "8x8 grey": grey,
    "8x8 inverted": lambda c: Image.fromarray(255 - np.asarray(grey(c))),
    "32x32 nearest": lambda c: grey(c).resize((32, 32), NEAREST),
    "64x64 nearest": lambda c: grey(c).resize((64, 64), NEAREST),
    "28x28 nearest": lambda c: grey(c).resize((28, 28), NEAREST),
    "64x64 bilinear": lambda c: grey(c).resize((64, 64), BILINEAR),
    "64x64 bicubic": lambda c: grey(c).resize((64, 64), BICUBIC),
    "28x28 bicubic": lambda c: grey(c).resize((28, 28), BICUBIC),
    "8x8 viridis": lambda c: coloured(c, "viridis"),
    "64x64 viridis nearest": lambda c: coloured(c, "viridis").resize((64, 64), NEAREST),
    "8x8 magma": lambda c: coloured(c, "magma"),
    "8x8 gray_r": lambda c: coloured(c, "gray_r"),
}


def read(guard: Guard, pictures: list, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confidence, rightness and usability of every picture, read in one guard call; one that preprocessing refuses
    (unusable) is never accepted (confidence 0) nor right."""
    views, kept = [], []
    for picture in pictures:
        try:
            views.append(to_mnist(picture))
            kept.append(True)
        except PreprocessError:
            kept.append(False)
    conf, right = np.zeros(len(pictures)), np.zeros(len(pictures), bool)
    if views:
        probs = guard.probs(np.stack(views))
        conf[kept], right[kept] = guard.confidence(probs), probs.argmax(1) == labels[kept]
    return conf, right, np.array(kept, bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    guard, digits, truth = first_test_digits(parser.description, 500, parser, offer_val=True)
    scans = [optdigits(d) for d in digits]
    n = len(truth)
    print(f"{'stored as':<24}{'right':>8}{'accepted':>10}{'wrong accepts':>15}{'unusable':>10}")
    for name, store in STORED.items():
        conf, right, usable = read(guard, [store(counts) for counts in scans], truth)
        accepted = guard.rule.accepts(conf)
        wrong = int((accepted & ~right).sum())
        unusable = int((~usable).sum())
        print(f"{name:<24}{right.mean():>8.3f}{accepted.mean():>10.3f}{wrong:>9} ({wrong / n:.1%}){unusable:>10}")


if __name__ == "__main__":
    main()
