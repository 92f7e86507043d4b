"""The paper under the ink: which side of it the ink lies on, and its shade at every pixel under uneven light.

A photo's light multiplies ink and paper alike (gradients, vignettes, shadows), so the ink is measured as its
contrast with the paper right under it: 1 - pixel / paper, in grey levels. The paper is a grey closing (largest
value, then smallest, over a square wider than any stroke) of a coarse copy of the picture: dark strokes narrower
than the square vanish from it, while light that changes slowly across the page stays, shadow edges included.
Light ink (chalk on a board, a white pen, a scan stored as ink values) is turned into dark ink first. A photo of a
sheet lying on a darker desk is read on the sheet alone (`sheet`): the desk around it is no ink.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

COARSE_SIDE = 48  # the paper is estimated on a copy this small (longest side): light changes slowly, and it is fast
PAPER_BLUR = 1.5  # ... smoothed by this many of its pixels first (noise would raise the closing's maxima)
MEDIAN_SIDE = 24  # polarity's median background is taken on a smaller copy still (a median filter is slow)
SURE = 2.0  # polarity: one side must hold this many times the other's contrast, or the border decides
PAPER_SPAN = 0.3  # the closing's square, as a share of the longest side: wider than a marker's stroke on a page
POLARITY_SIGMAS = 3.0  # polarity: contrast beyond this many noise levels of the paper counts as ink
# A sheet on a desk (`sheet`), measured on a copy SHEET_SIDE px long: every test must pass, or the picture is read whole
SHEET_SIDE = 96
MIN_SHEET = 0.25  # the sheet covers at least this share of the picture ...
MIN_DESK = 0.03  # ... and the desk at least this share
DESK_BORDER = 0.25  # the desk runs along at least this share of the picture's border
SHEET_STEP = 0.2  # the sheet is lighter than the desk by this much (grey levels)
SHEET_PLAIN = 0.75  # the sheet is paper: this share of it (holes filled) is light, where a chalk digit's loops are not
DESK_LIGHT = 0.01  # ... and the desk is dark: at most this share of it as light as paper (glints, grain)
SHEET_SOLID = 0.9  # its outline is straight-sided: it fills this share of its convex hull (a filled 6 or 8 does not)
SHEET_CORNERS = 6  # ... and a polygon of this many of the hull's corners keeps SHEET_STRAIGHT of the hull's area: a
SHEET_STRAIGHT = 0.97  # sheet is a quadrilateral, cut by the picture's edge to at most 6 corners; a round blob is not
SHEET_EDGE = 2  # the edge is sharp and clear of ink: the sheet's shade this many px (of that copy) in, the desk's out


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
    # the split after the dark class's last bin: its upper edge (its lower edge put that bin's values, in a picture
    # of two grey levels all the dark ones, on the light side: a light digit on dark grey read as dark on light)
    return float(edges[int(np.argmax(between)) + 1])


def _border(a: np.ndarray) -> np.ndarray:
    """The values along the edge of [H, W] (the corners twice)."""
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


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
    return float((_border(grey) > otsu(grey)).mean()) < 0.5


def _quantile(a: np.ndarray, q: float) -> float:
    """The q-quantile of a's values, without interpolation (np.percentile costs several times more)."""
    k = round(q * (a.size - 1))
    return float(np.partition(a.ravel(), k)[k])


def _polygon_share(corners: np.ndarray) -> float:
    """The share of a convex polygon's area (corners in order) kept by the SHEET_CORNERS of its corners that carry most
    of it: the corner whose triangle with its neighbours is smallest goes first (Visvalingam's simplification)."""

    def area(p: np.ndarray) -> float:  # the shoelace formula
        return 0.5 * abs(float(np.dot(p[:, 0], np.roll(p[:, 1], 1)) - np.dot(p[:, 1], np.roll(p[:, 0], 1))))

    whole, p = area(corners), corners
    while len(p) > SHEET_CORNERS:
        before, after = np.roll(p, 1, axis=0), np.roll(p, -1, axis=0)
        cross = (p[:, 0] - before[:, 0]) * (after[:, 1] - before[:, 1]) - (p[:, 1] - before[:, 1]) * (
            after[:, 0] - before[:, 0]
        )
        p = np.delete(p, int(np.argmin(np.abs(cross))), axis=0)
    return area(p) / max(whole, 1e-9)


def sheet(grey: np.ndarray) -> np.ndarray | None:
    """A grey picture [H, W] of a sheet of paper lying on a darker desk (a phone photo of a page that does not fill
    the frame) with the desk covered by the sheet's paper; None when it shows no such thing (nearly always: a page
    that fills the picture, a digit cropped, chalk on a board).

    Without it the desk, the darker side of most of the border, is taken for the paper, and the sheet for light ink.
    Every test errs towards None, which reads the picture whole as before (a sheet on a desk is then mostly refused);
    a desk found where there is none could cover a digit's stroke. The sheet is the largest light region (Otsu) with
    its holes (the ink) filled: it covers a good part of the picture, the desk (the rest: dark) a good part of the
    border; it is paper-like (SHEET_PLAIN of it light: a chalk digit with its loops filled is not) and straight-sided
    (a polygon of SHEET_CORNERS corners covers it: a thick round digit does not); its edge is sharp (a shadow's is
    not), and no ink comes near it (a digit that runs off the sheet would join the desk).
    """
    small = coarse(grey, SHEET_SIDE)
    # most pictures stop here: no part of the border (DESK_BORDER of it) much darker than the lightest quarter
    if _quantile(small, 0.75) - _quantile(_border(small), DESK_BORDER) < SHEET_STEP:
        return None
    level = otsu(small)
    light = small > level
    if light.mean() < MIN_SHEET:  # chalk on a board, a dim photo: too little is light to be a sheet
        return None
    marks, _ = ndimage.label(light)  # (some pixel is light: a quarter of them)
    page = ndimage.binary_fill_holes(marks == int(np.argmax(np.bincount(marks.ravel())[1:])) + 1)
    desk = ~page
    if not (MIN_SHEET <= page.mean() <= 1 - MIN_DESK) or _border(desk).mean() < DESK_BORDER:
        return None
    if light[desk].mean() > DESK_LIGHT or light[page].mean() < SHEET_PLAIN:  # light desk: paper there, a second sheet
        return None
    if float(np.median(small[page & light])) - float(np.median(small[desk])) < SHEET_STEP:
        return None
    try:
        hull = ConvexHull(np.argwhere(page))  # (a 2-D hull's volume is its area)
    except QhullError:  # the light region a line of pixels (a picture a few px tall): no sheet has no area
        return None
    if page.sum() < SHEET_SOLID * hull.volume or _polygon_share(hull.points[hull.vertices]) < SHEET_STRAIGHT:
        return None
    # the sheet is its hull: ink that runs to the sheet's edge joins the desk in `page`, and must not be covered
    cells = np.indices(small.shape).reshape(2, -1).T
    inside = (cells @ hull.equations[:, :2].T + hull.equations[:, 2] <= 1e-9).all(1).reshape(small.shape)
    desk = ~inside
    if not desk.any():  # the sheet's hull fills the picture: no desk to cover
        return None
    ring = inside & ~ndimage.binary_erosion(inside, iterations=SHEET_EDGE + 1, border_value=1)
    ring &= ndimage.binary_erosion(inside, border_value=1)  # the outermost pixels blend with the desk
    outer = desk & ~ndimage.binary_erosion(desk, iterations=SHEET_EDGE, border_value=1)
    if not light[ring].all() or np.median(small[outer]) > level - SHEET_STEP / 2:  # ink at the edge, or a soft edge
        return None
    # the desk's edge blends with the paper over a pixel or two: the desk's. Each desk pixel takes the paper's light
    # at the nearest point of the sheet (a median, blind to thin ink): the light runs on past the edge, so the
    # paper's shade (`shade`) sees one page, not a bright frame beside a dimmer corner of the sheet
    desk = ndimage.binary_dilation(desk, iterations=SHEET_EDGE)
    nearest = ndimage.distance_transform_edt(desk, return_distances=False, return_indices=True)
    cover = ndimage.median_filter(small, size=5, mode="nearest")[tuple(nearest)]
    h, w = grey.shape
    full = np.asarray(Image.fromarray(desk.astype(np.uint8)).resize((w, h), Image.Resampling.NEAREST)) > 0
    return np.where(full, resize(cover, (w, h), Image.Resampling.BILINEAR), grey)


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
