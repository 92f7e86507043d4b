"""Turn a real-world picture of one handwritten digit into an MNIST-like 28x28 image.

MNIST's recipe: ink only (white on black), cropped to the ink, scaled to fit a 20x20 box keeping the aspect ratio,
pasted into 28x28 so the centre of mass sits at the centre. Real pictures add what MNIST never had: dark or coloured
ink on white or tinted paper, light ink on dark boards, uneven light, notebook lines, specks, any size (8x8 scans
too), thin pens, phone photos stored turned, a sheet photographed on a desk. `upright` turns a picture as its EXIF
orientation says, `ink` finds the ink (digit_lit/paper.py: a sheet on a desk, polarity and the paper's shade;
digit_lit/ruled.py: printed lines), `one_digit` picks the digit among the marks, `frame` frames it as MNIST did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from PIL import ExifTags, Image, ImageOps
from scipy import ndimage

from digit_lit import paper, ruled
from digit_lit.constants import DIGIT_BOX, IMAGE_SIZE

# Bump whenever a change here alters what `to_mnist` returns: cached world views (digit_lit/world.py) carry it.
PREPROCESS_VERSION = 6
MAX_PIXELS = 40_000_000  # decoding more than this is refused before any pixel is read
WORK_SIDE = 192  # pictures are shrunk to this longest side first: plenty for a 20-px digit, and fast
MIN_SIDE = 64  # ... and smaller ones enlarged (bicubic) to this: an 8x8 scan's strokes get pixels to be measured in
CUT_TO_DIGIT = 20  # a picture this long or less is cut to its digit (8x8 scans, crops): ink fills it, light is even
EDGE_TO_EDGE = 0.03  # ... and so is one whose ink reaches this share of its side from two opposite edges (enlarged)
MAX_NATIVE = 384  # pictures up to this long are checked for an enlargement by repeated pixels (`native`)
MNIST_STROKE = 2.5  # typical MNIST stroke width, in pixels of the 20x20 box
MIN_SHARE = 0.05  # a mark with less ink (area x contrast) than this share of the heaviest is a speck ...
MIN_MARK = 4  # ... and so is one of fewer pixels than this (dust, salt-and-pepper noise)
NOISE_SIGMAS = 4.0  # ink is darker than the paper by this many noise levels of a pixel ...
MIN_CONTRAST = 0.04  # ... and by at least this share of the paper's light
STROKE_LEVEL = 0.5  # the ink mask: contrast above this share of the digit's typical contrast; below is its soft edge
# ... and in a picture cut to its digit (a tiny scan: no paper, no noise), where a stroke's block can hold as little
# ink as a quarter of the strongest's: at 0.5 a 7's bar or a 3's arm was cut off (read as a 1, a 5)
CUT_STROKE_LEVEL = 0.25
REACH = 0.2  # one digit: a mark within this share of the digit's size from it is part of it (a 5's bar, a broken line)
SPECK = 0.25  # ... one further away stays only when at least this share of the digit's size (a second digit, a stroke)
LINE_THIN = 0.25  # a line under the digit: a large mark this many times as tall as it is wide, or flatter ...
LINE_LONG = 0.5  # ... at least this share of the digit's width, wholly below it (not a 5's bar: that is above)
LOOP_HOLE = 0.6  # a mark inside a loop whose hole fills this share of its box: a drawn circle or cell (a thick 0 with
# a faint halo of shading around it, which blur and dim light make, has a smaller hole: the halo is no circle)
ROWS, COLS = (g.astype(float) for g in np.ogrid[:IMAGE_SIZE, :IMAGE_SIZE])  # frame's centre of mass
SOFT_EDGE = ndimage.iterate_structure(ndimage.generate_binary_structure(2, 1), 2)  # 2 px around the ink, as a diamond


# a picture of more than 8 bits is read over the smallest of these full scales that holds its levels (a 16-bit one
# over 0-65535): 0-1 (a mask, or floats as images in [0, 1]), 0-255, 0-65535
DEEP_SCALES = (1.0, 255.0, 65535.0)
DEEP_RULE = "save it as an 8- or 16-bit picture (or give levels 0-255, or floats in 0-1)"
CIRCLED = "a circle or a box drawn around the digit: write the digit alone, or crop the picture inside the frame"
# the drawn pixels of a transparent picture whose rim's median grey level lies above this share of them (or below
# 1 - it) keep the smooth edge of a paper made transparent: light (dark) paper
RIM_RANK = 0.8
RIM_SPECK = 0.02  # ... among drawn marks of at least this share of the largest one's pixels
MULTI_FRAME = "picture has more than one frame (an animation or a multi-page file): save the frame to read alone"
# a digit cut by the picture's edge (photographed half outside the frame, cropped into): its stroke crosses the border
# at full strength and goes on inwards, where a whole digit's stroke at most ends at it. The bottom of a 7 so cut is a
# sure 1, of an 8 a sure 0 (benchmarks/marks_around.py, "cut by the frame"); a picture cut to its digit (`Ink.cut`) is
# left alone. These settings and the ring's below are chosen on validation digits: benchmarks/edge_checks.py
CROSS_STRONG = 0.8  # a stroke's body: soft ink at least this strong (its soft edge lies below)
CROSS_RUN = (0.4, 3.5)  # it meets the border in a run of this many stroke widths (a tip, or a slanted stroke) ...
CROSS_DEPTH = 1.5  # ... and goes on inwards: strong ink this many stroke widths in from the border, beside the run
# a circle drawn around the digit and touching it is one mark with it, which the check for a digit inside a loop
# (one_digit) cannot see: the loop filled in, the digit's strokes lie deep inside it, where a 0's loop holds no ink
# and an 8's crossing is a small blob at its waist. Such pictures were read as a sure 0
RING_DEPTH = 1.5  # ink deeper than this many stroke widths inside the filled-in mark ...
RING_SHARE = 0.05  # ... holding at least this share of its ink ...
RING_REACH = 0.5  # ... and spanning at least this share of the filled-in mark's size: a digit inside, not a crossing
RINGED = (
    "a loop with a stroke or a digit inside it (a digit circled, or a 0 slashed or barred, which reads as a circled "
    "1): write the digit alone, without a circle or a slash"
)
RUNS_OFF = (
    "ink runs off the picture's edge (a digit cut by the frame, or a stroke reaching in): photograph, crop or draw the "
    "digit whole, with paper around it"
)
UNDERLINED = "a line under the digit (an underline, a ruler's edge): write the digit alone, or crop the line off"


class PreprocessError(ValueError):
    """The picture cannot be read as a digit (blank, one colour, too large...)."""


def _grey(img: Image.Image) -> np.ndarray:
    """The picture's grey levels (ITU-R 601 luma, PIL's "L") as floats [H, W] in [0, 1]; transparent parts become paper
    (canvas drawings keep the ink opaque): white, or black under light strokes on a clear canvas. Inks differ from
    their paper in lightness: one that does not is unreadable in a grey photo too, and one plane is a third of the
    work of three."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, _paper_under(rgba)), rgba)
    elif img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _deep_levels(img)
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def _deep_levels(img: Image.Image) -> np.ndarray:
    """The levels of a picture of more than 8 bits (16-bit, 32-bit integers, floats) in [0, 1] over the full scale
    they are stored in, as a viewer shows them: 0-65535 for a 16-bit picture, else the first of DEEP_SCALES that holds
    them (a mask of 0 and 1, 8-bit levels, 16-bit levels). Not each picture's own range stretched to black and
    white: that showed a 7 one level darker than its 16-bit paper, invisible to a person, as a sure black-on-white 7."""
    arr = np.asarray(img, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise PreprocessError(f"picture levels that are not numbers (NaN or infinite); {DEEP_RULE}")
    low, high = float(arr.min()), float(arr.max())
    scale = 65535.0 if img.mode.startswith("I;16") else next((s for s in DEEP_SCALES if high <= s), 0.0)
    if low < 0 or not scale:
        raise PreprocessError(f"picture levels run from {low:g} to {high:g}, outside 0-65535; {DEEP_RULE}")
    return (arr / scale).astype(np.float32)


def upright(img: Image.Image) -> Image.Image:
    """The picture as viewers show it: turned by its EXIF orientation. A phone stores a photo as its sensor lay and
    says in EXIF how to turn it for showing: read as stored, a 6 photographed with the phone upside down is a 9."""
    if img.getexif().get(ExifTags.Base.Orientation, 1) == 1:
        return img
    return ImageOps.exif_transpose(img)


def _from_array(image: object) -> Image.Image:
    """An array (or nested lists) as PIL reads it: H x W grey levels (any number type, read over the first of
    0-1, 0-255 and 0-65535 that holds them: `_deep_levels`; bools are ink) or H x W x 3 or 4 colour (uint8). Raises
    PreprocessError."""
    if isinstance(image, (str, os.PathLike)):
        raise PreprocessError(f"{image} is a path, not a picture: open it first (PIL.Image.open), or use predict")
    rule = "give H x W grey levels (0-255, or floats in 0-1) or H x W x 3 colour (uint8)"
    try:
        arr = np.asarray(image)
    except ValueError:  # ragged nested lists
        raise PreprocessError(f"not a picture: rows of different lengths; {rule}") from None
    given = f"an array of shape {arr.shape} and type {arr.dtype}"
    if arr.dtype.kind in "iu" and arr.dtype.itemsize == 8:  # Python ints become int64, which PIL has no mode for
        if arr.size and (arr.min() < np.iinfo(np.int32).min or arr.max() > np.iinfo(np.int32).max):
            raise PreprocessError(f"{given} holds levels beyond 32-bit integers; {rule}")
        arr = arr.astype(np.int32)
    elif arr.dtype.kind == "f" and arr.dtype.itemsize < 4:  # float16: PIL reads 32 and 64 bits
        arr = arr.astype(np.float32)
    try:
        return Image.fromarray(arr)
    except (TypeError, ValueError):
        raise PreprocessError(f"{given} is not a picture; {rule}") from None


def _paper_under(rgba: Image.Image) -> tuple[int, int, int, int]:
    """The paper to show a transparent picture on: white, unless it is a drawing on a clear canvas (mostly transparent)
    in light strokes (a dark-mode drawing app's white pen: on white those would vanish), or a light digit whose dark
    paper was made transparent. A paper made transparent leaves its smooth edge on a mark's rim, at one end of the
    mark's grey levels (RIM_RANK): light greys around a dark digit whose white paper was cleared (shown on black it
    read as its outline, a 9 as a sure 8), dark ones around a light digit whose black paper was. Each mark says so of
    itself, and the marks that do vote by their size: a patch of paper the tool left opaque (a shadowed band) is one
    grey through and says nothing. A pen on a clear canvas smooths its edge in the transparency, so no mark says so (a
    chalk's grain, a second colour, a fading stroke alike): then the strokes' own lightness says."""
    opaque = np.asarray(rgba.getchannel("A")) > 127
    # specks of a grainy paper that a remove-background tool left opaque are all rim, lighter and darker than the
    # paper: they hid the digit's own rim (a dark 1 so cleared went on black and read as a sure 8). Judged without them
    marks, n = ndimage.label(opaque, structure=np.ones((3, 3), bool))
    sizes = np.bincount(marks.ravel())
    sizes[0] = 0
    kept = sizes >= RIM_SPECK * sizes.max()
    drawn = kept[marks] if n else opaque
    if not drawn.any() or drawn.mean() >= 0.5:
        return (255, 255, 255, 255)
    grey = np.asarray(rgba.convert("L"))
    rim = drawn & ~ndimage.binary_erosion(drawn, structure=np.ones((3, 3), bool))
    light = dark = 0  # pixels of the marks whose rim lies at the light (dark) end of their greys
    for k, box in enumerate(ndimage.find_objects(marks), 1):
        if not kept[k]:
            continue
        mark = marks[box] == k
        levels = grey[box][mark]
        level = np.median(grey[box][mark & rim[box]])
        rank = (np.count_nonzero(levels < level) + 0.5 * np.count_nonzero(levels == level)) / levels.size
        light += levels.size * (rank >= RIM_RANK)
        dark += levels.size * (rank <= 1 - RIM_RANK)
    if light or dark:
        return (255, 255, 255, 255) if light >= dark else (0, 0, 0, 255)
    return (0, 0, 0, 255) if np.median(grey[drawn]) > 127 else (255, 255, 255, 255)


def _fit(img: Image.Image, side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The picture's grey levels [H, W] at working size, upright: shrunk (box filter) to `side` px on its longest side,
    or enlarged (bicubic: smooth strokes, no blocks) to MIN_SIDE when smaller; and the upright picture's size (w, h).
    Raises PreprocessError for unusable sizes."""
    w, h = img.size
    if w * h > MAX_PIXELS:  # before any pixel is decoded (turning a picture upright decodes it)
        raise PreprocessError(f"image is {w}x{h} pixels, over the {MAX_PIXELS // 1_000_000} MP limit; downscale it")
    # An animation or a multi-page file shows more than the one frame read here (a GIF's later frames, a scan's other
    # pages): which one holds the digit is the sender's to say. A phone's MPO JPEG is one photo (with previews): kept.
    if getattr(img, "is_animated", False) and img.format != "MPO":
        raise PreprocessError(MULTI_FRAME)
    img = native(upright(img))
    w, h = img.size
    if w < 8 or h < 8:
        raise PreprocessError(f"image is {w}x{h} pixels; a digit needs at least 8x8")
    scale = side / max(w, h)
    if scale < 1:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    grey = _grey(img)
    if min(grey.shape) < 8:
        raise PreprocessError(
            f"image is {w}x{h} pixels, too narrow for a digit once {side} px long; crop it to the digit"
        )
    if max(grey.shape) < MIN_SIDE:
        f = MIN_SIDE / max(grey.shape)
        size = (round(grey.shape[1] * f), round(grey.shape[0] * f))
        grey = np.clip(paper.resize(grey, size, Image.Resampling.BICUBIC), 0.0, 1.0)  # bicubic overshoots at edges
    return grey, (w, h)


def native(img: Image.Image) -> Image.Image:
    """A picture enlarged by repeating its pixels (nearest neighbour, by whole factors: an 8x8 scan shown at 64x64)
    as it was before: exactly, since every block is one pixel repeated. Read enlarged, its blocks' steps were taken
    for the strokes' shape (jagged, broken views). Any other picture is returned as it is."""
    if max(img.size) > MAX_NATIVE:
        return img
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[..., None]
    if min(a.shape[:2]) < 16:
        return img
    # blocks of two or more rows: the first row repeats, and of any three rows in a row two are the same (and so for
    # columns); a photo's or a drawing's are not, and most pictures stop at these few rows
    h, w = a.shape[0] // 2, a.shape[1] // 2
    if (a[0] != a[1]).any() or ((a[h - 1] != a[h]).any() and (a[h] != a[h + 1]).any()):
        return img
    if (a[:, 0] != a[:, 1]).any() or ((a[:, w - 1] != a[:, w]).any() and (a[:, w] != a[:, w + 1]).any()):
        return img
    factors = []
    for change in ((a[1:] != a[:-1]).any((1, 2)), (a[:, 1:] != a[:, :-1]).any((0, 2))):  # rows, columns
        runs = np.diff(np.concatenate([[0], np.flatnonzero(change) + 1, [len(change) + 1]]))
        factors.append(int(np.gcd.reduce(runs)))
    k_rows, k_cols = factors
    if min(k_rows, k_cols) < 2 or a.shape[0] // k_rows < 8 or a.shape[1] // k_cols < 8:
        return img
    small = img.resize((a.shape[1] // k_cols, a.shape[0] // k_rows), Image.Resampling.NEAREST)
    small.info = img.info  # transparency and the like
    return small


def noise_level(contrast: np.ndarray) -> float:
    """The noise of one pixel of a map (its standard deviation), from the differences of horizontal neighbours: they
    cancel the paper and the light, and strokes' edges are too few to move their median."""
    return 1.4826 * float(np.median(np.abs(np.diff(contrast, axis=1)))) / np.sqrt(2)


@dataclass(frozen=True)
class Ink:
    """A picture's ink at working resolution: `grey` in [0, 1] (soft strokes, strongest ink at 1), `mask` the ink kept
    (specks dropped), and `scale`, picture pixels per working pixel (to map boxes back onto the picture as it is
    shown: upright); `contrast` in [0, 1] and `marked`, the marks that are no specks (from the noise floor up), from
    which `faint` is made when asked: ink too faint for the level `grey` is cut at (a code's lighter digit, which
    `detect` reads at its own level)."""

    grey: np.ndarray
    mask: np.ndarray
    scale: float
    contrast: np.ndarray
    marked: np.ndarray
    cut: bool = False  # the picture was read as cut to its digit (a tiny scan, a tight crop): ink may reach its edges

    @cached_property
    def faint(self) -> np.ndarray:
        """The contrast of the marks that are no specks, 0 elsewhere (made here, not in `ink`: one digit never asks)."""
        return np.where(self.marked, self.contrast, 0.0)


def ink(
    image: Image.Image | np.ndarray, side: int = WORK_SIDE, min_share: float = MIN_SHARE, edge_to_edge: bool = True
) -> Ink:
    """The ink of a picture brought to `side` px on its longest side (small pictures to MIN_SIDE); marks with less ink
    (area x contrast) than `min_share` of the heaviest are specks and dust. Raises PreprocessError when there is no
    usable ink. A picture of CUT_TO_DIGIT px or less is cut to its digit, and so, with `edge_to_edge`, is one whose
    ink runs from edge to edge (one digit: a code's line, cropped tight, runs so too and keeps its paper).

    The ink is the contrast with the paper under it (`paper.contrast`, light ink turned dark first), printed lines
    taken out (`ruled.unrule`). Marks are cut at the noise floor, so a faint stroke stays whole; the mask keeps their
    pixels above half the heaviest mark's typical contrast, so a dark speck cannot set the level for a faint digit.
    """
    img = image if isinstance(image, Image.Image) else _from_array(image)
    grey, size = _fit(img, side)
    if float(grey.max() - grey.min()) < 0.08:
        raise PreprocessError("image is blank (one colour, no ink)")
    if max(size) <= CUT_TO_DIGIT:
        return _ink(grey, size, min_share, cut=True)
    found = _ink(grey, size, min_share, cut=False)
    if not edge_to_edge:
        return found
    # ink from edge to edge: a picture cut to its digit but larger (an 8x8 scan enlarged smoothly, a tight crop);
    # read as a picture with paper around the ink, its paper was misjudged and a tiny scan's faint strokes lost. The
    # marks' ink down to half the mask's level: a 7's light bar along the top edge is ink the mask itself cuts off
    reach = found.marked & (found.grey > 0)
    rows, cols = np.flatnonzero(reach.any(1)), np.flatnonzero(reach.any(0))
    margin = [EDGE_TO_EDGE * n for n in found.mask.shape]
    if (rows[0] <= margin[0] and rows[-1] >= found.mask.shape[0] - 1 - margin[0]) or (
        cols[0] <= margin[1] and cols[-1] >= found.mask.shape[1] - 1 - margin[1]
    ):
        return _ink(grey, size, min_share, cut=True)
    return found


def _ink(grey: np.ndarray, size: tuple[int, int], min_share: float, cut: bool) -> Ink:
    """`ink` of a picture at working size (`grey`, from a picture of `size`), `cut` to its digit or not."""
    on_sheet = None if cut else paper.sheet(grey)
    grey = grey if on_sheet is None else on_sheet  # a photo of a sheet on a desk: the desk covered by paper
    if paper.light_ink(grey, cut):
        grey = 1.0 - grey
    contrast = paper.contrast(grey, cut)
    noise = noise_level(contrast)
    if not cut:  # a picture cut to its digit has no room for printed lines beside it
        contrast = ruled.unrule(contrast, noise, pixel=max(1.0, contrast.shape[1] / size[0]))
    floor = max(float(np.median(contrast[::2, ::2])) + NOISE_SIGMAS * noise, MIN_CONTRAST)  # paper: most pixels
    distance = np.clip(contrast, 0.0, 1.0)
    marks, _ = ndimage.label(distance > floor, structure=np.ones((3, 3)))
    weight = np.bincount(marks.ravel(), weights=(distance - floor).ravel())  # [0] is the paper
    weight[0] = 0.0
    weight[np.bincount(marks.ravel()) < MIN_MARK] = 0.0
    if not weight.any():
        raise PreprocessError("no ink found: the image looks blank")
    typical = float(np.percentile(distance[marks == int(np.argmax(weight))], 90))
    level = max(floor, (CUT_STROKE_LEVEL if cut else STROKE_LEVEL) * typical)
    marked = ((weight > 0) & (weight >= min_share * weight.max()))[marks]  # every mark that is no speck
    keep = marked & (distance > level)
    if keep.sum() < 6:
        raise PreprocessError("no ink found: the image looks blank")
    # soft strokes: ink above half the level, strongest ink at 1
    strong = float(np.percentile(distance[keep], 90))
    soft = np.clip((distance - 0.5 * level) / max(strong - 0.5 * level, 1e-6), 0, 1)
    return Ink(soft, keep, size[0] / contrast.shape[1], distance, marked, cut)


def _gap(a: tuple[slice, slice], b: tuple[slice, slice]) -> int:
    """Pixels between two boxes (0 when they overlap or touch)."""
    return max(a[0].start - b[0].stop, b[0].start - a[0].stop, a[1].start - b[1].stop, b[1].start - a[1].stop, 0)


def _shape(box: tuple[slice, slice]) -> tuple[int, int]:
    """A box's rows and columns."""
    return box[0].stop - box[0].start, box[1].stop - box[1].start


def _extent(box: tuple[slice, slice]) -> int:
    return max(_shape(box))


def one_digit(found: Ink) -> Ink:
    """The digit among the marks of `found` (marks: the ink with its soft edge, so a faint stroke holds together): the
    heaviest mark by ink (area x contrast: a dark speck weighs less than a long faint stroke), the marks near it, and
    large marks anywhere (a second digit or a long stroke must reach the guard, which then refuses the picture). So
    a speck or dust away from the digit never stretches the crop. A large mark inside a loop of another (a digit
    circled, or in a printed cell) or a line under the digit is a PreprocessError: the guard read such pictures as
    sure digits (the loop as a 0, an underlined 4 as a 1; benchmarks/marks_around.py)."""
    marks, n = ndimage.label(found.grey > 0, structure=np.ones((3, 3)))
    if n <= 1:
        return found
    weight = ndimage.sum_labels(found.grey * found.mask, marks, index=np.arange(1, n + 1))
    boxes = ndimage.find_objects(marks)
    digit = boxes[int(np.argmax(weight))]
    size = _extent(digit)
    near = [k for k, box in enumerate(boxes, 1) if _gap(box, digit) <= REACH * size or _extent(box) >= SPECK * size]
    large = [k for k in near if weight[k - 1] > 0 and _extent(boxes[k - 1]) >= SPECK * size]
    for k in large:  # a circle or a cell drawn around the digit reads as a sure 0 of its own
        inner = [j for j in large if j != k and _inside(boxes[j - 1], boxes[k - 1])]
        if not inner:
            continue
        region = marks[boxes[k - 1]]
        hole = holes(region == k)
        if hole.mean() >= LOOP_HOLE and any(hole[region == j].all() for j in inner):
            raise PreprocessError(CIRCLED)
    for k in large:  # a line under the digit turns a 4 into a sure 1 and a 7 into a 2
        rows, cols = _shape(boxes[k - 1])
        if rows <= LINE_THIN * cols and any(
            j != k and boxes[j - 1][0].stop <= boxes[k - 1][0].start and cols >= LINE_LONG * _shape(boxes[j - 1])[1]
            for j in large
        ):
            raise PreprocessError(UNDERLINED)
    return replace(found, mask=found.mask & np.isin(marks, near))


def _inside(a: tuple[slice, slice], b: tuple[slice, slice]) -> bool:
    """Box a lies within box b."""
    return b[0].start <= a[0].start and a[0].stop <= b[0].stop and b[1].start <= a[1].start and a[1].stop <= b[1].stop


def holes(mark: np.ndarray) -> np.ndarray:
    """The holes of a mark's ink (a boolean mask): where a mark wholly inside them lies inside a loop of it. No digit
    holds another mark so (a speck in a 0's loop is none, and speck-sized marks are not asked)."""
    return ndimage.binary_fill_holes(mark) & ~mark


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width of the ink in px: 4x the mean distance of ink pixels to the paper's edge (a band of width w
    has mean distance w/4). The distance transform measures centre to centre, to the first paper pixel: the edge lies
    half a pixel nearer (without that, a 1-px line measured 4 px and was never thickened)."""
    return 4.0 * max(float(ndimage.distance_transform_edt(mask)[mask].mean()) - 0.5, 0.25)


def frame(grey: np.ndarray, mask: np.ndarray, width: float | None = None) -> np.ndarray:
    """The ink of `mask` (with the soft edge of `grey` around it) framed as MNIST frames a digit: cropped, thickened to
    MNIST's stroke, fitted into the 20x20 box keeping its aspect ratio, centred by mass in 28x28. float32 [28, 28].
    `width` is the stroke width in px when the caller measured it already (over a whole line of digits)."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    # the soft edge: grey within 2 px of the ink (two steps of a cross = one diamond of radius 2), worked out on the
    # ink's box and a margin only (a code reader frames ~20 candidates a code: scipy's iterations loop and whole-
    # picture passes were a third of this function's time; the same pixels either way)
    outer = (slice(max(top - 2, 0), bottom + 2), slice(max(left - 2, 0), right + 2))
    near = ndimage.binary_dilation(mask[outer], structure=SOFT_EDGE)
    inner = (slice(top - outer[0].start, bottom - outer[0].start), slice(left - outer[1].start, right - outer[1].start))
    grey = grey[outer][inner] * near[inner]
    mask = mask[top:bottom, left:right]
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
    # centred by mass: ndimage.center_of_mass's own sums, and the integer shift as a copy into place (ndimage.shift with
    # order=0 moves the pixels the same way; both cost several times this through scipy's checks, ~20 times a code)
    total = out.sum()
    dy = round(IMAGE_SIZE / 2 - 0.5 - float((out * ROWS).sum() / total))
    dx = round(IMAGE_SIZE / 2 - 0.5 - float((out * COLS).sum() / total))
    moved = np.zeros_like(out)
    moved[max(dy, 0) : IMAGE_SIZE + min(dy, 0), max(dx, 0) : IMAGE_SIZE + min(dx, 0)] = out[
        max(-dy, 0) : IMAGE_SIZE + min(-dy, 0), max(-dx, 0) : IMAGE_SIZE + min(-dx, 0)
    ]
    return np.clip(moved, 0.0, 1.0)


def to_mnist(image: Image.Image | np.ndarray) -> np.ndarray:
    """A [28, 28] float32 array in [0, 1], white digit on black, centred like MNIST. Raises PreprocessError."""
    found = one_digit(ink(image))
    if not found.cut and runs_off(found):
        raise PreprocessError(RUNS_OFF)
    if ringed(found.mask):
        raise PreprocessError(RINGED)
    return frame(found.grey, found.mask)


def ringed(mask: np.ndarray) -> bool:
    """Whether the ink is a loop drawn around a digit that touches it (see RING_DEPTH)."""
    box = ndimage.find_objects(mask.astype(np.int32))[0]
    filled = ndimage.binary_fill_holes(mask[box])  # worked out on the ink's box only, for speed
    # a digit inside the loop and touching it cuts its hole in two or more (166 of 168 such refusals in a review's
    # cases): a 0, 4, 6 or 9 has one hole, and is not asked further
    if ndimage.label(filled & ~mask[box])[1] < 2:
        return False
    # the paper around the box counts as outside the loop: a stroke along the box's edge is not deep inside
    depth = ndimage.distance_transform_edt(np.pad(filled, 1))[1:-1, 1:-1]
    deep = mask[box] & (depth > RING_DEPTH * _picture_stroke_width(mask, box))
    if deep.sum() < RING_SHARE * mask[box].sum():
        return False
    return _extent(ndimage.find_objects(deep.astype(np.int32))[0]) >= RING_REACH * _extent(box)


def _picture_stroke_width(mask: np.ndarray, box: tuple[slice, slice]) -> float:
    """`stroke_width(mask)`, worked out on the ink's `box` only (faster): the paper around it counted, nothing past
    the picture's border."""
    (h, w), (rows, cols) = mask.shape, box
    pad = ((int(rows.start > 0), int(rows.stop < h)), (int(cols.start > 0), int(cols.stop < w)))
    return stroke_width(np.pad(mask[box], pad))


def runs_off(found: Ink) -> bool:
    """Whether a stroke of the digit crosses the picture's border (see CROSS_STRONG): a run of strong ink along the
    outermost row (or column) as long as a stroke crossing it, that goes on inwards beside the run. A curve lying along
    the border (a 7's bar, a 0's side) meets it in a longer run and is left alone."""
    mask = found.mask
    if not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()):
        return False  # most pictures: the ink reaches no border
    width = _picture_stroke_width(mask, ndimage.find_objects(mask.astype(np.int32))[0])
    strong = mask & (found.grey >= CROSS_STRONG)
    depth = max(2, round(CROSS_DEPTH * width))
    lo, hi = CROSS_RUN[0] * width, CROSS_RUN[1] * width
    for side in (strong, strong[::-1], strong.T, strong.T[::-1]):  # each side turned to be row 0
        if side.shape[0] <= depth:
            continue
        cols = np.flatnonzero(side[0])
        for run in np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1) if cols.size else ():
            if lo <= len(run) <= hi:
                left, right = max(run[0] - int(width), 0), run[-1] + int(width) + 1
                if side[depth, left:right].sum() >= lo:
                    return True
    return False
