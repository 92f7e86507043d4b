"""How other hands write some digits that MNIST's writers (American, mostly) rarely write so: a 1 with a flag, and
with a foot, as much of Europe writes it, and a 7 crossed through its stem. Drawn by code onto MNIST digits, before
the world draws them (`data.world_views`), so that the guard learns to read them, or to refuse them, rather than to
read a flagged 1 as a sure 7 (benchmarks/other_hands.py). Some flags are drawn long and shallow, as a 7's bar: such a
1 is marked ambiguous, to be taught as a picture to refuse (`data.world_views`), not as a 1 nor as a 7.

    restyle(images, labels, seed) -> (images, ambiguous)    some 1s flagged (some also footed, some ambiguous), some 7s
                                                            crossed; the rest as given
    flag_one(digit, rng, foot=None, length=FLAG_LENGTH, angle=FLAG_ANGLE_DEG)    one 1, flagged (ranges: the world's)
    cross_seven(digit, rng)     one 7, crossed unless the bar would close a loop

Strokes are drawn 8x larger than MNIST's pixels, then shrunk by averaging (MNIST's digits were anti-aliased so) and
laid over the digit, whose own pixels are kept, at the digit's own stroke width (`preprocess.stroke_width`).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from digit_lit.constants import IMAGE_SIZE
from digit_lit.preprocess import holes, stroke_width

# One table, one source of truth. Lengths are shares of the digit's ink height h.
P_FLAG = 0.4  # share of 1s written with a flag: a stroke down to the left from the top of the stem ...
FLAG_LENGTH = (0.2, 0.35)  # ... this long ...
# ... this far below horizontal. A 7's bar also runs left from its stem's top, only level: a long flag near 30 degrees
# reads as a 7 to a person too; such flags were all the flagged 1s a guard read as sure 7s (docs/guard_runs.md:
# guard_loops)
FLAG_ANGLE_DEG = (40.0, 60.0)
# ... and this share of flagged 1s (never footed: a foot tells a 1) gets a flag as long and as shallow as a short 7's
# bar instead: read as a 1 or as a 7 it is a guess, so it is marked ambiguous and taught towards a uniform belief.
# Neither range draws 32-40 degrees: a gap so the flags taught as 1s and those taught as doubt do not touch (with no
# gap the guard doubted every flag; docs/guard_runs.md: guard_amb)
P_AMBIGUOUS = 0.25
AMBIGUOUS_LENGTH = (0.35, 0.45)
AMBIGUOUS_ANGLE_DEG = (20.0, 32.0)
P_FOOT = 0.4  # share of flagged 1s that also stand on a foot: a level stroke centred under the stem ...
FOOT_HALF = (0.15, 0.3)  # ... reaching this far to either side
P_CROSS = 0.3  # share of 7s crossed: a level stroke through the stem ...
CROSS_AT = (0.45, 0.6)  # ... this far down from the top ...
CROSS_HALF = (0.15, 0.25)  # ... reaching this far to either side of the stem
LOOP_INK = 64  # a crossbar that closes a loop in the ink at this level (a quarter strength) makes the 7 a 9: not drawn
SCALE = 8  # drawn this many times larger than MNIST, then averaged down
STREAM = 7  # the restyling's own random stream beside the world's: seed (world seed, STREAM, image index)


def _ink(digit: np.ndarray) -> tuple[np.ndarray, float, float, float] | None:
    """The digit's ink mask (over half strength), the top and bottom rows of its ink and the width of the strokes to
    add, the ink's own (`preprocess.stroke_width`, in MNIST px): a flag heavier than its stem is a tell no writer
    gives, and the guard would learn it. None if it has no ink."""
    ink = np.asarray(digit) > 127
    if not ink.any():
        return None
    rows = np.flatnonzero(ink.any(1))
    return ink, float(rows[0]), float(rows[-1]), stroke_width(ink)


def _with_strokes(digit: np.ndarray, width: float, lines: list[tuple[float, float, float, float]]) -> np.ndarray:
    """The digit (uint8 [28, 28]) with straight round-ended strokes (x0, y0, x1, y1 in MNIST px, pixel centres at
    integers) of `width` px added: drawn SCALE times larger and averaged down (anti-aliased, as MNIST's strokes are),
    then laid over the digit, whose own pixels are kept."""
    canvas = Image.new("L", (IMAGE_SIZE * SCALE,) * 2, 0)
    draw = ImageDraw.Draw(canvas)
    r = width * SCALE / 2
    for line in lines:
        x0, y0, x1, y1 = ((v + 0.5) * SCALE for v in line)
        draw.line([(x0, y0), (x1, y1)], fill=255, width=max(1, round(2 * r)))
        for x, y in ((x0, y0), (x1, y1)):
            draw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    strokes = np.asarray(canvas.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BOX), np.uint8)
    return np.maximum(np.asarray(digit, np.uint8), strokes)


def _row_centre(ink: np.ndarray, y: float, band: float) -> float:
    """The mean x of the ink within `band` rows of row y (the stem's x there)."""
    ys, xs = np.nonzero(ink)
    near = np.abs(ys - y) <= band
    return float(xs[near].mean()) if near.any() else float(xs.mean())


def flag_one(
    digit: np.ndarray,
    rng: np.random.Generator,
    foot: bool | None = None,
    length: tuple[float, float] = FLAG_LENGTH,
    angle: tuple[float, float] = FLAG_ANGLE_DEG,
) -> np.ndarray:
    """A 1 (uint8 [28, 28]) with a flag from the top of its stem, `length` of its height long at `angle` degrees below
    horizontal (ranges; the world's by default), and a foot (`foot`; None: drawn at P_FOOT)."""
    found = _ink(digit)
    if found is None:
        return np.asarray(digit, np.uint8)
    ink, top, bottom, width = found
    h = bottom - top
    x_top = _row_centre(ink, top, 0.05 * h)
    size, turn = rng.uniform(*length) * h, np.deg2rad(rng.uniform(*angle))
    lines = [(x_top, top, x_top - size * np.cos(turn), top + size * np.sin(turn))]
    if foot is None:
        foot = bool(rng.random() < P_FOOT)
    if foot:
        x_bottom, half = _row_centre(ink, bottom, 0.05 * h), rng.uniform(*FOOT_HALF) * h
        lines.append((x_bottom - half, bottom, x_bottom + half, bottom))
    return _with_strokes(digit, width, lines)


def cross_seven(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 7 (uint8 [28, 28]) crossed by a level stroke through its stem; as written where the stroke would close a loop
    (`LOOP_INK`)."""
    found = _ink(digit)
    if found is None:
        return np.asarray(digit, np.uint8)
    ink, top, bottom, width = found
    h = bottom - top
    y = top + rng.uniform(*CROSS_AT) * h
    x, half = _row_centre(ink, y, 0.04 * h), rng.uniform(*CROSS_HALF) * h
    crossed = _with_strokes(digit, width, [(x - half, y, x + half, y)])
    # a 7 whose bar curls down at its left end gets a loop from the crossbar: a 9 that no writer of a crossed 7 draws
    return np.asarray(digit, np.uint8) if _loop_px(crossed) > _loop_px(digit) else crossed


def _loop_px(digit: np.ndarray) -> int:
    """How many paper pixels the ink (over LOOP_INK) encloses."""
    return int(holes(np.asarray(digit) > LOOP_INK).sum())


def restyle(images: torch.Tensor, labels: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 [N, 28, 28] digits with some 1s flagged (P_FLAG; of them P_AMBIGUOUS ambiguously, the others P_FOOT also
    footed) and some 7s crossed (P_CROSS); the others as given; and bool [N]: the ambiguous 1s. Image i draws from
    seed (seed, STREAM, i): the same digits come out the same."""
    out = images.clone()
    ambiguous = torch.zeros(len(images), dtype=torch.bool)
    labels_np = labels.numpy()
    for i in np.flatnonzero((labels_np == 1) | (labels_np == 7)):
        rng = np.random.default_rng([seed, STREAM, int(i)])
        if labels_np[i] == 1 and rng.random() < P_FLAG:
            if rng.random() < P_AMBIGUOUS:
                drawn = flag_one(images[i].numpy(), rng, False, AMBIGUOUS_LENGTH, AMBIGUOUS_ANGLE_DEG)
                ambiguous[i] = True
            else:
                drawn = flag_one(images[i].numpy(), rng)
            out[i] = torch.from_numpy(drawn.copy())
        elif labels_np[i] == 7 and rng.random() < P_CROSS:
            out[i] = torch.from_numpy(cross_seven(images[i].numpy(), rng).copy())
    return out, ambiguous
