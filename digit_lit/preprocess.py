"""Turn a real-world picture of one handwritten digit into an MNIST-like 28x28 image.

MNIST's recipe: ink only (white on black), cropped to the ink, scaled to fit a 20x20 box keeping the aspect ratio,
pasted into 28x28 so the centre of mass sits at the centre. Real pictures add what MNIST never had: dark or coloured
ink on white or tinted paper, uneven light, specks, any size, thin pens. Each step below removes one of those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from digit_lit.constants import DIGIT_BOX, IMAGE_SIZE

# Bump whenever a change here alters what `to_mnist` returns: cached world views (digit_lit/world.py) carry it.
PREPROCESS_VERSION = 1
MAX_PIXELS = 40_000_000  # decoding more than this is refused before any pixel is read
WORK_SIDE = 192  # pictures are shrunk to this longest side first: plenty for a 20-px digit, and fast
MNIST_STROKE = 2.5  # typical MNIST stroke width, in pixels of the 20x20 box
MIN_SHARE = 0.05  # an ink component smaller than this share of the largest is a speck (one digit per picture)


class PreprocessError(ValueError):
    """The picture cannot be read as a digit (blank, one colour, too large...)."""


def _to_rgb(img: Image.Image) -> np.ndarray:
    """RGB floats in [0, 1]; transparent parts become white paper (canvas drawings keep the ink opaque)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, rgba)
    elif img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        span = arr.max() - arr.min()
        arr = (arr - arr.min()) / span if span > 0 else np.zeros_like(arr)
        return np.repeat(arr[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"), dtype=np.float64) / 255.0


def _shrink(img: Image.Image, side: int) -> Image.Image:
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise PreprocessError(f"image is {w}x{h} pixels, over the {MAX_PIXELS // 1_000_000} MP limit; downscale it")
    scale = side / max(w, h)
    if scale < 1:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    return img


def ink_map(rgb: np.ndarray) -> np.ndarray:
    """How far each pixel is from the paper, in [0, 1] (works for dark-on-light, light-on-dark and coloured ink).

    The paper colour is estimated locally (median of coarse tiles, smoothed), so shadows and gradients of a photo
    do not read as ink.
    """
    h, w, _ = rgb.shape
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    paper = np.median(border, axis=0)
    # local paper colour: per-tile medians, but tiles that look like ink (far from the border colour) fall back
    tiles = 8
    bh, bw = h // tiles, w // tiles
    blocks = rgb[: bh * tiles, : bw * tiles].reshape(tiles, bh, tiles, bw, 3)
    grid = np.median(blocks.transpose(0, 2, 1, 3, 4).reshape(tiles, tiles, bh * bw, 3), axis=2)
    tile_dist = np.linalg.norm(grid - paper, axis=2)
    cutoff = max(0.08, 2.0 * float(np.median(tile_dist)))
    grid[tile_dist > cutoff] = paper
    grid = ndimage.uniform_filter(grid, size=(3, 3, 1), mode="nearest")
    # bilinear upsampling of the 8x8 paper colours to the picture (PIL: ~50x faster than ndimage.zoom here)
    local = np.stack(
        [
            np.asarray(Image.fromarray(grid[..., c].astype(np.float32)).resize((w, h), Image.Resampling.BILINEAR))
            for c in range(3)
        ],
        axis=2,
    )
    return np.linalg.norm(rgb - local, axis=2) / np.sqrt(3)


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=128, range=(0.0, 1.0))
    p = hist / max(hist.sum(), 1)
    omega = np.cumsum(p)
    mu = np.cumsum(p * edges[:-1])
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float(edges[int(np.argmax(between))])


@dataclass(frozen=True)
class Ink:
    """A picture's ink at working resolution: `grey` in [0, 1] (soft strokes, strongest ink at 1), `mask` the ink kept
    (specks dropped), and `scale`, picture pixels per working pixel (to map boxes back onto the picture)."""

    grey: np.ndarray
    mask: np.ndarray
    scale: float


def ink(image: Image.Image | np.ndarray, side: int = WORK_SIDE, min_share: float = MIN_SHARE) -> Ink:
    """The ink of a picture shrunk to `side` px on its longest side; components under `min_share` of the largest are
    specks and dust. Raises PreprocessError when there is no usable ink."""
    img = Image.fromarray(np.asarray(image)) if isinstance(image, np.ndarray) else image
    small = _shrink(img, side)
    rgb = _to_rgb(small)
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise PreprocessError(f"image is {rgb.shape[1]}x{rgb.shape[0]} pixels; a digit needs at least 8x8")
    if float(rgb.max() - rgb.min()) < 0.08:
        raise PreprocessError("image is blank (one colour, no ink)")
    distance = ink_map(rgb)
    level = max(_otsu(distance), 0.1)
    mask = distance > level
    # specks and dust: keep components with a real share of the ink
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        raise PreprocessError("no ink found: the image looks blank")
    sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
    keep = np.isin(labels, 1 + np.flatnonzero(sizes >= max(min_share * sizes.max(), 4)))
    if keep.sum() < 6:
        raise PreprocessError("no ink found: the image looks blank")
    # soft strokes: ink above the noise floor, strongest ink at 1
    strong = float(np.percentile(distance[keep], 90))
    grey = np.clip((distance - 0.5 * level) / max(strong - 0.5 * level, 1e-6), 0, 1)
    return Ink(grey, keep, img.size[0] / small.size[0])


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width of the ink in px: 4x the mean distance of ink pixels to the paper (a band of width w has
    mean distance w/4)."""
    return 4.0 * float(ndimage.distance_transform_edt(mask)[mask].mean())


def frame(grey: np.ndarray, mask: np.ndarray, width: float | None = None) -> np.ndarray:
    """The ink of `mask` (with the soft edge of `grey` around it) framed as MNIST frames a digit: cropped, thickened to
    MNIST's stroke, fitted into the 20x20 box keeping its aspect ratio, centred by mass in 28x28. float32 [28, 28].
    `width` is the stroke width in px when the caller measured it already (over a whole line of digits)."""
    grey = grey * ndimage.binary_dilation(mask, iterations=2)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    grey = grey[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = DIGIT_BOX / max(grey.shape)
    # thin pens: thicken so the stroke is about MNIST's width once scaled
    width = stroke_width(mask) if width is None else width
    grow = round((MNIST_STROKE / scale - width) / 2)
    if grow > 0:
        grey = ndimage.grey_dilation(grey, size=(2 * grow + 1, 2 * grow + 1))
    h, w = grey.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray((grey * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS))
    small = small.astype(np.float32) / 255.0
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    top, left = (IMAGE_SIZE - size[1]) // 2, (IMAGE_SIZE - size[0]) // 2
    out[top : top + size[1], left : left + size[0]] = small
    cy, cx = ndimage.center_of_mass(out)
    shift = (round(IMAGE_SIZE / 2 - 0.5 - cy), round(IMAGE_SIZE / 2 - 0.5 - cx))
    out = ndimage.shift(out, shift, order=0, mode="constant", cval=0.0)
    return np.clip(out, 0.0, 1.0)


def to_mnist(image: Image.Image | np.ndarray) -> np.ndarray:
    """A [28, 28] float32 array in [0, 1], white digit on black, centred like MNIST. Raises PreprocessError."""
    found = ink(image)
    return frame(found.grey, found.mask)
