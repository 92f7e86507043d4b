"""Synthetic non-digits for outlier exposure (Hendrycks et al., 2019): the net learns to spread its belief on them.

Scribbles (random pen walks), ink blots and hatching, drawn as preprocessing would hand them to the net: white ink
on black, fitted to MNIST's 20-px box, centred. Letters, symbols, shapes and Fashion-MNIST are never drawn here:
they stay unseen, so the guard is measured honestly on them.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from digit_lit.constants import DIGIT_BOX, IMAGE_SIZE

OUTLIER_LABEL = -1  # rows of a batch with this label are non-digits
SUPER = 4  # drawn at 4x and shrunk, for anti-aliased strokes like MNIST's


def _frame(draw_fn: object, rng: np.random.Generator) -> np.ndarray:
    side = IMAGE_SIZE * SUPER
    img = Image.new("L", (side, side), 0)
    draw_fn(ImageDraw.Draw(img), rng)  # type: ignore[operator]
    return np.asarray(img.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX))


def _box(points: np.ndarray) -> np.ndarray:
    """Fit a drawing to the 20-px box, centred, in the 4x frame."""
    lo, hi = points.min(0), points.max(0)
    scale = DIGIT_BOX * SUPER / max(float((hi - lo).max()), 1e-3)
    return (points - (lo + hi) / 2) * scale + IMAGE_SIZE * SUPER / 2


def _too_digit_like(points: np.ndarray) -> bool:
    # a nearly straight stroke is a "1", a closed loop a "0": neither may be taught as a non-digit
    extent = points.max(0) - points.min(0)
    closed = np.linalg.norm(points[0] - points[-1]) < 0.15 * extent.max()
    return bool(extent.min() < 0.4 * extent.max() or closed)


def _scribble(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    while True:
        turn = np.cumsum(rng.normal(0, rng.uniform(0.4, 1.5), int(rng.integers(12, 48))))
        pts = np.cumsum(np.stack([np.cos(turn), np.sin(turn)], 1), 0)
        if not _too_digit_like(pts):
            break
    width = int(rng.uniform(1.6, 3.2) * SUPER)
    draw.line([tuple(p) for p in _box(pts)], fill=255, width=width, joint="curve")


def _blots(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    k = int(rng.integers(3, 9))
    centres = rng.uniform(0, 1, (k, 2))
    radii = rng.uniform(0.03, 0.12, k)
    lo, hi = (centres - radii[:, None]).min(0), (centres + radii[:, None]).max(0)
    scale = DIGIT_BOX * SUPER / (hi - lo).max()
    offset = IMAGE_SIZE * SUPER / 2 - (lo + hi) / 2 * scale
    for (x, y), r in zip(centres * scale + offset, radii * scale, strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)


def _hatching(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    half = DIGIT_BOX * SUPER / 2
    c = IMAGE_SIZE * SUPER / 2
    angle = rng.uniform(0, np.pi)
    d = np.array([np.cos(angle), np.sin(angle)]) * 3 * half
    n = np.array([-np.sin(angle), np.cos(angle)])
    width = int(rng.uniform(1.5, 3) * SUPER)
    for t in np.linspace(-half, half, int(rng.integers(4, 8))):
        p = c + n * t
        draw.line([tuple(p - d), tuple(p + d)], fill=255, width=width)
    # keep the hatching inside the box by blacking out the margin
    edge = int(c - half)
    side = IMAGE_SIZE * SUPER
    for box in ((0, 0, side, edge), (0, side - edge, side, side), (0, 0, edge, side), (side - edge, 0, side, side)):
        draw.rectangle(box, fill=0)


FAMILIES = ((_scribble, 0.6), (_blots, 0.2), (_hatching, 0.2))


def outlier_pool(n: int, seed: int = 0) -> torch.Tensor:
    """n synthetic non-digits as uint8 [n, 28, 28]."""
    rng = np.random.default_rng(seed)
    which = rng.choice(len(FAMILIES), size=n, p=[w for _, w in FAMILIES])
    return torch.from_numpy(np.stack([_frame(FAMILIES[k][0], rng) for k in which]))
