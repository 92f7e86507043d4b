"""MNIST test digits saved with a transparent paper, as people make such pictures, read by a guard.

    python benchmarks/transparent_pictures.py MODEL [--n 600] [--data-dir data]

Each of the first N official test digits is enlarged 4x (bilinear: a soft edge, as a scan's) on a page with paper
around it, then stored: as a plain PNG; as a palette PNG and a GIF whose white is the transparent colour; as an RGBA
PNG whose exact white is cleared (a remove-background tool); light on black with the black cleared below level 32; and
as a white pen's drawing on a clear canvas (the digit's ink as the pen's opacity, shown on black in a dark-mode app).
Each picture is read as `predict` reads a file (PIL opens the stored bytes). Per storage: read right, accepted wrong
and refused or unusable. A transparent paper must read as the paper it was (`preprocess._paper_under`): on the other
one a digit shows its outline (an MNIST 9 read as a sure 8 on black).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
from first_test_digits import first_test_digits
from PIL import Image

from digit_lit.preprocess import PreprocessError


def page(digit: np.ndarray) -> np.ndarray:
    """Dark ink on white, 112 px with 20 px of paper around it (uint8)."""
    big = np.asarray(Image.fromarray(255 - digit).resize((112, 112), Image.Resampling.BILINEAR))
    return np.pad(big, 20, constant_values=255)


def png(img: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def cleared(grey: np.ndarray, keep: np.ndarray) -> bytes:
    rgba = Image.fromarray(grey).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.where(keep, 255, 0).astype(np.uint8)))
    return png(rgba)


def white_pen(grey: np.ndarray) -> bytes:
    rgba = np.zeros((*grey.shape, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = 255 - grey  # the ink as the pen's opacity, white where the paper was
    return png(Image.fromarray(rgba, "RGBA"))


STORAGES: dict[str, Callable[[np.ndarray], bytes]] = {
    "plain PNG": lambda g: png(Image.fromarray(g)),
    "palette PNG, white transparent": lambda g: png(Image.fromarray(g).convert("P"), transparency=255),
    "GIF, white transparent": lambda g: png(Image.fromarray(g).convert("P"), "GIF", transparency=255),
    "RGBA, white cleared": lambda g: cleared(g, g < 255),
    "light on black, black cleared < 32": lambda g: cleared(255 - g, 255 - g >= 32),
    "white pen on a clear canvas": white_pen,
}


def main() -> None:
    guard, digits, truth = first_test_digits(__doc__.splitlines()[0], 600)
    print(f"{'stored as':<36}{'right':>8}{'accepted wrong':>16}{'refused':>10}")
    for name, store in STORAGES.items():
        right = wrong = refused = 0
        for digit, label in zip(digits, truth, strict=True):
            try:
                verdict = guard.read(Image.open(io.BytesIO(store(page(digit)))))
            except PreprocessError:
                refused += 1
                continue
            right += verdict["accepted"] and verdict["digit"] == label
            wrong += verdict["accepted"] and verdict["digit"] != label
            refused += not verdict["accepted"]
        print(f"{name:<36}{right:>8}{wrong:>16}{refused:>10}")


if __name__ == "__main__":
    main()
