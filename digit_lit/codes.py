"""Pictures of handwritten codes ("4 8 2 1") made from MNIST digits, with the box of every digit: to measure and test
the code reader (`digit_lit.detect`).

Each digit is reshaped by the world renderer's hand and pen (one writer per code: one slant, one pen), sized and set
on a common baseline with jitter, spaced by the code's gap kind, and the line is photographed by the world renderer's
`photo_effects` (paper, ink colour, light, noise, blur, low resolution, JPEG). Figures are reported on the official
test digits; tuning uses the validation digits only (the split `MNISTDataModule` carves from the training set).

    code_digits(data_dir, "test")          the digits a code is drawn from (images uint8 [N, 28, 28], labels)
    render_code(images, labels, rng, ...)  one picture of a code, its digits and their boxes
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from PIL import Image

from digit_lit import world
from digit_lit.data import load_split, split_train_val

# The renderer's random ranges, one table. Lengths are relative to the code's digit height h unless noted.
LENGTHS = (3, 10)  # digits per code (inclusive)
GAP_KINDS = ("separate", "touching", "overlapping")
DIGIT_HEIGHT_PX = (28, 90)  # h in picture px, log-uniform
SIZE_JITTER = (0.88, 1.12)  # each digit's height over h
BASELINE_JITTER = 0.06  # +- vertical offset of each digit
LINE_TILT = 0.03  # +- slope of the baseline (rise over run): a line written or photographed askew
SLANT_JITTER = 0.08  # +- each digit's slant around the writer's (world.SHEAR is the writer's range)
ANGLE_DEG = (-5.0, 5.0)  # each digit's own rotation (the page's tilt is LINE_TILT)
ASPECT_JITTER = (0.9, 1.1)  # each digit's width stretch around the writer's (world.ASPECT)
GAP = (0.1, 0.6)  # separate digits: room between the closest points of two neighbours
MIN_GAP_PX = 3  # ... never less, so blur and JPEG do not bridge it
OVERLAP = (0.1, 0.3)  # overlapping digits: how far the next digit reaches past touching, over the narrower one's width
P_PAIR = 0.5  # in a touching (overlapping) code each neighbour pair touches (overlaps) with this P; at least one does
MARGIN = (0.3, 1.5)  # room around the line, each side
LOOKS = {k: p for k, p in world.LOOKS.items() if k != "tiny"}  # a whole line is never an 8x8 scan
INK_LEVEL = 0.5  # a pixel at least this share of a digit's darkest is its stroke (boxes, touching): fine pens are faint
SOFT_LEVEL = 0.05  # ... and this is where its soft edge ends (separate digits keep their edges apart)


@dataclass
class Code:
    """A rendered code: the picture, its digits as a string, each digit's box [x0, y0, x1, y1] in picture px (x1, y1
    exclusive), the code's gap kind, the kind of each neighbour pair, the photo's look (world.LOOKS) and the drawing
    before the photo (float [H, W], 1 = ink, in drawing px: a low-resolution photo is smaller)."""

    image: Image.Image
    digits: str
    boxes: list[tuple[int, int, int, int]]
    kind: str
    gaps: list[str] = field(default_factory=list)
    look: str = "clean"
    ink: np.ndarray | None = None


def code_digits(data_dir: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The digits codes are drawn from: "test" (official test set: reported figures) or "val" (the validation split
    training carves from the training set, with the same size and seed: tuning)."""
    if split == "test":
        images, labels = load_split(data_dir, train=False, download=False)
        return images.numpy(), labels.numpy()
    if split != "val":
        raise ValueError(f"split={split!r}: use 'test' or 'val'")
    conf = OmegaConf.load(Path(__file__).parent / "conf" / "data" / "mnist.yaml")  # the split training uses
    images, labels = load_split(data_dir, train=True, download=False)
    _, val = split_train_val(len(labels), int(conf.val_size), int(conf.split_seed))
    return images[val].numpy(), labels[val].numpy()


def _u(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(*bounds))


def _pick(table: dict[str, float], rng: np.random.Generator) -> str:
    """A key of {key: probability}, drawn by its probability."""
    p = np.array(list(table.values()))
    return list(table)[int(rng.choice(len(p), p=p / p.sum()))]


def _tile(digit: np.ndarray, rng: np.random.Generator, height: int, hand: dict[str, float]) -> np.ndarray:
    """One digit in the code's hand and pen, its ink `height` px tall, trimmed to its ink."""
    drawn = world.handwriting(
        digit,
        rng,
        shear=hand["shear"] + _u(rng, (-SLANT_JITTER, SLANT_JITTER)),
        angle=_u(rng, ANGLE_DEG),
        aspect=hand["aspect"] * _u(rng, ASPECT_JITTER),
    )
    # one pen for the whole line (one writer), never `world.keeps_shape`'s natural one for a single digit: with it,
    # a code of fine strokes had one digit in a heavier pen, and was read as that digit alone (the others fell under
    # the line's ink level; the code reader now reads them at their own, README: Reading a whole code)
    drawn = world.pen(drawn, rng, width=hand["pen"])
    placed = world.place(drawn, rng, page=(height, 4 * height), height=height, top_left=(0, 0))
    cols = np.flatnonzero(placed.max(0) > SOFT_LEVEL)
    return placed[:, cols[0] : cols[-1] + 1] if len(cols) else placed[:, :1]


def _edges(tile: np.ndarray, top: int, rows: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Per canvas row (NaN where no ink): the leftmost and rightmost ink column of a tile placed at row `top`."""
    left, right = np.full(rows, np.nan), np.full(rows, np.nan)
    for r, row in enumerate(tile > level * tile.max()):
        cols = np.flatnonzero(row)
        if len(cols):
            left[top + r], right[top + r] = cols[0], cols[-1]
    return left, right


def _next_x(
    prev: tuple[np.ndarray, int, int],
    tile: np.ndarray,
    top: int,
    rows: int,
    gap: str,
    h: float,
    rng: np.random.Generator,
) -> int:
    """Where the next digit starts so that it is separate from, touches or overlaps the previous one."""
    ptile, ptop, px = prev
    level = INK_LEVEL if gap != "separate" else SOFT_LEVEL
    _, pright = _edges(ptile, ptop, rows, level)
    left, _ = _edges(tile, top, rows, level)
    reach = px + pright - left  # per row: the x at which the two inks meet in that row
    meet = float(np.nanmax(reach)) if np.isfinite(reach).any() else float(px + ptile.shape[1])
    if gap == "separate":
        return round(meet + 1 + max(MIN_GAP_PX, _u(rng, GAP) * h))
    if gap == "touching":
        return round(meet)
    # slightly: relative to the narrower digit, so a thin 1 is crossed, not swallowed
    return round(meet - _u(rng, OVERLAP) * min(ptile.shape[1], tile.shape[1]))


def _gaps(n: int, kind: str, rng: np.random.Generator) -> list[str]:
    if kind == "separate" or n < 2:
        return ["separate"] * (n - 1)
    gaps = [kind if rng.random() < P_PAIR else "separate" for _ in range(n - 1)]
    gaps[int(rng.integers(0, n - 1))] = kind
    return gaps


def render_code(
    images: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    length: int | None = None,
    kind: str | None = None,
    look: str | None = None,
) -> Code:
    """One picture of a code of `length` digits drawn at random from `images` (uint8 [N, 28, 28]) with the given gap
    kind and photo look (drawn when None)."""
    length = int(rng.integers(LENGTHS[0], LENGTHS[1] + 1)) if length is None else length
    kind = GAP_KINDS[int(rng.integers(0, len(GAP_KINDS)))] if kind is None else kind
    if kind not in GAP_KINDS:
        raise ValueError(f"kind={kind!r}: use one of {GAP_KINDS}")
    look = _pick(LOOKS, rng) if look is None else look
    pick = rng.integers(0, len(labels), length)
    h = float(np.exp(_u(rng, tuple(np.log(DIGIT_HEIGHT_PX)))))
    pen_kind = _pick(world.PEN_KINDS, rng)
    hand = {
        "shear": _u(rng, world.SHEAR),
        "aspect": float(np.exp(_u(rng, tuple(np.log(world.ASPECT))))),
        "pen": _u(rng, world.PEN_WIDTH[pen_kind]),
    }
    tiles = [_tile(images[i], rng, max(8, round(h * _u(rng, SIZE_JITTER))), hand) for i in pick]
    gaps = _gaps(length, kind, rng)
    # rows: a band tall enough for the jitter and the tilt over the whole line (its width is at most ~1.5 h a digit)
    tilt = _u(rng, (-LINE_TILT, LINE_TILT))
    slack = round(BASELINE_JITTER * h + abs(tilt) * 1.5 * h * length) + 1
    tallest = max(t.shape[0] for t in tiles)
    rows = tallest + 2 * slack
    placed: list[tuple[np.ndarray, int, int]] = []
    x = 0
    for i, tile in enumerate(tiles):
        bottom = (rows + tallest) / 2 + tilt * x + _u(rng, (-BASELINE_JITTER, BASELINE_JITTER)) * h
        top = int(np.clip(round(bottom - tile.shape[0]), 0, rows - tile.shape[0]))
        if i:
            x = _next_x(placed[-1], tile, top, rows, gaps[i - 1], h, rng)
        placed.append((tile, top, x))
    x0 = min(p[2] for p in placed)
    width = max(p[2] + p[0].shape[1] for p in placed) - x0
    mt, mb, ml, mr = (round(_u(rng, MARGIN) * h) for _ in range(4))
    page = np.zeros((rows + mt + mb, width + ml + mr), np.float32)
    boxes = []
    for tile, top, x in placed:
        y, xx = top + mt, x - x0 + ml
        region = page[y : y + tile.shape[0], xx : xx + tile.shape[1]]
        np.maximum(region, tile, out=region)
        stroke = tile > INK_LEVEL * tile.max()
        r, c = np.flatnonzero(stroke.any(1)), np.flatnonzero(stroke.any(0))
        boxes.append((xx + int(c[0]), y + int(r[0]), xx + int(c[-1]) + 1, y + int(r[-1]) + 1))
    picture = world.photo_effects(page, rng, look=look)
    sx, sy = picture.size[0] / page.shape[1], picture.size[1] / page.shape[0]  # low resolution keeps it small
    boxes = [(round(a * sx), round(b * sy), round(c * sx), round(d * sy)) for a, b, c, d in boxes]
    return Code(picture, "".join(str(int(labels[i])) for i in pick), boxes, kind, gaps, look, page)
