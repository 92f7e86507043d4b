"""MNIST-like 28x28 digits drawn by the tests (white on black, uint8), for the world and its restyling."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def seven() -> np.ndarray:
    """An MNIST-like 7: white on black, anti-aliased, ~2.7-px strokes, in the 20-px box."""
    img = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(img).line([(30, 22), (82, 22), (50, 92)], fill=255, width=11)
    return np.asarray(img.resize((28, 28), Image.Resampling.BOX))


def bar() -> np.ndarray:
    """A vertical stroke 20 px tall and 3 px wide, soft-edged like MNIST: a 1."""
    d = np.zeros((28, 28), np.uint8)
    d[4:24, 13:16] = 255
    d[4:24, 12] = d[4:24, 16] = 100
    return d


def hooked_seven() -> np.ndarray:
    """A 7 whose bar's left end curls down towards its stem (as some MNIST 7s do): a crossbar can close it into a 9."""
    img = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(img).line([(36, 56), (30, 22), (82, 22), (56, 92)], fill=255, width=11)
    return np.asarray(img.resize((28, 28), Image.Resampling.BOX))
