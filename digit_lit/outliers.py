"""Synthetic non-digits for outlier exposure (Hendrycks et al., 2019): the net learns to spread its belief on them.

Two pools. `outlier_pool` draws scribbles, blots and hatching straight into MNIST's frame (white ink on black, 20-px
box, centred). `outlier_views` draws many more families as ink and shows them to the net the way `predict` would:
on a page with `world.photo_effects`, then through `to_mnist` (preprocessing in the loop). Its families: pen walks,
separate strokes, cursive-like loops, text-like squiggles (a written word), blots, hatching, and, from MNIST digits
the caller passes (training images only), fragments, digits cut by the frame, two digits side by side and digits
crossed out. Nothing that could be read as one digit is taught as a non-digit: pen paths that are straight, closed
or cross themselves once are redrawn (`too_digit_like`), and views too close to a real digit are dropped
(`digit_bank`, `looks_like_a_digit`). Letters, symbols, shapes and Fashion-MNIST are never drawn here: they stay
unseen (`nondigits.py` is for evaluation only), so the guard is measured honestly on them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

from digit_lit import world
from digit_lit.constants import DIGIT_BOX, IMAGE_SIZE
from digit_lit.preprocess import PREPROCESS_VERSION
from digit_lit.world import MNIST_STROKE_FRACTION, UPSAMPLE

OUTLIER_LABEL = -1  # rows of a batch with this label are non-digits
SUPER = 4  # drawn at 4x and shrunk, for anti-aliased strokes like MNIST's
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------------------------
# outlier_pool: drawn straight into MNIST's frame, as preprocessing would hand them over (the first pool)
# ---------------------------------------------------------------------------------------------------------------


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


def _first_pool_digit_like(points: np.ndarray) -> bool:
    # the first pool's filter, kept as it was so that outlier_pool (and the presets trained on it) stay reproducible:
    # a stroke whose bounding box is narrow is a "1", a closed loop a "0". It misses diagonal strokes and shapes
    # that cross themselves once; outlier_views uses `too_digit_like`, which does not.
    extent = points.max(0) - points.min(0)
    closed = np.linalg.norm(points[0] - points[-1]) < 0.15 * extent.max()
    return bool(extent.min() < 0.4 * extent.max() or closed)


def _scribble(draw: ImageDraw.ImageDraw, rng: np.random.Generator) -> None:
    while True:
        turn = np.cumsum(rng.normal(0, rng.uniform(0.4, 1.5), int(rng.integers(12, 48))))
        pts = np.cumsum(np.stack([np.cos(turn), np.sin(turn)], 1), 0)
        if not _first_pool_digit_like(pts):
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


# ---------------------------------------------------------------------------------------------------------------
# Non-digits seen through the world: drawn as ink at the scale of `world.handwriting`, then pen, page, photo, view.
# One table of their random ranges; P_* and weights are per picture.
# ---------------------------------------------------------------------------------------------------------------
OUTLIER_VERSION = 2  # bump when a change below alters the pictures (the world's RENDER_VERSION is in the key too)
WORLD_FAMILIES = {  # weight of each family; those marked True need MNIST digits (skipped when none are given)
    "scribble": (0.14, False),
    "strokes": (0.1, False),
    "loops": (0.12, False),
    "text": (0.14, False),
    "blots": (0.05, False),
    "hatching": (0.05, False),
    "fragment": (0.14, True),
    "frame_cut": (0.08, True),
    "two_digits": (0.1, True),
    "crossed_out": (0.08, True),
}
BOX = DIGIT_BOX * UPSAMPLE  # 80 px: drawings are made at the size of world.handwriting's digits ...
NATURAL = MNIST_STROKE_FRACTION * BOX  # ... with MNIST's stroke width; `world.pen` then picks the pen
KEPT_INK = (0.15, 0.45)  # fragments and frame cuts keep this share of a digit's ink: well under half
ELONGATED = 0.3  # a pen path whose thinner principal extent is under this share of its longer one reads as a "1"
ELONGATED_PART = 0.45  # ... and a part of a digit: its bent strokes read as a "1" more easily
LOOP_AREA = 0.04  # a hole in a view counts as a digit's loop from this share of the ink's bounding box
ONE_TILT = 50  # ... when its long axis is within 50 degrees of vertical (MNIST slant, plus the world's)
PAIR_GAP = (-0.25, 0.6)  # gap between two digits side by side, in widths of the first (negative: they overlap)
PAIR_HEIGHTS = (0.8, 1.25)  # height of the second digit over the first
PAIR_DROP = (-0.15, 0.15)  # vertical offset of the second digit, in heights
OVERWRITE_INK = 0.8  # crossing-out adds at least this share of the digit's own ink
TEXT_GLYPHS = (3, 7)  # letters in a written word
DIGIT_LIKE = 0.88  # a view whose best cosine match among the bank's digits reaches this is dropped (a third of
# real world digit views score lower: such an outlier is as close to a digit as digits are to each other)
BANK_SIZE = 1000  # MNIST digits in the bank that `looks_like_a_digit` compares with


def self_crossings(points: np.ndarray) -> int:
    """How many times a pen path (points [n, 2]) crosses itself: proper intersections of non-adjacent segments."""
    a, d = points[:-1], np.diff(points, axis=0)
    i, j = np.triu_indices(len(a), k=2)
    p, r, q, s = a[i], d[i], a[j], d[j]

    def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]

    denom = cross(r, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        t, u = cross(q - p, s) / denom, cross(q - p, r) / denom
    return int(((denom != 0) & (t > 0) & (t < 1) & (u > 0) & (u < 1)).sum())


def turning(points: np.ndarray) -> float:
    """Total absolute turning of a pen path, in degrees (a straight line 0, a circle 360, a zigzag a lot)."""
    d = np.diff(points, axis=0)
    heading = np.arctan2(d[:, 1], d[:, 0])
    return float(np.degrees(np.abs(np.angle(np.exp(1j * np.diff(heading)))).sum()))


def _principal(points: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Thinner over longer principal extent of a point cloud (0 for a straight line, 1 for a round blob), and the
    angle of its long axis from the vertical, in degrees (0..90)."""
    w = np.ones(len(points)) if weights is None else weights
    centre = (points * w[:, None]).sum(0) / w.sum()
    cov = ((points - centre) * w[:, None]).T @ (points - centre) / w.sum()
    (small, large), axes = np.linalg.eigh(cov)
    x, y = axes[:, 1]
    return float(np.sqrt(max(small, 0.0) / max(large, 1e-12))), float(np.degrees(np.arctan2(abs(x), abs(y))))


def elongation(points: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Thinner over longer principal extent of a point cloud (0 for a straight line, 1 for a round blob)."""
    return _principal(points, weights)[0]


def _one_like(points: np.ndarray, weights: np.ndarray | None, thin: float) -> bool:
    """A long thin shape standing up (within ONE_TILT of vertical): a 1. Lying down it is a dash or a written word."""
    ratio, tilt = _principal(points, weights)
    return ratio < thin and tilt <= ONE_TILT


def too_digit_like(points: np.ndarray) -> bool:
    """Could this single pen path be read as one digit? Nearly straight and standing (a 1), closed without or with
    one or two crossings (a 0, an 8), crossing itself once (6, 9, a looped 2 or 4, an open 8), or open and simple
    with under 600 degrees of turning (7, L, C, 2, 3, 5...). Such paths are never taught as non-digits."""
    extent = float(np.ptp(points, axis=0).max())
    if extent == 0 or _one_like(points, None, ELONGATED):
        return True
    crossings = self_crossings(points)
    closed = float(np.linalg.norm(points[0] - points[-1])) < 0.2 * extent
    return (closed and crossings <= 2) or crossings == 1 or (crossings == 0 and turning(points) < 600)


class NoDrawing(RuntimeError):
    """No acceptable drawing came in the allowed tries (e.g. a digit too small to cross out heavily enough)."""


def _until(make: Callable[[], T], rejected: Callable[[T], bool], tries: int = 200) -> T:
    """The first drawing `make` returns that is not `rejected` (families are built so that this comes quickly)."""
    for _ in range(tries):
        out = make()
        if not rejected(out):
            return out
    raise NoDrawing(f"no acceptable drawing in {tries} tries")


def _fit(paths: list[np.ndarray], height: float, max_width: float | None = None) -> list[np.ndarray]:
    """Paths scaled together so their union is `height` px tall (or `max_width` wide, whichever is smaller)."""
    pts = np.vstack(paths)
    lo, span = pts.min(0), np.maximum(np.ptp(pts, axis=0), 1e-6)
    scale = height / span[1]
    if max_width is not None:
        scale = min(scale, max_width / span[0])
    return [(p - lo) * scale for p in paths]


def draw_paths(paths: list[np.ndarray], width: float = NATURAL) -> np.ndarray:
    """Pen paths (px, x right, y down) drawn as ink, float [h, w] in [0, 1], with round ends and soft edges like an
    upsampled MNIST stroke, so that `world.pen` can redraw them finer or bolder."""
    pts = np.vstack(paths)
    lo = pts.min(0) - width
    w, h = (int(v) for v in np.ceil(pts.max(0) + width - lo) + 1)
    img = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(img)
    r = width / 2
    for path in paths:
        xy = [tuple(v) for v in path - lo]
        draw.line(xy, fill=255, width=max(1, round(width)), joint="curve")
        for x, y in (xy[0], xy[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return ndimage.gaussian_filter(np.asarray(img, np.float32) / 255, 0.2 * width)


def _walk(rng: np.random.Generator) -> np.ndarray:
    turn = np.cumsum(rng.normal(0, rng.uniform(0.4, 1.5), int(rng.integers(16, 60))))
    return np.cumsum(np.stack([np.cos(turn), np.sin(turn)], 1), 0)


def scribble_path(rng: np.random.Generator) -> np.ndarray:
    """A random pen walk that is not digit-like (`too_digit_like`)."""
    return _until(lambda: _walk(rng), too_digit_like)


def scribble_ink(rng: np.random.Generator) -> np.ndarray:
    """A scribble: `scribble_path` drawn in a digit-sized box."""
    return draw_paths(_fit([scribble_path(rng)], BOX))


def strokes_ink(rng: np.random.Generator) -> np.ndarray:
    """Three to five separate pen strokes, straight or bent, crossing or not, in a digit-sized box."""
    paths = []
    for _ in range(int(rng.integers(3, 6))):
        centre, angle = rng.uniform(0, 1, 2), rng.uniform(0, np.pi)
        length, bend = rng.uniform(0.3, 0.9), rng.normal(0, 0.3)
        along = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-along[1], along[0]])
        t = np.linspace(-0.5, 0.5, 12)[:, None]
        paths.append(centre + t * length * along + (bend * (0.25 - t**2)) * normal)
    return draw_paths(_fit(paths, BOX, BOX * 1.2))


def _fourier_curve(rng: np.random.Generator) -> np.ndarray:
    """An open curve of a few random harmonics: loops, crossings, as a hand moving fast."""
    t = np.linspace(0, 2 * np.pi * rng.uniform(0.6, 0.95), 160)[:, None]
    k = np.arange(1, 5)
    ax, ay = rng.normal(0, 1, 4) / k, rng.normal(0, 1, 4) / k
    px, py = rng.uniform(0, 2 * np.pi, 4), rng.uniform(0, 2 * np.pi, 4)
    x = (ax * np.cos(k * t + px)).sum(1) + rng.normal(0, 0.3) * t[:, 0]
    y = (ay * np.sin(k * t + py)).sum(1)
    return np.stack([x, y], 1)


def loops_path(rng: np.random.Generator) -> np.ndarray:
    """Cursive-like loops and crossings: one pen path crossing itself three times or more (twice can be an 8)."""
    return _until(lambda: _fourier_curve(rng), lambda p: too_digit_like(p) or self_crossings(p) < 3)


def loops_ink(rng: np.random.Generator) -> np.ndarray:
    """`loops_path` drawn in a box about digit-sized."""
    return draw_paths(_fit([loops_path(rng)], BOX, BOX * 1.5))


def _glyph(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A joined-up letter-like stroke from (0, 0) to about (1, 0), y up: a loop, a tall loop, humps, a cup, zigzags."""
    theta = np.linspace(0, 2 * np.pi, 24)
    if kind in ("e", "l"):  # the pen goes up, loops back over itself, comes down: e, l
        tall = rng.uniform(0.8, 1.1) if kind == "e" else rng.uniform(1.8, 2.4)
        x = (theta + rng.uniform(1.4, 2.0) * np.sin(theta)) / (2 * np.pi)
        return np.stack([x, tall * (1 - np.cos(theta)) / 2], 1)
    t = np.linspace(0, 1, 24)
    humps = int(rng.integers(2, 4))
    if kind == "n":  # n, m
        return np.stack([t, np.abs(np.sin(np.pi * humps * t))], 1)
    if kind == "u":  # u, w
        return np.stack([t, 1 - np.abs(np.cos(np.pi * humps * t))], 1)
    return np.stack([t, np.abs((t * 2 * humps) % 2 - 1)], 1)  # v, zigzag


def word_path(rng: np.random.Generator) -> np.ndarray:
    """A written word as one pen path: 3 to 7 joined letter-like strokes along a wavy baseline, slanted; a row at
    least 1.5 times wider than tall (a short word of tall loops could pass for a digit)."""
    return _until(lambda: _word(rng), lambda p: np.ptp(p[:, 0]) < 1.5 * np.ptp(p[:, 1]))


def _word(rng: np.random.Generator) -> np.ndarray:
    parts, x = [], 0.0
    for _ in range(int(rng.integers(TEXT_GLYPHS[0], TEXT_GLYPHS[1] + 1))):
        g = _glyph(str(rng.choice(["e", "l", "n", "u", "v"])), rng) * rng.uniform(0.8, 1.2, 2)
        parts.append(g + np.array([x, 0.0]))
        x += float(g[-1, 0]) + rng.uniform(0.05, 0.3)
    path = np.vstack(parts)
    path[:, 1] += 0.15 * np.sin(path[:, 0] * rng.uniform(0.3, 1.0) + rng.uniform(0, 2 * np.pi))
    path[:, 0] += rng.uniform(0, 0.5) * path[:, 1]  # slant
    path[:, 1] *= -1  # y down
    return path


def text_ink(rng: np.random.Generator) -> np.ndarray:
    """Text-like squiggles: a row of small loops, humps and zigzags like a handwritten word."""
    return draw_paths(_fit([word_path(rng)], BOX * 0.6, BOX * 4))


def blots_ink(rng: np.random.Generator) -> np.ndarray:
    """Three to eight ink blots of different sizes."""
    img = Image.new("L", (BOX, BOX), 0)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(3, 9))):
        (x, y), r = rng.uniform(0.15, 0.85, 2) * BOX, rng.uniform(0.04, 0.14) * BOX
        draw.ellipse((x - r, y - r * rng.uniform(0.6, 1.4), x + r, y + r), fill=255)
    return ndimage.gaussian_filter(np.asarray(img, np.float32) / 255, 0.2 * NATURAL)


def hatching_ink(rng: np.random.Generator) -> np.ndarray:
    """Four to eight parallel strokes: shading or a tally, never one stroke."""
    angle = rng.uniform(0, np.pi)
    along, normal = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    paths = [o * normal + t * along for o in np.linspace(0, 1, int(rng.integers(4, 9))) for t in [[-0.5], [0.5]]]
    lines = [np.vstack(paths[i : i + 2]) for i in range(0, len(paths), 2)]
    return draw_paths(_fit(lines, 2 * BOX, 2 * BOX))  # spaced 2-5 pen widths apart


def _digit(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return digits[int(rng.integers(0, len(digits)))]


def _has_hole(mask: np.ndarray) -> bool:
    return bool((ndimage.binary_fill_holes(mask) & ~mask).sum() > 0.01 * mask.size)


def _ink_cloud(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(ink > 0.05)
    return np.stack([xs, ys], 1).astype(np.float64), ink[ys, xs].astype(np.float64)


def _cut(ink: np.ndarray, angle: float, share: float) -> np.ndarray:
    """The part of a drawing on one side of a straight cut at `angle`, holding `share` of its ink."""
    ys, xs = np.mgrid[0 : ink.shape[0], 0 : ink.shape[1]]
    along = xs * np.cos(angle) + ys * np.sin(angle)
    order = np.argsort(along, axis=None)
    mass = np.cumsum(ink.ravel()[order])
    level = along.ravel()[order][np.searchsorted(mass, share * mass[-1])]
    return np.where(along <= level, ink, 0.0).astype(np.float32)


def _readable_part(part: np.ndarray) -> bool:
    """A part of a digit that could pass for a digit: a lone straight stroke (1) or a closed loop (0)."""
    points, weights = _ink_cloud(part)
    return len(points) == 0 or _one_like(points, weights, ELONGATED_PART) or _has_hole(part > 0.5)


def fragment_ink(rng: np.random.Generator, digits: np.ndarray, axis_aligned: bool = False) -> np.ndarray:
    """A part of an MNIST digit written by another hand: cut straight so that well under half its ink remains
    (KEPT_INK), never a part that reads as a 1 or a 0. Axis-aligned cuts keep the left, top, right or bottom."""

    def make() -> np.ndarray:
        whole = world.handwriting(_digit(digits, rng), rng)
        angle = float(rng.integers(0, 4)) * np.pi / 2 if axis_aligned else rng.uniform(0, 2 * np.pi)
        return world._trim(_cut(whole, angle, world._uniform(rng, KEPT_INK)))

    return _until(make, _readable_part)


def frame_cut_page(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    """A digit cut by the picture's frame: an axis-aligned fragment placed against the page border where the cut
    runs, as if the rest of the digit lay outside the photo. Returns the page, float [H, W]."""
    part = world.pen(fragment_ink(rng, digits, axis_aligned=True), rng)
    ph, pw = world.page_size(rng)
    fill = world._log_uniform(rng, (0.3, 0.9))
    height = max(world.MIN_DIGIT_PX, round(min(fill * ph, pw * part.shape[0] / part.shape[1])))
    width = round(height * part.shape[1] / part.shape[0])
    # the cut edge is the part's flattest side: whichever border its ink touches along the most pixels
    solid = part > 0.3
    sides = {"top": solid[0].sum(), "bottom": solid[-1].sum(), "left": solid[:, 0].sum(), "right": solid[:, -1].sum()}
    edge = max(sides, key=lambda k: sides[k])
    y = int(rng.integers(0, max(ph - height, 0) + 1))
    x = int(rng.integers(0, max(pw - width, 0) + 1))
    y = {"top": 0, "bottom": ph - height}.get(edge, y)
    x = {"left": 0, "right": pw - width}.get(edge, x)
    return world.place(part, rng, page=(ph, pw), height=height, top_left=(y, x))


def two_digits_ink(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    """Two MNIST digits side by side, by one writer (same slant and width), apart, touching or overlapping: a
    picture of two digits is not a picture of one."""
    shear, aspect = world._uniform(rng, world.SHEAR), world._log_uniform(rng, world.ASPECT)
    first, second = (world.handwriting(_digit(digits, rng), rng, shear=shear, aspect=aspect) for _ in range(2))
    h2 = max(8, round(first.shape[0] * world._uniform(rng, PAIR_HEIGHTS)))
    second = world._resize(second, (max(1, round(second.shape[1] * h2 / second.shape[0])), h2), Image.Resampling.BOX)
    gap = round(world._uniform(rng, PAIR_GAP) * first.shape[1])
    drop = round(world._uniform(rng, PAIR_DROP) * first.shape[0])
    x2 = max(first.shape[1] + gap, 1)
    y1, y2 = max(0, -drop), max(0, drop)
    out = np.zeros((max(y1 + first.shape[0], y2 + h2), max(first.shape[1], x2 + second.shape[1])), np.float32)
    out[y1 : y1 + first.shape[0], : first.shape[1]] = first
    region = out[y2 : y2 + h2, x2 : x2 + second.shape[1]]
    np.maximum(region, np.clip(second, 0, 1), out=region)
    return out


def _overwrite_paths(rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
    """Heavy crossing-out over a box of h x w px: a dense zigzag, a tangle, or several crosses."""
    kind = int(rng.integers(0, 3))
    if kind == 0:  # zigzag back and forth across the whole box
        n = int(rng.integers(5, 11))
        ys = np.linspace(0, h, n) + rng.normal(0, 0.03 * h, n)
        xs = np.where(np.arange(n) % 2 == 0, 0, w) + rng.normal(0, 0.05 * w, n)
        return [np.stack([xs, ys], 1)]
    if kind == 1:  # a tangle: a long pen walk squeezed onto the box
        walk = np.vstack([_walk(rng) for _ in range(3)])
        walk = (walk - walk.min(0)) / np.maximum(np.ptp(walk, axis=0), 1e-6)
        return [walk * [w, h]]
    crosses = []
    for _ in range(int(rng.integers(2, 4))):  # X over X: corner to corner, jittered
        j = rng.normal(0, 0.06, 4) * [w, h, w, h]
        crosses += [np.array([[j[0], j[1]], [w + j[2], h + j[3]]]), np.array([[w + j[0], j[1]], [j[2], h + j[3]]])]
    return crosses


def crossed_out_ink(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    """An MNIST digit struck out by heavy overwriting (as much ink again, or more): not a digit to read. A single
    bar through a 7 or a 0 stays a digit, so the crossing-out is always dense."""
    digit = world.handwriting(_digit(digits, rng), rng)
    h, w = digit.shape

    def make() -> np.ndarray:
        over = draw_paths(_overwrite_paths(rng, h, w))
        out = np.zeros((max(h, over.shape[0]), max(w, over.shape[1])), np.float32)
        out[:h, :w] = digit
        top, left = (out.shape[0] - over.shape[0]) // 2, (out.shape[1] - over.shape[1]) // 2
        region = out[top : top + over.shape[0], left : left + over.shape[1]]
        np.maximum(region, over, out=region)
        return out

    return _until(make, lambda out: out.sum() - digit.sum() < OVERWRITE_INK * digit.sum())


WORLD_DRAWINGS: dict[str, Callable[..., np.ndarray]] = {
    "scribble": scribble_ink,
    "strokes": strokes_ink,
    "loops": loops_ink,
    "text": text_ink,
    "blots": blots_ink,
    "hatching": hatching_ink,
    "fragment": fragment_ink,
    "two_digits": two_digits_ink,
    "crossed_out": crossed_out_ink,
}


def outlier_page(family: str, rng: np.random.Generator, digits: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """A non-digit of `family` on a page (float [H, W], 1 = ink) and the look of its picture, like `draw_page`."""
    if family == "frame_cut":
        look = world.pick_look(rng)
        return frame_cut_page(rng, digits), ("photo" if look == "tiny" else look)  # a tiny scan re-frames it
    drawing = WORLD_DRAWINGS[family]
    ink = drawing(rng, digits) if WORLD_FAMILIES[family][1] else drawing(rng)
    return world.on_page(world.pen(ink, rng), rng)


def _features(views: np.ndarray) -> np.ndarray:
    """Views (uint8 [N, 28, 28]) as unit vectors of their blurred, centred pixels: cosine similarity of shapes that
    tolerates a pixel of shift and a different stroke width."""
    x = ndimage.gaussian_filter(views.astype(np.float32) / 255, sigma=(0, 1, 1)).reshape(len(views), -1)
    x -= x.mean(1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)


def digit_bank(digits: np.ndarray, size: int = BANK_SIZE, seed: int = 0) -> np.ndarray:
    """Features of `size` MNIST digits drawn from `digits`, the references of `looks_like_a_digit`."""
    pick = np.random.default_rng(seed).choice(len(digits), size=min(size, len(digits)), replace=False)
    return _features(np.asarray(digits)[np.sort(pick)])


def digit_likeness(views: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """For each view (uint8 [N, 28, 28]), its best cosine match among the bank's digits."""
    return (_features(views) @ bank.T).max(1)


def looks_like_a_digit(view: np.ndarray, bank: np.ndarray | None, threshold: float = DIGIT_LIKE) -> bool:
    """True when a view (uint8 [28, 28]) could be read as one digit, so it must not be taught as a non-digit: its ink
    is one long thin shape (a 1, whatever the drawing was before preprocessing), or it matches some real MNIST digit
    of the bank (`digit_bank`; None skips this test) as closely as digits match each other."""
    points, weights = _ink_cloud(view.astype(np.float32) / 255)
    if len(points) == 0 or _one_like(points, weights, ELONGATED) or _loops_like_a_digit(view >= 77):
        return True
    return bank is not None and bool(digit_likeness(view[None], bank)[0] >= threshold)


def _loops_like_a_digit(mask: np.ndarray) -> bool:
    """One piece of ink enclosing one loop (0, 6, 9, a closed 4) or two loops one above the other (8)."""
    if ndimage.label(mask, structure=np.ones((3, 3)))[1] != 1:
        return False  # several pieces: two digits side by side, a scatter of blots...
    holes, n = ndimage.label(ndimage.binary_fill_holes(mask) & ~mask)
    sizes = ndimage.sum_labels(holes > 0, holes, index=np.arange(1, n + 1))
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    loops = 1 + np.flatnonzero(sizes >= LOOP_AREA * box)  # the eye of a crossing is no loop
    if len(loops) == 1:
        return True
    if len(loops) == 2:
        (y1, x1), (y2, x2) = ndimage.center_of_mass(holes > 0, holes, loops)
        return abs(y1 - y2) > abs(x1 - x2)
    return False


def _families(with_digits: bool) -> tuple[list[str], np.ndarray]:
    names = [k for k, (_, needs) in WORLD_FAMILIES.items() if with_digits or not needs]
    weights = np.array([WORLD_FAMILIES[k][0] for k in names])
    return names, weights / weights.sum()


def _outlier_chunk(task: tuple[int, int, int, np.ndarray | None, np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    seed, index, count, digits, bank = task
    rng = np.random.default_rng([seed, 0, index])
    names, p = _families(digits is not None)
    features = None if bank is None else _features(bank)
    views, kinds = [], []
    for _ in range(count):
        k = int(rng.choice(len(names), p=p))
        try:
            page, look = outlier_page(names[k], rng, digits)
        except NoDrawing:
            continue  # rare (one digit in thousands): this picture is skipped, like one preprocessing refuses
        view = world.to_view(world.photo_effects(page, rng, look=look))
        if view is None or looks_like_a_digit(view, features):
            continue  # refused by preprocessing (predict would refuse it too), or too close to a real digit
        views.append(view)
        kinds.append(k)
    empty = np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    return (np.stack(views) if views else empty), np.array(kinds, np.int64)


def _tasks(n: int, seed: int, digits: np.ndarray | None) -> list:
    """Chunks of CHUNK pictures, each with its own seed and its own sample of the digits (so the result does not
    depend on the worker count and no task ships all of MNIST)."""
    # three streams of one seed: the bank (which digits the filter compares with), each chunk's digits, its drawing
    bank = None
    if digits is not None:
        bank = digits[np.random.default_rng([seed, 2]).choice(len(digits), min(BANK_SIZE, len(digits)), replace=False)]
    tasks = []
    for i, start in enumerate(range(0, n, world.CHUNK)):
        count = min(world.CHUNK, n - start)
        sample = None
        if digits is not None:
            sample = digits[np.random.default_rng([seed, 1, i]).choice(len(digits), 3 * count)]
        tasks.append((seed, i, count, sample, bank))
    return tasks


def outlier_views_by_family(
    n: int, seed: int, digits: np.ndarray | torch.Tensor | None = None, workers: int = 2
) -> tuple[torch.Tensor, list[str]]:
    """`outlier_views`, with the family name of each view."""
    arr = None if digits is None else np.asarray(digits.cpu().numpy() if isinstance(digits, torch.Tensor) else digits)
    parts = world.run_chunks(_outlier_chunk, _tasks(n, seed, arr), workers, what=f"drawing {n} non-digits")
    names, _ = _families(arr is not None)
    views = np.concatenate([v for v, _ in parts]) if parts else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    kinds = np.concatenate([k for _, k in parts]) if parts else np.zeros(0, np.int64)
    return torch.from_numpy(views), [names[k] for k in kinds]


def outlier_views(n: int, seed: int, digits: np.ndarray | torch.Tensor | None = None, workers: int = 2) -> torch.Tensor:
    """n non-digit pictures drawn as `predict` receives them (on a page, `world.photo_effects`) and viewed through
    `to_mnist`: uint8 [n', 28, 28], n' <= n (pictures preprocessing refuses, and views that match a real digit of
    `digits` too closely, are dropped). `digits` (uint8 [M, 28, 28], training images only) feeds the families built
    from MNIST and the digit-likeness filter; without it those families are skipped. Seeded per chunk: the same
    for any number of workers."""
    return outlier_views_by_family(n, seed, digits, workers)[0]


def cached_outlier_views(
    n: int, seed: int, digits: np.ndarray | torch.Tensor | None, cache_dir: str | Path, workers: int = 2
) -> torch.Tensor:
    """`outlier_views`, stored in `cache_dir` under a key of both renderer versions, n, the seed and a digest of the
    digits; a damaged file is rendered again, never trusted."""
    source = "nodigits" if digits is None else world.digest(digits)
    name = f"outliers_v{OUTLIER_VERSION}_world{world.RENDER_VERSION}p{PREPROCESS_VERSION}_n{n}_seed{seed}_{source}.pt"

    def make() -> dict[str, torch.Tensor]:
        return {"views": outlier_views(n, seed, digits, workers)}

    return world.cached(Path(cache_dir) / name, make, {"views": (None, torch.uint8)})["views"]
