"""A world of pictures like those `predict` receives, drawn from MNIST digits and seen through `preprocess.to_mnist`.

MNIST is one kind of picture: a 20-px digit, one pen, white on black, already centred. Users send photos, scans,
canvas drawings and tiny 8x8 scans, written with ballpoints, markers and pencils. To train and calibrate the guard on
what it will really see, each MNIST digit is redrawn as such a picture (another writer's hand, another pen, a page,
paper and light, a camera or scanner) and then run through the very `to_mnist` that inference uses: the net learns
from what preprocessing hands it, failures included ("preprocessing in the loop").

Only MNIST and what this module draws enter the pictures: no fonts, no other data set.

    render(digit, rng)        one random picture of a 28x28 MNIST digit: draw_page, then photo_effects
    draw_page(digit, rng)     handwriting (slant, rotation, aspect, elastic) -> pen -> on_page (place or fill_frame)
    photo_effects(ink, rng)   paper, ink colour, light, noise, blur, low resolution, JPEG for any drawing of ink
    to_view(picture)          what the net sees of it (uint8 28x28), or None when preprocessing refuses it
    world_views(images, seed) every image rendered once and viewed, in a process pool, seeded per chunk
    cached_world_views(...)   the same, cached on disk under a key of renderer version, seed and input digest
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import math
import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from digit_lit.constants import DIGIT_BOX, IMAGE_SIZE
from digit_lit.files import OutputError, atomic_write
from digit_lit.preprocess import PREPROCESS_VERSION, WORK_SIDE, PreprocessError, to_mnist

log = logging.getLogger(__name__)
K = TypeVar("K")

# Bump whenever a change in this file alters the pictures: cached views carry it in their key.
RENDER_VERSION = 8

# ---------------------------------------------------------------------------------------------------------------
# The world's random ranges: one table, one source of truth. (lo, hi) pairs are drawn uniformly unless noted;
# P_* are probabilities per picture. Lengths in "MNIST px" are pixels of the 28x28 digit (stroke ~2.5, height ~20).
# ---------------------------------------------------------------------------------------------------------------
# handwriting: another writer's hand. Mild, so every digit still reads as its label.
SHEAR = (-0.3, 0.3)  # slant: x shift per unit of height (about +-17 degrees); positive leans the top right
ROTATION_DEG = (-10.0, 10.0)  # a page held crooked
ASPECT = (0.75, 1.3)  # width stretch relative to height (area kept): narrow or wide handwriting
ELASTIC_MNIST_PX = (0.0, 1.0)  # largest displacement of a smooth random field; wobbly lines, same digit
ELASTIC_KNOTS = 4  # the field is drawn on a 4x4 grid and smoothly interpolated: bends, not jitter
UPSAMPLE = 4  # the digit is redrawn 4x larger than MNIST, so a fine pen is 1 px there (about 1% of its height)
# pen: stroke width relative to the writer's own (MNIST's, ~12% of the digit's height)
PEN_KINDS = {"fine": 0.35, "natural": 0.4, "marker": 0.25}  # P of each kind of pen
PEN_WIDTH = {"fine": (0.08, 0.55), "natural": (0.6, 1.3), "marker": (1.25, 1.6)}  # wider fills loops
FINE_PRESSURE = (0.6, 1.0)  # a fine pen's ink strength: light ballpoints leave fainter lines
# page: the picture around the digit
PAGE_SIDES = {"small": (0.25, (24, 64)), "medium": (0.6, (64, 192)), "large": (0.15, (192, 320))}  # P, side range
PAGE_ASPECT = (0.7, 1.45)  # height / width, log-uniform: portrait or landscape photos and crops
DIGIT_FILL = (0.15, 0.95)  # digit height / page height, log-uniform: a small digit on a big page, or filling it
MIN_DIGIT_PX = 12  # ... but never under 12 px tall once `to_mnist` has shrunk the page to WORK_SIDE
# photo effects: one "look" per picture decides which camera or scanner took it
LOOKS = {"clean": 0.15, "scan": 0.25, "photo": 0.4, "lowres": 0.1, "tiny": 0.1}  # P of each look
P_BOARD = 0.1  # light ink on a dark page (chalk on a board, white pen on black), in scan and photo looks
INKS = {  # RGB ranges of ink colours, and their P
    "black": (0.35, ((0.0, 0.18), (0.0, 0.18), (0.0, 0.18))),
    "blue": (0.3, ((0.02, 0.25), (0.05, 0.35), (0.35, 0.8))),
    "red": (0.1, ((0.6, 0.95), (0.0, 0.25), (0.0, 0.25))),
    "green": (0.05, ((0.0, 0.2), (0.3, 0.6), (0.1, 0.35))),
    "pencil": (0.2, ((0.2, 0.5), (0.2, 0.5), (0.2, 0.5))),
}
PENCIL_GRAIN = (0.2, 0.6)  # share of a pencil stroke's strength lost to paper grain, at random per pixel
PAPER_WHITE = {"clean": (0.9, 1.0), "scan": (0.8, 1.0), "photo": (0.5, 1.0)}  # paper brightness (dim photos)
PAPER_TINT = {"clean": 0.02, "scan": 0.04, "photo": 0.07}  # +- per channel: cream, yellow, grey-blue paper
MIN_CONTRAST = 0.35  # ink is at least this much darker (on a board: lighter) than the paper, in grey levels
BOARD_PAPER = (0.02, 0.3)  # a dark board's brightness
BOARD_INK, BOARD_INK_TINT = (0.7, 1.0), 0.05  # chalk or white ink brightness, +- per channel
MOTTLE = {"clean": 0.0, "scan": 0.015, "photo": 0.03}  # largest low-frequency paper texture amplitude
GRAIN = {"clean": 0.005, "scan": 0.02, "photo": 0.03}  # largest fine paper grain (std)
P_RULED = {"scan": 0.1, "photo": 0.15}  # notebook paper: printed lines under the ink ...
P_SQUARED = 0.4  # ... squared (a grid) rather than ruled this often
RULED_CONTRAST = (0.05, 0.2)  # ... faint: this much darker than the paper (blue-grey print)
RULED_SPACING = (0.5, 1.2)  # ... one line per this many heights of the ink
P_DUST, DUST_SPECKS = {"scan": 0.15, "photo": 0.1}, (1, 5)  # dust: single grey pixels, on pages of 64 px or more
DUST_DARKNESS = (0.4, 0.8)  # a speck keeps this share of the light: dust is rarely as dark as ink
LIGHT_GRADIENT = (0.0, 0.35)  # photos: share of light lost from one side to the other
VIGNETTE = (0.0, 0.25)  # photos: share of light lost in the corners
P_SHADOW, SHADOW = 0.2, (0.1, 0.3)  # photos: a hand or phone shadow over part of the page, and its depth
SHADOW_EDGE = (0.1, 0.4)  # ... the width of its soft edge, as a share of the page ...
SHADOW_PLACE = (-0.3, 0.3)  # ... and where the edge runs, from the page's centre, as a share of the page
COLOUR_CAST = 0.08  # photos: white balance, +- per channel, multiplies the whole picture
NOISE = {"clean": 0.01, "scan": 0.03, "photo": 0.06, "lowres": 0.04, "tiny": 0.0}  # largest sensor noise std
# photos: camera pixels per pixel of the picture as sent (log-uniform). A phone photographs the page at several
# times the size it is sent at, and shrinking averages the sensor noise down by this factor (1: a camera at the
# picture's own size, a webcam). Noise drawn at the page's size hid fine pens' lines no camera loses
# (benchmarks/camera_photos.py)
CAMERA_PX = (1.0, 8.0)
BLUR_MNIST_PX = {"clean": 0.3, "scan": 0.6, "photo": 0.9, "lowres": 0.6}  # largest blur sigma, relative to the ink
P_BILEVEL = 0.15  # scans: a black-and-white (1-bit) scanner
LOWRES_INK_PX = (10, 22)  # lowres look: the ink is this many px tall once shrunk ...
LOWRES_UPSCALE = {"none": 0.4, "nearest": 0.2, "bilinear": 0.2, "bicubic": 0.2}  # ... then maybe enlarged again
TINY_SIDES, P_TINY_8 = (8, 16), 0.5  # tiny look: the whole picture is 8x8 (UCI optdigits) or up to 16x16 ...
TINY_FRAME = 32  # ... the ink first fills the height of a 32x32 frame (optdigits' bitmaps), then is counted in blocks
TINY_LEVELS = {17: 0.6, 2: 0.1, 5: 0.1, 256: 0.2}  # grey levels of a tiny scan (optdigits counts 0..16)
P_TINY_BINARY = 0.7  # tiny scans count ink of a 1-bit bitmap (like optdigits' 32x32 -> 8x8 block counts)
P_TINY_LIGHT_INK = 0.6  # tiny scans are stored as ink values: bright ink on black, unless saved inverted
# ... shown enlarged to any side (8x8 as 28x28 or 64x64: this many times its side, log-uniform) ...
P_TINY_ENLARGED, TINY_ENLARGE = 0.5, (1.5, 10.0)
TINY_ENLARGE_BY = {"nearest": 0.4, "bilinear": 0.3, "bicubic": 0.3}  # ... by repeating pixels, or smoothly ...
# ... and painted with a plotting library's colour map (matplotlib's imshow and imsave paint with viridis unless told;
# benchmarks/tiny_scans.py stores test scans so too)
P_TINY_COLOUR_MAP = 0.25
TINY_COLOUR_MAPS = ("viridis", "magma", "inferno", "plasma", "cividis", "gray_r", "Greys", "hot", "bone", "binary")
P_JPEG = {"clean": 0.3, "scan": 0.6, "photo": 0.85, "lowres": 0.5, "tiny": 0.0}  # P of JPEG compression
JPEG_QUALITY = {"clean": (80, 95), "scan": (30, 95), "photo": (15, 95), "lowres": (20, 90)}

REFUSED, READ, LOST = 0, 1, 2  # what became of a world picture (world_views' status)
READABLE = 0.8  # a view whose `agreement` with its drawing is lower lost the digit to preprocessing (see world_views)
CHUNK = 256  # pictures per pool task; each chunk has its own seed, so results do not depend on the worker count
PROGRESS_TASKS = 10  # run_chunks logs its progress from this many chunks on (2,560 pictures: well under a minute)
MNIST_STROKE_FRACTION = 0.125  # MNIST's stroke width over the digit's height (2.5 / 20): pens of other drawings
# a pen redraws the digit only when its lines still cover this share of the written ink within half a stroke: a
# fine pen that follows the skeleton of a loop written filled in draws a 6 as a 1 (no writer's fine pen does)
PEN_KEEPS = 0.9


def _pick(table: dict[K, Any], rng: np.random.Generator) -> K:
    """A key of {key: probability} (or {key: (probability, ...)}) drawn by its probability."""
    keys = list(table)
    p = np.array([v[0] if isinstance(v, tuple) else v for v in table.values()], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _log_uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def _resize(a: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """A float [H, W] array resized to (width, height) by PIL (its "F" mode is exact and much faster than scipy)."""
    return np.asarray(Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F").resize(size, resample))


# enlarging by name (low-resolution pictures, tiny scans)
RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}


def _trim(ink: np.ndarray, level: float = 0.05) -> np.ndarray:
    """The ink's bounding box cut out of a drawing (the whole drawing when it holds no ink)."""
    rows, cols = np.flatnonzero(ink.max(1) > level), np.flatnonzero(ink.max(0) > level)
    if len(rows) == 0:
        return ink
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def ink_height(ink: np.ndarray, level: float = 0.3) -> int:
    """Rows spanned by the ink (above `level` of its strongest value: faint pens count), in px; 0 when blank."""
    rows = np.flatnonzero(ink.max(1) > level * float(ink.max())) if ink.max() > 0 else []
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


# ------------------------------------------------------------------------ the digit: hand, pen, page


def handwriting(
    digit: np.ndarray,
    rng: np.random.Generator,
    *,
    shear: float | None = None,
    angle: float | None = None,
    aspect: float | None = None,
    elastic: float | None = None,
    upsample: int = UPSAMPLE,
) -> np.ndarray:
    """The digit as another writer would shape it: slanted, rotated, narrower or wider, wobbly; and `upsample` times
    larger, so pens can be drawn finer than an MNIST pixel. Returns float [h, w] in [0, 1], ink = 1, tightly framed.

    All four changes are one affine map plus a smooth displacement field, sampled once (bicubic), so the strokes are
    resampled once and stay crisp. Parameters left None are drawn from the table above; angle is in degrees,
    positive turning clockwise on screen; aspect > 1 widens.
    """
    src = np.asarray(digit, dtype=np.float32)
    src = src / 255.0 if np.asarray(digit).dtype == np.uint8 else src
    shear = _uniform(rng, SHEAR) if shear is None else shear
    angle = _uniform(rng, ROTATION_DEG) if angle is None else angle
    aspect = _log_uniform(rng, ASPECT) if aspect is None else aspect
    elastic = _uniform(rng, ELASTIC_MNIST_PX) if elastic is None else elastic
    rows, cols = np.flatnonzero(src.max(1) > 0.05), np.flatnonzero(src.max(0) > 0.05)
    if len(rows) == 0:
        return np.zeros((upsample, upsample), np.float32)
    centre = np.array([(cols[0] + cols[-1]) / 2, (rows[0] + rows[-1]) / 2])  # (x, y) in MNIST px
    # forward map in (x, y), y down: stretch (area kept), then slant (top moves right for shear > 0), then rotate
    t = np.deg2rad(angle)
    rotate = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    slant = np.array([[1.0, -shear], [0.0, 1.0]])
    stretch = np.diag([np.sqrt(aspect), 1 / np.sqrt(aspect)])
    forward = upsample * rotate @ slant @ stretch
    # the canvas holds the mapped ink box, plus room for the wobble and the pen's edge
    corners = np.array([[cols[0] - 1, rows[0] - 1], [cols[-1] + 1, rows[0] - 1], [cols[0] - 1, rows[-1] + 1]])
    corners = np.vstack([corners, [cols[-1] + 1, rows[-1] + 1]]) - centre
    mapped = corners @ forward.T
    pad = upsample * (elastic + 1.0)
    half = np.abs(mapped).max(0) + pad  # (x, y)
    w, h = (int(np.ceil(2 * v)) for v in half)
    # inverse map: for each canvas pixel, where it comes from in the digit
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    qx, qy = xs - (w - 1) / 2, ys - (h - 1) / 2
    inv = np.linalg.inv(forward).astype(np.float32)
    px = inv[0, 0] * qx + inv[0, 1] * qy + centre[0]
    py = inv[1, 0] * qx + inv[1, 1] * qy + centre[1]
    if elastic > 0:
        dx, dy = (_smooth_field(rng, (h, w), elastic) for _ in range(2))
        px, py = px + dx, py + dy
    out = ndimage.map_coordinates(src, [py, px], order=3, mode="constant", cval=0.0)
    return _trim(np.clip(out, 0.0, 1.0))


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], peak: float) -> np.ndarray:
    """A smooth random displacement over `shape` whose largest magnitude is `peak`."""
    knots = rng.normal(size=(ELASTIC_KNOTS, ELASTIC_KNOTS)).astype(np.float32)
    field = _resize(knots, (shape[1], shape[0]), Image.Resampling.BICUBIC)
    return field * (peak / max(float(np.abs(field).max()), 1e-6))


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width of a drawing in px: 4x the mean distance of ink pixels to the paper (a band of width w
    has mean distance w/4), the measure `to_mnist` uses too."""
    mask = ink > 0.5
    if not mask.any():
        return 0.0
    return 4.0 * float(ndimage.distance_transform_edt(mask)[mask].mean())


def pen(ink: np.ndarray, rng: np.random.Generator, *, width: float | None = None) -> np.ndarray:
    """The same strokes redrawn with another pen. `width` is relative to the drawing's own stroke: 0.1 is a fine
    ballpoint, 1 the pen it was written with, 2 a marker. Returns float [h, w] in [0, 1] (a marker's border grows).

    Within 0.6..1.3 the stroke is cut at another grey level of the (smooth) upsampled digit, keeping the writer's
    pressure; a finer pen follows the skeleton of the strokes with a uniform line; a marker grows the strokes by
    their distance. Fine lines under 1 px are drawn faint, as a box filter would show them.
    """
    if width is None:
        kind = _pick(PEN_KINDS, rng)
        width = _uniform(rng, PEN_WIDTH[kind])
    own = stroke_width(ink)
    if own == 0:
        return ink
    target = width * own  # in px
    if width < 0.6:
        pressure = _uniform(rng, FINE_PRESSURE)
        skeleton = thin(ink > 0.5)
        distance = ndimage.distance_transform_edt(~skeleton)
        radius = max(target, 1.0) / 2
        return (np.clip(radius + 0.5 - distance, 0, 1) * min(target, 1.0) * pressure).astype(np.float32)
    if width <= 1.3:
        # the grey level to cut at: 0.5 keeps the written stroke, higher is finer. Linear in width; measured on MNIST,
        # widths 0.6 / 0.8 / 1.3 come out 0.7 / 0.86 / 1.23 times the written stroke (median of 60 test digits)
        level = float(np.clip(0.5 - (width - 1.0) * 0.9, 0.12, 0.88))
        return np.clip((ink - level) / 0.2 + 0.5, 0, 1).astype(np.float32)
    grow = (target - own) / 2
    margin = int(np.ceil(grow)) + 1
    padded = np.pad(ink, margin)
    distance = ndimage.distance_transform_edt(padded <= 0.5)
    return np.maximum(np.clip(grow + 0.5 - distance, 0, 1), np.clip((padded - 0.3) / 0.2, 0, 1)).astype(np.float32)


def _thinning_tables() -> tuple[np.ndarray, np.ndarray]:
    """Zhang-Suen's deletion rules for both sub-steps, as tables indexed by the 8-neighbour code of a pixel."""
    bits = (np.arange(256)[:, None] >> np.arange(8)) & 1  # bit k: neighbour N, NE, E, SE, S, SW, W, NW
    count = bits.sum(1)
    crossings = ((bits == 0) & (np.roll(bits, -1, axis=1) == 1)).sum(1)  # 0 -> 1 steps around the pixel
    n, e, s, w = bits[:, 0], bits[:, 2], bits[:, 4], bits[:, 6]
    simple = (count >= 2) & (count <= 6) & (crossings == 1)  # an end or a junction is never deleted
    return simple & (n * e * s == 0) & (e * s * w == 0), simple & (n * e * w == 0) & (n * s * w == 0)


_THIN_STEPS = _thinning_tables()
_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def thin(mask: np.ndarray) -> np.ndarray:
    """The 1-px skeleton of a boolean mask (Zhang-Suen thinning, vectorised: one table lookup per sub-step)."""
    m = np.pad(mask.astype(np.uint8), 1)
    h, w = mask.shape
    while True:
        deleted = 0
        for table in _THIN_STEPS:
            code = np.zeros((h, w), np.uint8)
            for k, (dy, dx) in enumerate(_NEIGHBOURS):
                code |= m[1 + dy : h + 1 + dy, 1 + dx : w + 1 + dx] << k
            gone = table[code] & (m[1:-1, 1:-1] == 1)
            m[1:-1, 1:-1][gone] = 0
            deleted += int(gone.sum())
        if not deleted:
            return m[1:-1, 1:-1].astype(bool)


def page_size(rng: np.random.Generator) -> tuple[int, int]:
    """A random page (height, width) in px: small crops, canvas drawings, photos (see PAGE_SIDES, PAGE_ASPECT)."""
    side = _log_uniform(rng, PAGE_SIDES[_pick(PAGE_SIDES, rng)][1])
    ratio = _log_uniform(rng, PAGE_ASPECT)
    return round(side * min(1.0, ratio)), round(side / max(1.0, ratio))


def place(
    ink: np.ndarray,
    rng: np.random.Generator,
    *,
    page: tuple[int, int] | None = None,
    height: int | None = None,
    top_left: tuple[int, int] | None = None,
) -> np.ndarray:
    """The drawing put on a page of (height, width) px, its ink `height` px tall, with its top-left corner at
    `top_left` (anywhere: off-centre too). Returns float [H, W] in [0, 1]. Left None, all three are drawn: pages
    from 24 to 320 px (`to_mnist` shrinks bigger ones to WORK_SIDE anyway), the digit small on it or filling it,
    always whole. Given explicitly, they may put part of the drawing outside the page: the frame cuts it off.
    """
    ink = _trim(ink)
    ph, pw = page = page_size(rng) if page is None else page
    aspect = ink.shape[1] / ink.shape[0]
    if height is None:
        height = _log_uniform(rng, DIGIT_FILL) * ph
        height = max(height, MIN_DIGIT_PX * max(1.0, max(page) / WORK_SIDE))
        height = min(height, ph, pw / aspect)  # a drawn size fits the page
    height = max(1, round(height))
    width = max(1, round(height * aspect))
    if top_left is None:
        top_left = (int(rng.integers(0, max(ph - height, 0) + 1)), int(rng.integers(0, max(pw - width, 0) + 1)))
    shrinking = height < ink.shape[0]
    # box filter when shrinking: a fine line becomes faint instead of vanishing, as in a downscaled photo
    small = np.clip(
        _resize(ink, (width, height), Image.Resampling.BOX if shrinking else Image.Resampling.BICUBIC), 0, 1
    )
    y, x = top_left
    y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + height, ph), min(x + width, pw)
    out = np.zeros(page, np.float32)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = small[y0 - y : y1 - y, x0 - x : x1 - x]
    return out


def fill_frame(ink: np.ndarray, side: int = TINY_FRAME) -> np.ndarray:
    """The drawing scaled so its ink spans the full height of a `side` x `side` frame, centred across (squeezed if
    wider than tall): the framing of size-normalised scans such as UCI optdigits (32x32 bitmaps, then 8x8 blocks)."""
    ink = _trim(ink)
    width = max(1, min(side, round(side * ink.shape[1] / ink.shape[0])))
    small = np.clip(_resize(ink, (width, side), Image.Resampling.BOX), 0, 1)
    out = np.zeros((side, side), np.float32)
    left = (side - width) // 2
    out[:, left : left + width] = small
    return out


# ------------------------------------------------------------------------ the page: paper, ink, light, camera


def pick_look(rng: np.random.Generator) -> str:
    """Which camera or scanner took the picture: clean, scan, photo, lowres or tiny (see LOOKS)."""
    return _pick(LOOKS, rng)


def paper(shape: tuple[int, int], rng: np.random.Generator, look: str, board: bool = False) -> np.ndarray:
    """A blank page, float RGB [H, W, 3] in [0, 1]: white or tinted paper (or a dark board), with its texture: slow
    blotches (mottle) and fine grain."""
    base = _uniform(rng, BOARD_PAPER) if board else _uniform(rng, PAPER_WHITE.get(look, PAPER_WHITE["scan"]))
    tint = PAPER_TINT.get(look, PAPER_TINT["scan"])
    colour = np.clip(base + rng.uniform(-tint, tint, 3), 0, 1).astype(np.float32)
    out = np.broadcast_to(colour, (*shape, 3)).copy()
    mottle = _uniform(rng, (0.0, MOTTLE.get(look, 0.0)))
    if mottle > 0:
        out += (_smooth_field(rng, shape, mottle))[..., None]
    grain = _uniform(rng, (0.0, GRAIN.get(look, 0.0)))
    if grain > 0:
        out += (rng.standard_normal(shape, dtype=np.float32) * grain)[..., None]
    return np.clip(out, 0, 1)


def ruling(page: np.ndarray, rng: np.random.Generator, spacing: float, squared: bool, contrast: float) -> np.ndarray:
    """Notebook paper: faint blue-grey printed lines every `spacing` px (and columns too when `squared`), at a random
    offset. They lie under the ink, so they are drawn on the blank page."""
    h, w, _ = page.shape
    print_colour = 1 - contrast * np.array([0.9, 0.7, 0.3], np.float32)  # a bluish print darkens red most
    out = page.copy()
    step = max(spacing, 3.0)
    width = 2 if max(h, w) > 200 else 1
    for along, size in ((0, h), (1, w)) if squared else ((0, h),):
        for start in np.arange(_uniform(rng, (0, step)), size, step).astype(int):
            index = [slice(None)] * 2
            index[along] = slice(start, start + width)
            out[tuple(index)] *= print_colour
    return out


def dust(rgb: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """`count` specks of dust, one pixel each, anywhere on the picture."""
    h, w, _ = rgb.shape
    out = rgb.copy()
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    out[ys, xs] *= rng.uniform(*DUST_DARKNESS, (count, 1)).astype(np.float32)
    return out


def ink_colour(rng: np.random.Generator, board: bool = False) -> tuple[str, np.ndarray]:
    """A kind of ink and its RGB colour: black, blue, red, green or pencil grey; chalk-bright on a board."""
    if board:
        tint = rng.uniform(-BOARD_INK_TINT, BOARD_INK_TINT, 3)
        return "chalk", np.clip(_uniform(rng, BOARD_INK) + tint, 0, 1).astype(np.float32)
    kind = _pick(INKS, rng)
    ranges = INKS[kind][1]
    return kind, np.array([_uniform(rng, r) for r in ranges], np.float32)


def legible(colour: np.ndarray, paper_grey: float, board: bool = False) -> np.ndarray:
    """The ink colour darkened (on a board: lightened) until it stands MIN_CONTRAST grey levels off the paper: a
    writer picks a pen that shows on their page, and an invisible digit cannot be taught as its label."""
    grey = float(colour.mean())
    if board:
        room = 1 - grey
        need = max(0.0, paper_grey + MIN_CONTRAST - grey)
        return (1 - (1 - colour) * max(0.0, 1 - need / max(room, 1e-6))).astype(np.float32)
    limit = max(paper_grey - MIN_CONTRAST, 0.0)
    return (colour * min(1.0, limit / max(grey, 1e-6))).astype(np.float32)


def lay_ink(page: np.ndarray, ink: np.ndarray, colour: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Ink of `colour` laid on the page where the drawing has ink (its value is the ink's cover). Pencil and chalk
    leave grainy strokes: part of their strength is lost at random per pixel."""
    cover = ink
    if kind in ("pencil", "chalk"):
        loss = _uniform(rng, PENCIL_GRAIN)
        cover = ink * (1 - loss * rng.random(ink.shape, dtype=np.float32))
    cover = cover[..., None]
    return page * (1 - cover) + colour * cover


def uneven_light(
    rgb: np.ndarray,
    rng: np.random.Generator,
    *,
    gradient: float | None = None,
    direction: float | None = None,
    vignette: float | None = None,
    shadow: float | None = None,
) -> np.ndarray:
    """A photo's light: brighter on one side (`gradient` of the light lost across the page, towards `direction`
    in radians, 0 = darker to the right), darker corners (`vignette`), maybe a soft shadow over part of the page,
    and a colour cast. Multiplies the picture, so ink and paper darken alike."""
    h, w, _ = rgb.shape
    gradient = _uniform(rng, LIGHT_GRADIENT) if gradient is None else gradient
    direction = _uniform(rng, (0, 2 * np.pi)) if direction is None else direction
    vignette = _uniform(rng, VIGNETTE) if vignette is None else vignette
    if shadow is None:
        shadow = _uniform(rng, SHADOW) if rng.random() < P_SHADOW else 0.0
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xs / max(w - 1, 1) - 0.5, ys / max(h - 1, 1) - 0.5  # -0.5 .. 0.5 across the page
    along = float(np.cos(direction)) * u + float(np.sin(direction)) * v  # -0.7 .. 0.7 towards `direction`
    light = 1 - gradient * np.clip(along / 0.7 + 0.5, 0, 1)
    light *= 1 - vignette * np.clip((u * u + v * v) / 0.5, 0, 1)
    if shadow > 0:
        # a soft-edged half-plane across the page, at a random angle and place
        t = _uniform(rng, (0, 2 * np.pi))
        edge = float(np.cos(t)) * u + float(np.sin(t)) * v - _uniform(rng, SHADOW_PLACE)
        softness = _uniform(rng, SHADOW_EDGE)
        light *= 1 - shadow * np.clip(edge / softness + 0.5, 0, 1)
    cast = 1 + rng.uniform(-COLOUR_CAST, COLOUR_CAST, 3).astype(np.float32)
    return np.clip(rgb * light[..., None] * cast, 0, 1).astype(np.float32)


def noise_std(look: str, rng: np.random.Generator) -> float:
    """A random sensor noise level (std) of a picture of `look` at the size it is sent: a photo's is its camera's,
    averaged down by shrinking CAMERA_PX camera pixels into each of the picture's."""
    sigma = _uniform(rng, (0.0, NOISE[look]))
    return sigma / _log_uniform(rng, CAMERA_PX) if look == "photo" else sigma


def sensor_noise(rgb: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Gaussian noise of std `sigma`, independent per pixel and channel, as a camera sensor adds."""
    if sigma <= 0:
        return rgb
    return np.clip(rgb + rng.standard_normal(rgb.shape, dtype=np.float32) * sigma, 0, 1)


def blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Out of focus or a soft scanner: a Gaussian blur of `sigma` px in both directions, not across channels."""
    if sigma <= 0.05:
        return rgb
    return ndimage.gaussian_filter(rgb, sigma=(sigma, sigma, 0), mode="nearest")


def bilevel(rgb: np.ndarray) -> np.ndarray:
    """A 1-bit scanner: each pixel black or white, cut halfway between the page's darkest and lightest grey."""
    grey = rgb.mean(2)
    level = (float(grey.min()) + float(grey.max())) / 2
    return np.repeat((grey > level).astype(np.float32)[..., None], 3, axis=2)


def low_resolution(
    rgb: np.ndarray,
    rng: np.random.Generator,
    ink_px: int,
    *,
    target: int | None = None,
    upscale: str | None = None,
) -> np.ndarray:
    """A low-resolution camera or scan: the picture shrunk so its ink (`ink_px` tall now) is `target` px tall,
    then kept small or enlarged back to its size by nearest, bilinear or bicubic resampling (blocky or soft)."""
    target = int(rng.integers(LOWRES_INK_PX[0], LOWRES_INK_PX[1] + 1)) if target is None else target
    upscale = _pick(LOWRES_UPSCALE, rng) if upscale is None else upscale
    h, w, _ = rgb.shape
    scale = target / max(ink_px, 1)
    if scale >= 1:
        return rgb
    small = (max(8, round(w * scale)), max(8, round(h * scale)))
    img = Image.fromarray(_to_uint8(rgb)).resize(small, Image.Resampling.BOX)
    if upscale != "none":
        img = img.resize((w, h), RESAMPLE[upscale])
    return np.asarray(img, dtype=np.float32) / 255


def tiny_scan(
    ink: np.ndarray,
    rng: np.random.Generator,
    *,
    side: int | None = None,
    levels: int | None = None,
    light_ink: bool | None = None,
    colour_map: str | None = None,
) -> np.ndarray:
    """The whole picture `side` x `side` px (8 to 16) with `levels` grey levels: a size-normalised low-resolution
    scan like UCI optdigits (ink of a 1-bit bitmap counted in blocks, 0..16). The ink is bright on black when
    `light_ink` (values stored as ink), else dark on white; or the ink values are painted with a matplotlib
    `colour_map` ("grey": none; None: one is drawn P_TINY_COLOUR_MAP of the time). Returns float RGB
    [side, side, 3] in [0, 1]."""
    if side is None:
        side = TINY_SIDES[0] if rng.random() < P_TINY_8 else int(rng.integers(TINY_SIDES[0] + 1, TINY_SIDES[1] + 1))
    levels = _pick(TINY_LEVELS, rng) if levels is None else levels
    light_ink = bool(rng.random() < P_TINY_LIGHT_INK) if light_ink is None else light_ink
    if colour_map is None:
        colour_map = str(rng.choice(TINY_COLOUR_MAPS)) if rng.random() < P_TINY_COLOUR_MAP else "grey"
    if rng.random() < P_TINY_BINARY:
        ink = (ink > 0.5 * float(ink.max())).astype(np.float32)  # relative: a fine pen's faint line is ink too
    counts = np.clip(_resize(ink, (side, side), Image.Resampling.BOX), 0, 1)
    value = np.round(counts * (levels - 1)) / (levels - 1)
    if colour_map != "grey":
        return painted(value, colour_map)
    grey = value if light_ink else 1 - value
    return np.repeat(grey[..., None], 3, axis=2).astype(np.float32)


def painted(value: np.ndarray, colour_map: str) -> np.ndarray:
    """Values in [0, 1] [H, W] painted with a matplotlib colour map, as plotting a scan's array shows it: float RGB
    [H, W, 3] in [0, 1]."""
    return matplotlib.colormaps[colour_map](value)[..., :3].astype(np.float32)


def enlarged(img: Image.Image, rng: np.random.Generator, factor: float | None = None) -> Image.Image:
    """A square tiny scan as a person shows it: `factor` times its side (any side, drawn from TINY_ENLARGE when None),
    by repeating pixels or smoothly (TINY_ENLARGE_BY)."""
    factor = _log_uniform(rng, TINY_ENLARGE) if factor is None else factor
    how = _pick(TINY_ENLARGE_BY, rng)
    side = max(img.size[0] + 1, round(img.size[0] * factor))
    return img.resize((side, side), RESAMPLE[how])


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """The picture saved as JPEG at `quality` (1..95) and read back: block artefacts, colour smeared (4:2:0)."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def photo_effects(ink: np.ndarray, rng: np.random.Generator, look: str | None = None) -> Image.Image:
    """A drawing of ink (float [H, W] in [0, 1], 1 = ink) as a picture someone would send: paper and its tint,
    texture and printed lines, ink colour (or chalk on a board), dust, uneven light, sensor noise, blur, low
    resolution and JPEG, as the `look` (clean, scan, photo, lowres or tiny; drawn when None) says. Returns an RGB
    image.
    """
    look = pick_look(rng) if look is None else look
    ink = np.asarray(ink, dtype=np.float32)
    if look == "tiny":
        img = Image.fromarray(_to_uint8(tiny_scan(ink, rng)))
        return enlarged(img, rng) if rng.random() < P_TINY_ENLARGED else img
    tall = ink_height(ink)
    # lowres pictures were taken as scans or photos first, then lost their resolution
    style = look if look != "lowres" else ("scan", "photo")[int(rng.integers(0, 2))]
    board = style != "clean" and rng.random() < P_BOARD
    kind, colour = ink_colour(rng, board)
    if style == "clean" and kind == "pencil":
        kind, colour = "black", np.zeros(3, np.float32)
    page = paper(ink.shape, rng, style, board)
    colour = legible(colour, float(page.mean()), board)
    if not board and rng.random() < P_RULED.get(style, 0.0):
        spacing = _uniform(rng, RULED_SPACING) * max(tall, 8)
        page = ruling(page, rng, spacing, rng.random() < P_SQUARED, _uniform(rng, RULED_CONTRAST))
    rgb = lay_ink(page, ink, colour, rng, kind)
    if min(ink.shape) >= 64 and rng.random() < P_DUST.get(style, 0.0):
        rgb = dust(rgb, rng, int(rng.integers(DUST_SPECKS[0], DUST_SPECKS[1] + 1)))
    if style == "photo":
        rgb = uneven_light(rgb, rng)
    rgb = blur(rgb, _uniform(rng, (0.0, BLUR_MNIST_PX[look])) * tall / 20)
    rgb = sensor_noise(rgb, rng, noise_std(look, rng))
    if look == "scan" and rng.random() < P_BILEVEL:
        rgb = bilevel(rgb)
    if look == "lowres":
        rgb = low_resolution(rgb, rng, tall)
    img = Image.fromarray(_to_uint8(rgb))
    if rng.random() < P_JPEG[look]:
        img = jpeg(img, int(rng.integers(*JPEG_QUALITY[look], endpoint=True)))
    return img


def on_page(ink: np.ndarray, rng: np.random.Generator, look: str | None = None) -> tuple[np.ndarray, str]:
    """A drawing on a random page, float [H, W] in [0, 1], and the look the picture will have (`pick_look` when
    None): placed on the page, or filling the frame of a tiny scan."""
    look = pick_look(rng) if look is None else look
    return (fill_frame(ink) if look == "tiny" else place(ink, rng)), look


def draw_page(digit: np.ndarray, rng: np.random.Generator, look: str | None = None) -> tuple[np.ndarray, str]:
    """A 28x28 MNIST digit (uint8, white on black) written by another hand with another pen, `on_page` (in the
    given look, or one drawn); with the writer's own pen where the other one would change its shape (`keeps_shape`)."""
    written = handwriting(digit, rng)
    drawn = pen(written, rng)
    return on_page(drawn if keeps_shape(written, drawn) else pen(written, rng, width=1.0), rng, look)


def keeps_shape(written: np.ndarray, drawn: np.ndarray) -> bool:
    """Whether a pen's drawing (`pen` of `written`) still covers PEN_KEEPS of the written ink within half its stroke.
    A fine pen follows the skeleton of the strokes, which is the digit's path, except where a loop was written
    filled in (a thick pen's small 6, 8 or 9): there the skeleton is a line, and the digit turns into another."""
    margin = (drawn.shape[0] - written.shape[0]) // 2  # a marker's drawing has a border grown around it
    drawn = drawn[margin : margin + written.shape[0], margin : margin + written.shape[1]]
    ink = written > 0.5
    if not ink.any() or drawn.max() <= 0:
        return True
    reach = max(1, round(stroke_width(written) / 2))
    near = ndimage.binary_dilation(drawn > 0.3 * float(drawn.max()), iterations=reach)
    return float((ink & near).sum()) >= PEN_KEEPS * float(ink.sum())


def render(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """One random world picture of a 28x28 MNIST digit: `draw_page`, then `photo_effects`. About one picture in
    seven is a clean scan."""
    page, look = draw_page(digit, rng)
    return photo_effects(page, rng, look=look)


# ------------------------------------------------------------------------ what the net sees, in bulk


def ideal_view(ink: np.ndarray) -> np.ndarray:
    """What a flawless preprocessing would make of a drawing of ink (float [H, W], 1 = ink): the ink cut to its box,
    scaled into MNIST's 20-px box, centred by mass in 28x28. Float [28, 28] in [0, 1]; zeros for a blank drawing."""
    top = float(ink.max())
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    if top <= 0:
        return out
    ink = _trim(ink / top, 0.3)  # faint fine lines count as ink too: only their shape matters here
    scale = DIGIT_BOX / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    small = _resize(ink, size, Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR)
    top, left = (IMAGE_SIZE - size[1]) // 2, (IMAGE_SIZE - size[0]) // 2
    out[top : top + size[1], left : left + size[0]] = np.clip(small, 0, 1)
    cy, cx = ndimage.center_of_mass(out)
    return ndimage.shift(out, (round(IMAGE_SIZE / 2 - 0.5 - cy), round(IMAGE_SIZE / 2 - 0.5 - cx)), order=0)


def agreement(view: np.ndarray, ink: np.ndarray) -> float:
    """How well a view (uint8 [28, 28]) shows the drawing it came from, in [0, 1]: the smaller of the share of the
    drawing's ink that the view covers and the share of the view's ink that lies on the drawing, each within 2 px
    (pens differ: `to_mnist` thickens fine lines). Shading or texture read as ink, or strokes lost, lower it."""
    ideal, seen = ideal_view(ink), np.asarray(view, dtype=np.float32) / 255
    near_ideal = ndimage.binary_dilation(ideal > 0.2, iterations=2)
    near_seen = ndimage.binary_dilation(seen > 0.3, iterations=2)
    covered = float((ideal * near_seen).sum()) / max(float(ideal.sum()), 1e-6)
    on_drawing = float((seen * near_ideal).sum()) / max(float(seen.sum()), 1e-6)
    return min(covered, on_drawing)


def to_view(picture: Image.Image | np.ndarray) -> np.ndarray | None:
    """What `predict` hands the net for this picture, as uint8 [28, 28]; None when preprocessing refuses it."""
    try:
        x = to_mnist(picture)
    except PreprocessError:
        return None
    return (x * 255 + 0.5).astype(np.uint8)


def _pictures(images: np.ndarray, seed: int, chunk: int) -> Iterator[tuple[np.ndarray, str, Image.Image]]:
    """The images of chunk `chunk`, in order, each drawn as its world picture from the chunk's own seed: (drawing,
    look, picture). The one place that draws a chunk: `_render_chunk` views the pictures, `redraw` draws them again."""
    rng = np.random.default_rng([seed, chunk])
    for digit in images:
        page, look = draw_page(digit, rng)
        yield page, look, photo_effects(page, rng, look=look)


def _render_chunk(task: tuple[np.ndarray, int, int]) -> tuple[np.ndarray, np.ndarray]:
    images, seed, index = task
    views = np.zeros((len(images), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    status = np.full(len(images), REFUSED, np.uint8)
    for i, (page, _, picture) in enumerate(_pictures(images, seed, index)):
        view = to_view(picture)
        if view is not None:
            views[i] = view
            status[i] = READ if agreement(view, page) >= READABLE else LOST
    return views, status


def redraw(images: np.ndarray, seed: int, indices: Sequence[int]) -> dict[int, tuple[np.ndarray, str, np.ndarray]]:
    """The drawing (float [H, W], 1 = ink), look and picture behind each of the views `indices` of
    `world_views(images, seed)`, drawn again as `_render_chunk` drew them (the cache keeps only the views): to trace a
    view back through the world's stages (benchmarks/world_mistakes.py). Each chunk holding one is drawn from its
    seed as far as the last index wanted."""
    out: dict[int, tuple[np.ndarray, str, np.ndarray]] = {}
    wanted = sorted(set(int(i) for i in indices))
    for chunk in sorted({i // CHUNK for i in wanted}):
        first, last = chunk * CHUNK, max(i for i in wanted if i // CHUNK == chunk)
        for i, drawn in enumerate(_pictures(images[first : last + 1], seed, chunk), start=first):
            if i in wanted:
                out[i] = drawn
    return out


def run_chunks(fn: Callable, tasks: list, workers: int, what: str = "") -> list:
    """fn over tasks, in a pool of `workers` processes when there are several (results in task order). With `what`
    (e.g. "rendering 80000 world pictures"), a log line at every tenth of the tasks done: drawing the guard's world
    takes minutes, and a run that prints nothing for ten minutes looks hung."""
    start, out = time.perf_counter(), []
    marks = {math.ceil(len(tasks) * k / 10): k for k in range(1, 11)} if what and len(tasks) >= PROGRESS_TASKS else {}
    with contextlib.ExitStack() as stack:
        if workers <= 1 or len(tasks) <= 1:
            results = map(fn, tasks)
        else:
            pool = stack.enter_context(multiprocessing.get_context().Pool(min(workers, len(tasks))))
            results = pool.imap(fn, tasks, chunksize=1)
        for result in results:
            out.append(result)
            if len(out) in marks:
                took = time.perf_counter() - start
                left = took * (len(tasks) - len(out)) / len(out)
                log.info("%s: %d%% in %.1f min, about %.1f min left", what, 10 * marks[len(out)], took / 60, left / 60)
    return out


def world_views(images: np.ndarray | torch.Tensor, seed: int, workers: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image (uint8 [N, 28, 28]) rendered once as a world picture (`render`) and viewed through `to_mnist`:
    views uint8 [N, 28, 28] and status uint8 [N]: READ (the view shows the digit), LOST (preprocessing lost the
    digit: the view's `agreement` with the drawing is under READABLE, e.g. shading or paper read as ink; never to be
    taught as the digit, but a user's picture can come out so, and the guard must refuse it) or REFUSED (to_mnist
    refused the picture; a black view). Chunk i of CHUNK images draws from seed (seed, i), so the result is the same
    for any number of workers."""
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    tasks = [(arr[s : s + CHUNK], seed, i) for i, s in enumerate(range(0, len(arr), CHUNK))]
    parts = run_chunks(_render_chunk, tasks, workers, what=f"rendering {len(arr)} world pictures")
    if not parts:
        return torch.zeros((0, IMAGE_SIZE, IMAGE_SIZE), dtype=torch.uint8), torch.zeros(0, dtype=torch.uint8)
    views = np.concatenate([v for v, _ in parts])
    status = np.concatenate([k for _, k in parts])
    return torch.from_numpy(views), torch.from_numpy(status)


def digest(array: np.ndarray | torch.Tensor) -> str:
    """A short content digest of an array (shape and bytes): part of a cache key."""
    arr = np.ascontiguousarray(array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else array)
    h = hashlib.sha256(str((arr.shape, arr.dtype.str)).encode())
    h.update(arr.tobytes())
    return h.hexdigest()[:16]


def _payload_sha(tensors: dict[str, torch.Tensor], key: str) -> str:
    """A checksum of the tensors and of the file's name, its key: a whole cache file of another key (another seed's,
    copied or renamed by hand) fails it. A checksum, not a signature: it catches accidents, not a forger."""
    h = hashlib.sha256(key.encode())
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(digest(tensors[name]).encode())
    return h.hexdigest()


def cached(
    path: Path,
    make: Callable[[], dict[str, torch.Tensor]],
    expect: dict[str, tuple[tuple[int, ...] | None, torch.dtype]] | None = None,
) -> dict[str, torch.Tensor]:
    """The tensors stored at `path` if the file is whole (its recorded checksum matches) and holds what `expect`
    says ({name: (shape or None, dtype)}), else `make()` stored there atomically (a temporary file in the same
    folder, then os.replace: a crash never leaves half a file; files.atomic_write). A data dir that cannot take the file
    (read-only, full) leaves the views uncached, with a warning."""
    if path.exists() and not path.is_file():  # a pipe would block the load for ever, a device never end it
        log.warning("cache file %s is not a regular file; rendering it again", path)
    elif path.exists():
        try:
            stored = torch.load(path, weights_only=True)
            tensors = {k: v for k, v in stored.items() if k != "sha256"}
            fits = all(
                name in tensors and tensors[name].dtype == dtype and shape in (None, tuple(tensors[name].shape))
                for name, (shape, dtype) in (expect or {}).items()
            )
            if stored["sha256"] == _payload_sha(tensors, path.name) and fits:
                return tensors
            log.warning("cache file %s fails its checksum or holds other tensors; rendering it again", path)
        except Exception as exc:  # noqa: BLE001 - any unreadable cache file is rebuilt, never trusted
            log.warning("cache file %s is unreadable (%s); rendering it again", path, str(exc)[:80])
    tensors = make()
    buffer = io.BytesIO()
    torch.save({**tensors, "sha256": _payload_sha(tensors, path.name)}, buffer)
    try:
        atomic_write(path, buffer.getbuffer())
    except OutputError as exc:  # a read-only or full data dir: the views serve this run, uncached
        log.warning("%s; the views are drawn for this run only", exc)
    return tensors


def cached_world_views(
    images: np.ndarray | torch.Tensor, seed: int, cache_dir: str | Path, workers: int = 2
) -> tuple[torch.Tensor, torch.Tensor]:
    """`world_views`, stored in `cache_dir` (e.g. <data_dir>/world/) under a key of RENDER_VERSION, PREPROCESS_VERSION,
    the seed and a digest of the images; a damaged or foreign file is rendered again, never trusted."""
    path = Path(cache_dir) / f"world_v{RENDER_VERSION}p{PREPROCESS_VERSION}_seed{seed}_{digest(images)}.pt"

    def make() -> dict[str, torch.Tensor]:
        log.info("rendering %d world pictures (seed %d) into %s", len(images), seed, path)
        views, status = world_views(images, seed, workers)
        return {"views": views, "status": status}

    n = len(images)
    out = cached(path, make, {"views": ((n, IMAGE_SIZE, IMAGE_SIZE), torch.uint8), "status": ((n,), torch.uint8)})
    return out["views"], out["status"]
