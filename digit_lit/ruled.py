"""Notebook paper: printed ruled or squared lines, taken out of an ink contrast map before the ink is cut out.

A printed line is long, thin, straight and fainter than the writing: it crosses the whole picture, so nearly every
pixel of its row (or column) is darker than the rows beside it, while a digit's stroke, however wide, covers only part
of a row. Only what is clearly such a line goes: a row where LINE_COVER of the pixels stand out from the rows around,
in a run at most LINE_THIN of the picture thick, and fainter than LINE_FAINT of the strongest ink (a fine-pen bar of a
7 that spans a tight crop is as strong as the rest of the digit, so it stays). Only lines straight along the rows or
columns (within about a pixel across the working picture) are found: a page photographed askew keeps its lines.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

LINE_COVER = 0.9  # share of a row that must stand out: a printed line crosses the whole picture
LINE_THIN = 0.03  # a run of line rows is at most this share of the picture's side thick ...
LINE_PIXELS = 2  # ... or this many of the picture's own pixels (an enlarged small picture spreads a line over rows)
LINE_FAINT = 0.7  # ... and fainter than this share of the strongest ink (the 99.5th percentile of the contrast)
LINE_SIGMAS = 4.0  # ... and above the rows around it by this many noise levels of a pixel
LINE_MIN = 0.02  # ... and by at least this contrast
NEIGHBOUR_ROWS = 9  # "the rows around": a running median over this many rows (of the picture's own pixels)


def _line_rows(contrast: np.ndarray, noise: float, strongest: float, pixel: float) -> np.ndarray:
    """Per row, the contrast of the printed line it holds (0 where none); `pixel`: working rows per picture row."""
    h, w = contrast.shape
    k = int((1 - LINE_COVER) * w)
    covered = np.partition(contrast, k, axis=1)[:, k]  # LINE_COVER of the row is at least this dark
    excess = covered - ndimage.median_filter(covered, size=round(NEIGHBOUR_ROWS * pixel) | 1, mode="nearest")
    lines = (excess > max(LINE_SIGMAS * noise, LINE_MIN)) & (excess < LINE_FAINT * strongest)
    runs, _ = ndimage.label(lines)
    for label, run in enumerate(ndimage.find_objects(runs), start=1):
        if run[0].stop - run[0].start > max(LINE_THIN * h, LINE_PIXELS * pixel + 1):
            lines[runs == label] = False  # a thick band: a stroke or a shadow, not a printed line
    return np.where(lines, excess, 0.0)


def unrule(contrast: np.ndarray, noise: float, pixel: float = 1.0) -> np.ndarray:
    """The contrast map [H, W] (1 - pixel / paper) with printed horizontal and vertical lines taken out: the line's
    share of the light is divided out of its row, so ink written across it keeps most of its contrast. `pixel` is the
    size of one pixel of the picture in the map (above 1 where a small picture was enlarged)."""
    strongest = float(np.percentile(contrast[::2, ::2], 99.5))  # a quarter of the pixels: as good, 4x faster
    out = contrast
    for axis in (0, 1):
        rows = out if axis == 0 else out.T
        line = np.minimum(_line_rows(rows, noise, strongest, pixel), 0.9)[:, None]
        if line.any():
            rows = (rows - line) / (1 - line)
            out = rows if axis == 0 else rows.T
    return out
