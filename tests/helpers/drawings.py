"""Pictures of a drawn digit for preprocessing tests: the drawing (float ink map, 1 = ink) and a photo of it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
# a 2 and a 7 in a unit box (x, y), y down: curves and straight strokes, open and closed shapes
TWO: list[Point] = [(0.1, 0.25), (0.3, 0.05), (0.7, 0.05), (0.9, 0.3), (0.8, 0.55), (0.1, 0.95), (0.95, 0.95)]
SEVEN: list[Point] = [(0.05, 0.05), (0.95, 0.05), (0.45, 0.95)]
EIGHT: list[Point] = [
    (0.5, 0.5),
    (0.9, 0.25),
    (0.5, 0.0),
    (0.1, 0.25),
    (0.5, 0.5),
    (0.95, 0.75),
    (0.5, 1.0),
    (0.05, 0.75),
]
EIGHT.append(EIGHT[0])  # closed
SUPERSAMPLE = 4  # strokes are drawn 4x larger and box-filtered down: anti-aliased, so a 1-px pen is a faint line


def drawing(
    size: tuple[int, int], box: tuple[int, int, int, int], width: float, shape: Sequence[Point] = TWO
) -> np.ndarray:
    """A float [H, W] ink map of `shape` drawn into `box` (x0, y0, x1, y1) of a page of `size` (W, H) with a pen
    `width` px wide (fractions allowed: thin pens come out faint)."""
    w, h = size
    x0, y0, x1, y1 = box
    img = Image.new("F", (w * SUPERSAMPLE, h * SUPERSAMPLE), 0.0)
    points = [((x0 + px * (x1 - x0)) * SUPERSAMPLE, (y0 + py * (y1 - y0)) * SUPERSAMPLE) for px, py in shape]
    ImageDraw.Draw(img).line(points, fill=1.0, width=max(1, round(width * SUPERSAMPLE)), joint="curve")
    return np.clip(np.asarray(img.resize(size, Image.Resampling.BOX)), 0, 1)


def photo(
    ink: np.ndarray,
    paper: Sequence[float] = (0.92, 0.9, 0.85),
    colour: Sequence[float] = (0.1, 0.1, 0.2),
    light: np.ndarray | None = None,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """The ink map laid on paper (RGB in [0, 1]) in `colour`, under `light` (float [H, W], multiplies everything), with
    Gaussian sensor noise of std `noise`. uint8 RGB [H, W, 3]."""
    cover = ink[..., None]
    rgb = np.asarray(paper, np.float64) * (1 - cover) + np.asarray(colour, np.float64) * cover
    if light is not None:
        rgb = rgb * light[..., None]
    rgb = rgb + np.random.default_rng(seed).normal(0, noise, rgb.shape)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def uneven_light(
    shape: tuple[int, int], gradient: float, shadow: float, vignette: float, edge: float = 0.1
) -> np.ndarray:
    """A photo's light over a page of `shape` (H, W): `gradient` of it lost from left to right, a soft-edged shadow of
    depth `shadow` over the bottom-right, and `vignette` lost in the corners."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    u, v = xs / (w - 1) - 0.5, ys / (h - 1) - 0.5
    light = 1 - gradient * (u + 0.5)
    light *= 1 - shadow * np.clip((u + v - 0.2) / edge + 0.5, 0, 1)
    return light * (1 - vignette * np.clip((u * u + v * v) / 0.5, 0, 1))


def tiny_scan(ink: np.ndarray, side: int = 8, levels: int = 17, light_ink: bool = True) -> np.ndarray:
    """The ink map counted in `side` x `side` blocks with `levels` grey levels (UCI optdigits' 8x8 scans: 0..16),
    stored as bright ink on black or, inverted, dark ink on white. uint8 RGB [side, side, 3]."""
    counts = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize((side, side), Image.Resampling.BOX))
    value = np.round(np.clip(counts, 0, 1) * (levels - 1)) / (levels - 1)
    grey = value if light_ink else 1 - value
    return np.repeat((grey * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2)


def ruled_page(shape: tuple[int, int], spacing: int, contrast: float, squared: bool) -> np.ndarray:
    """Notebook paper as a light field over `shape` (H, W): 2-px printed lines every `spacing` px that take `contrast`
    of the light, across (and, when `squared`, also down) the page."""
    light = np.ones(shape)
    light[spacing // 4 :: spacing] *= 1 - contrast
    light[spacing // 4 + 1 :: spacing] *= 1 - contrast
    if squared:
        light[:, spacing // 2 :: spacing] *= 1 - contrast
        light[:, spacing // 2 + 1 :: spacing] *= 1 - contrast
    return light
