"""The paper under the ink: which side of it the ink lies on, and its shade at every pixel under uneven light.

A photo's light multiplies ink and paper alike (gradients, vignettes, shadows), so the ink is measured as its
contrast with the paper right under it: 1 - pixel / paper, in grey levels. The paper is a grey closing (largest
value, then smallest, over a square wider than any stroke) of a coarse copy of the picture: dark strokes narrower
than the square vanish from it, while light that changes slowly across the page stays, shadow edges included.
Light ink (chalk on a board, a white pen, a scan stored as ink values) is turned into dark ink first.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

COARSE_SIDE = 48  # the paper is estimated on a copy this small (longest side): light changes slowly, and it is fast
PAPER_BLUR = 1.5  # ... smoothed by this many of its pixels first (noise would raise the closing's maxima)
MEDIAN_SIDE = 24  # polarity's median background is taken on a smaller copy still (a median filter is slow)
SURE = 2.0  # polarity: one side must hold this many times the other's contrast, or the border decides
PAPER_SPAN = 0.3  # the closing's square, as a share of the longest side: wider than a marker's stroke on a page
POLARITY_SIGMAS = 3.0  # polarity: contrast beyond this many noise levels of the paper counts as ink


def resize(a: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """A float [H, W] array resized to (width, height) by PIL ("F" mode: exact, and far faster than scipy)."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F").resize(size, resample))


def coarse(a: np.ndarray, side: int) -> np.ndarray:
    """A box-filtered copy of [H, W] at most `side` px on its longest side (averaging also quiets sensor noise)."""
    h, w = a.shape
    f = min(1.0, side / max(h, w))
    return resize(a, (max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BOX)


def _span(shape: tuple[int, ...]) -> int:
    return max(3, round(PAPER_SPAN * max(shape)) | 1)


def otsu(values: np.ndarray) -> float:
    """Otsu's threshold of values in [0, 1] (128 bins)."""
    hist, edges = np.histogram(values, bins=128, range=(0.0, 1.0))
    p = hist / max(hist.sum(), 1)
    omega = np.cumsum(p)
    mu = np.cumsum(p * edges[:-1])
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float(edges[int(np.argmax(between))])


def light_ink(grey: np.ndarray, cut_to_digit: bool) -> bool:
    """Whether the ink is lighter than the paper, from a grey picture [H, W] in [0, 1].

    The paper is the large, slowly varying part: after taking away a median background (blind to which side the ink
    is on), the ink is the side with clearly more contrast beyond the noise (SURE times the other's). A picture
    `cut_to_digit` (a tiny scan, a tight crop) has no room for such a background, its strokes being as wide as any
    window; there, and where neither side is clearly ahead, the paper is the side of the grey levels (split by Otsu)
    that holds most of the picture's border.
    """
    if not cut_to_digit:
        small = coarse(grey, MEDIAN_SIDE)
        background = ndimage.median_filter(small, size=_span(small.shape), mode="nearest")
        rest = grey - resize(background, grey.shape[::-1], Image.Resampling.BILINEAR)
        sample = rest[::2, ::2]  # a quarter of the pixels measure the noise as well, 4x faster
        noise = POLARITY_SIGMAS * 1.4826 * float(np.median(np.abs(sample - np.median(sample))))
        light, dark = float(np.clip(rest - noise, 0, None).sum()), float(np.clip(-rest - noise, 0, None).sum())
        if light > SURE * dark or dark > SURE * light:
            return light > dark
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float((border > otsu(grey)).mean()) < 0.5


def shade(grey: np.ndarray, cut_to_digit: bool) -> np.ndarray:
    """The paper's grey level under dark ink at every pixel of a grey picture [H, W]: a grey closing of a smoothed
    coarse copy (scipy's min/max filters are separable: a wide square costs no more than a narrow one).

    At the picture's edge the closing's square would reach only inwards, so light that fades towards the edge (a
    vignette) would be taken for ink; the coarse copy is therefore extended by odd reflection, which continues such a
    slope. A picture `cut_to_digit` is not extended: its ink runs along the edges, and its light is even.
    """
    h, w = grey.shape
    small = ndimage.gaussian_filter(coarse(grey, COARSE_SIDE), PAPER_BLUR, mode="nearest")
    k = _span(small.shape)
    pad = 0 if cut_to_digit else k // 2 + 2
    if pad:
        small = np.pad(small, pad, mode="reflect", reflect_type="odd")
    paper = ndimage.uniform_filter(ndimage.grey_closing(small, size=(k, k), mode="nearest"), 3, mode="nearest")
    if pad:
        paper = paper[pad:-pad, pad:-pad]
    return resize(paper, (w, h), Image.Resampling.BILINEAR)


def contrast(grey: np.ndarray, cut_to_digit: bool) -> np.ndarray:
    """How much darker than the paper under it each pixel of a grey picture [H, W] is, as a share of the paper's
    light: 1 - pixel / paper. About 0 on paper, slightly negative where the paper is lighter than its estimate, up to
    1 for black ink. Dark ink on light paper expected (see `light_ink`). Grey levels suffice: an ink as light as its
    paper is unreadable in a grey photo too, and one plane is a third of the work."""
    return 1.0 - grey / np.maximum(shade(grey, cut_to_digit), 1e-3)
