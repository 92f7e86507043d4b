"""Read a handwritten code ("4 8 2 1"): find every digit of one line of handwriting, read each with the guard, and
accept the code only when every digit is accepted and no other reading competes.

    read_code(guard, picture, expected_length=None) -> {"code", "confidence", "accepted", "digits": [...], "reason"}
    read_candidates(guard, picture) -> Candidates     steps 1-4 (one guard call);   decide(guard, candidates) steps 5-6
    choose(guard, candidates) -> (the chosen candidates, decide's verdict): to show what the guard read of each digit

1. Ink: `preprocess.ink` at a working size fit for a whole line (WORK_SIDE): the paper/ink handling of one digit.
2. Marks: connected pieces of ink. Long thin horizontal strokes (underlines, strike-throughs) are removed first;
   specks are dropped; a second line, more than a speck above or below the line, or a printed box, comb or cell
   around the digits refuses the picture; a small mark over a digit joins it; the pieces of a faint or broken digit
   in a gap are gathered, so that no ink is silently lost; a digit written much lighter than the rest, lost under
   the line's ink level, is read at its own level (as `ink` reads one digit alone) if it lies in the line.
3. Atoms: marks wide enough to be touching digits are cut along their cheapest seams (top-to-bottom paths through
   the least ink, bending around strokes, following the writing's slant).
4. Candidates: every run of up to MAX_GROUP neighbouring atoms that could be one digit (close enough, tall and narrow
   enough, or all the pieces of one cut mark) is framed by `preprocess.frame`, exactly as `to_mnist` frames one
   digit, and all are read in ONE `guard.probs` call; a cut mark wider than a digit stays a candidate only if the
   guard accepts it whole (a 2 with a long foot is one digit; touching digits that read unsure as one are not).
5. Reading: the split of the atoms into digits with the best score (dynamic programming, keeping the runners-up):
   the digits' log-confidences, less the costs of cutting through ink, joining marks across paper, digits wider than
   a digit, and digits the guard refuses. The parts of a broken digit join because the whole reads surer than its
   pieces; touching digits part because each reads surer than the pair.
6. Decision, by the guard's own rule: every digit accepted by `guard.decide`; the code's confidence (the product of
   its digits', the chance that all are right) over the guard's threshold too; all the ink read (no stray stroke, no
   faint mark left unread) and none of it run into the picture's edge (unless the picture is cut to the line, its ink
   from the left edge to the right); no rival reading of another code within AMBIGUITY of the best, nor one whose
   digits the guard would all accept (of the code's count, when `expected_length` gives it), nor one the ink supports
   better when refused digits cost nothing (of any count); and the count equal to
   `expected_length` when given (a check, never a hint: the reading does not bend to reach it), which a code with a
   cut mark read whole as one digit wider than a digit, or with two digits the seams parted, always needs (touching
   ink may hold a digit more or less than the reading found); and no digit the seams parted read as a lone stroke
   (a 1: what a cut leaves of a digit whose bar went to its neighbour).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from digit_lit.errors import ConfigError
from digit_lit.guard import Guard
from digit_lit.preprocess import STROKE_LEVEL, Ink, PreprocessError, frame, holes, ink, stroke_width

# One source of truth for every number of the reader. Lengths are in units of the line's digit height H unless noted.
WORK_SIDE = 640  # working longest side (preprocess uses 192 for one digit): a line of 10 digits keeps ~40 px a digit
MIN_SHARE = 0.002  # preprocess's speck share of the largest mark: low, as a digit's small part must survive here
MAX_CODE_LENGTH = 64  # expected_length above this is a typo, not a code
MAX_MARKS = 60  # more marks than this is not one line of a code (a page of text, noise): refused, not searched
LINE_LENGTH = 1.8  # a horizontal stroke at least this long ...
LINE_THICKNESS = 0.3  # ... and at most this thick is an underline or a strike-through, not part of a digit
CORNER_GAP = 0.3  # a box's side that stops this short of a removed line above and one below still meets them
MIN_DIGIT_PX = 8  # a digit is at least this many working px tall (preprocess's smallest picture): less is a speck
FLAT = 6.0  # a mark this many times wider than tall is a line, not digits (5 touching digits are ~4x)
BAND = 0.25  # the line's digits lie within this of its digits' median top and bottom (above or below: not the code)
SHARE_ROWS = 0.5  # neighbouring digits of one line share at least this much of the shorter one's rows (those of a line
# written uphill do; a digit written under the gap between two others, or a second line close under the first, not)
STICK_OUT = 0.35  # ... and none reaches further than this above the line's top or below its bottom (a digit written
# under or over another, touching it, makes one mark that does; of 960 rendered validation codes, one: a tall 1)
SMALL = 0.3  # a mark under this in both height and width is a speck, or a dot that belongs to the digit it lies over
MIN_DIGIT_HEIGHT = 0.6  # a digit is at least this tall (a 5's detached bar alone is not a digit)
MAX_STROKE = 0.3  # a digit's strokes are at most this wide (a marker's); a faint patch with wider "strokes" is shade
MAX_DIGIT_WIDTH = 1.4  # ... and at most this wide along the slant (wider ink is several digits, or one sure digit)
JOIN_GAP = 0.1  # parts of one digit are at most this far apart along the slant (further apart: two digits)
CUT_WIDTH = 0.5  # a mark wider than this may be touching digits: cuts are tried
SEAM_BEND = 0.5  # the cost of a cut's step off the slant, in ink pixels crossed: cuts bend only around strokes
CUT_SPACING = 0.1  # cuts at least this far apart and from the mark's ends (a narrow 1)
MIN_PIECE = 0.1  # ... and each side of a cut holds at least this share of the mark's ink (a 1 touching a 0 has 25%)
CUT_EVERY = 0.3  # at most one cut per this much width
MAX_GROUP = 6  # a digit is at most this many atoms (a wide 0 cut into 5 slivers must still be read whole)
SLANTS = np.linspace(-0.6, 0.6, 13)  # slants tried (x shift per row): up to about 31 degrees either way
CUT_COST = 0.5  # parting two pieces of one mark costs this (log-confidence) per stroke width of ink the cut crossed
JOIN_COST = 5.0  # joining two marks into one digit costs this per digit height of paper between them
WIDE = 0.9  # a digit is rarely wider than this along the slant (two touching digits are) ...
WIDE_COST = 3.0  # ... and each digit height beyond costs this
REFUSED_COST = 5.0  # a candidate the guard refuses costs this: readings whose every digit is accepted come first
KEEP = 4  # readings kept per step of the search (distinct codes)
SKIP = 1.0  # the cost (in log-confidence) of leaving a short atom out of every digit: a stray stroke
AMBIGUITY = 0.3  # another code whose log-confidence is within this of the best makes the reading ambiguous
STROKE = 1  # the digit a lone stroke reads as: what a seam leaves of a digit whose bar or arm went to its neighbour


@dataclass(frozen=True)
class Mark:
    """A piece of ink: its top-left corner (y, x) in working px and its mask over its box."""

    y: int
    x: int
    mask: np.ndarray
    source: int = -1  # pieces of one cut mark share a source (their mark's index) and count up left to right
    piece: int = 0
    seam: float = 0.0  # ink (px) the cut between this piece and the one before it crossed

    @property
    def height(self) -> int:
        return self.mask.shape[0]

    @property
    def width(self) -> int:
        return self.mask.shape[1]

    def along(self, lean: float) -> tuple[float, float]:
        """Its extent along the slant: where the slanted lines through its leftmost and rightmost ink cross row 0."""
        ys, xs = np.nonzero(self.mask)
        a = self.x + xs - lean * (self.y + ys)
        return float(a.min()), float(a.max()) + 1


def union(marks: list[Mark]) -> Mark:
    """Several marks as one (box around them all)."""
    y0, x0 = min(m.y for m in marks), min(m.x for m in marks)
    y1, x1 = max(m.y + m.height for m in marks), max(m.x + m.width for m in marks)
    mask = np.zeros((y1 - y0, x1 - x0), bool)
    for m in marks:
        mask[m.y - y0 : m.y - y0 + m.height, m.x - x0 : m.x - x0 + m.width] |= m.mask
    return Mark(y0, x0, mask)


def components(mask: np.ndarray) -> list[Mark]:
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n > MAX_MARKS * 4:  # before any per-mark work: noise or a page of text
        raise PreprocessError(f"{n} separate marks: not one line of a code; crop the picture to the code")
    return [Mark(s[0].start, s[1].start, labels[s] == i + 1) for i, s in enumerate(ndimage.find_objects(labels))]


def line_height(marks: list[Mark]) -> float:
    """The digits' height: the median height of the marks that carry most of the ink, leaving out flat ones (a line
    under the code can be its biggest mark) and specks. 0 when no mark can be a digit."""
    upright = [m for m in marks if m.width <= FLAT * m.height and m.height >= MIN_DIGIT_PX]
    if not upright:
        return 0.0
    areas = np.array([m.mask.sum() for m in upright], float)
    return float(np.median([m.height for m, a in zip(upright, areas, strict=True) if a >= 0.25 * areas.max()]))


def long_runs(mask: np.ndarray, length: int) -> np.ndarray:
    """The pixels of horizontal runs of ink at least `length` long: a morphological opening by a 1 x length line, in
    O(pixels) (scipy's opening costs O(pixels x length): 40 ms on a line of digits)."""
    h, w = mask.shape
    flat = np.pad(mask, ((0, 0), (1, 1))).ravel().astype(np.int8)
    edges = np.diff(flat)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # run [start, end) in padded coordinates
    keep = ends - starts >= length
    inside = np.bincount(starts[keep], minlength=flat.size) - np.bincount(ends[keep], minlength=flat.size)
    return np.cumsum(inside[: flat.size]).astype(bool).reshape(h, w + 2)[:, :w]


def strip_lines(mask: np.ndarray, height: float) -> np.ndarray:
    """The mask without long thin horizontal strokes (underlines, strike-throughs), also where they touch digits."""
    runs = long_runs(mask, max(3, round(LINE_LENGTH * height)))
    if not runs.any():
        return mask
    # a line is thin: long runs stacked taller than LINE_THICKNESS are a filled blob, not a stroke
    labels, _ = ndimage.label(ndimage.binary_dilation(runs, structure=np.ones((3, 1), bool)))
    out = mask.copy()
    for i, box in enumerate(ndimage.find_objects(labels)):
        if box[0].stop - box[0].start <= LINE_THICKNESS * height + 2:
            out[box][labels[box] == i + 1] = False
    return out


BOXED = "boxes or a frame around the digits: write the code on plain paper, or crop the picture inside its box"


def framed(mask: np.ndarray, stripped: np.ndarray, height: float) -> bool:
    """Whether a thin upright stroke runs from one removed line to another (a box's side, a form's comb of cells): the
    sides of a box around a code read as two sure 1s ("4174" accepted as "141741"), and nothing tells them from a 1
    that touches both lines, so such a picture is refused rather than read."""
    removed = mask & ~stripped
    if not removed.any():
        return False
    runs = long_runs(np.ascontiguousarray(stripped.T), max(3, round(MIN_DIGIT_HEIGHT * height))).T
    labels, _ = ndimage.label(runs)
    # where a side meets a line, the line's pixels were taken out with it; and a box drawn by hand leaves gaps at its
    # corners (sides that stop short of the lines by 4-12 px read as sure 1s: "4821" accepted as 148211)
    near = max(2, round(CORNER_GAP * height))
    for rows, cols in ndimage.find_objects(labels):
        if cols.stop - cols.start > LINE_THICKNESS * height + 2:
            continue  # not thin: a filled blob
        left, right = max(cols.start - near, 0), cols.stop + near
        above = removed[max(rows.start - near, 0) : rows.start, left:right].any()
        below = removed[rows.stop : rows.stop + near, left:right].any()
        if above and below:
            return True
    return False


def encloses(marks: list[Mark], height: float) -> bool:
    """Whether a digit-tall mark holds another mark, more than a speck, inside a hole of its own: a cell or a circle
    drawn around a digit, which would be read as a 0 of its own (no digit holds another in a loop; a speck in a 0's
    loop is none, and the pieces of touching digits only lie in each other's boxes)."""
    for m in marks:
        if m.height < MIN_DIGIT_HEIGHT * height:
            continue
        inside = [
            o
            for o in marks
            if o is not m
            and max(o.height, o.width) >= SMALL * height
            and m.y < o.y
            and m.x < o.x
            and o.y + o.height < m.y + m.height
            and o.x + o.width < m.x + m.width
        ]
        if not inside:
            continue
        hole = holes(m.mask)
        for o in inside:
            if hole[o.y - m.y : o.y - m.y + o.height, o.x - m.x : o.x - m.x + o.width][o.mask].all():
                return True
    return False


def slant(marks: list[Mark], height: float) -> float:
    """The writing's slant (x shift per row down; negative when the tops lean right). Each tall mark votes for the
    shear under which its column profile is sharpest (its upright strokes stand straight, as OCR deslanting does);
    the median vote wins, so one digit's long diagonal (a 9's tail) does not tilt the whole line."""
    votes = []
    for m in marks:
        if m.height >= MIN_DIGIT_HEIGHT * height:
            ys, xs = np.nonzero(m.mask)
            sharpness = []
            for lean in SLANTS:
                # floor, not round: each pixel of a row keeps a column of its own (round pairs some up at .5)
                along = np.floor(xs - lean * ys).astype(int)
                counts = np.bincount(along - along.min())
                sharpness.append(float(np.dot(counts, counts)))
            votes.append(float(SLANTS[int(np.argmax(sharpness))]))
    return float(np.median(votes)) if votes else 0.0


def line_band(tall: list[Mark], height: float) -> tuple[float, float]:
    """The rows the line's digits lie in (from its digit-tall marks): their median top and bottom, BAND wider."""
    top = float(np.median([m.y for m in tall]))
    bottom = float(np.median([m.y + m.height for m in tall]))
    return top - BAND * height, bottom + BAND * height


def clean(marks: list[Mark], height: float) -> list[Mark]:
    """Sort the marks. Digit-tall marks stay. Off the line (above or below the digits' band) is not the code: a speck
    there is dropped, more refuses the picture (PreprocessError), since the code may be elsewhere than read. A small
    mark over a digit joins it (a dot, a broken-off tip); a bigger one stays on its own (a 5's detached bar: the
    reading decides where it belongs). Marks in a gap are gathered with their neighbours: a speck alone is dropped,
    anything bigger (the pieces of a faint or broken digit, a dash) stays, so the reading must account for it."""
    tall = [m for m in marks if m.height >= MIN_DIGIT_HEIGHT * height]
    if not tall:
        return []
    band = line_band(tall, height)

    def host(m: Mark) -> Mark | None:
        """The tall mark this one lies over (sharing the most columns), if any."""
        best, most = None, 0
        for t in tall:
            shared = min(m.x + m.width, t.x + t.width) - max(m.x, t.x)
            if shared > most:
                best, most = t, shared
        return best

    def small(m: Mark) -> bool:
        return m.height < SMALL * height and m.width < SMALL * height

    keep: list[Mark] = []
    joins: dict[int, list[Mark]] = {}
    loose: list[Mark] = []
    for m in marks:
        if m.height >= MIN_DIGIT_HEIGHT * height:
            keep.append(m)
        elif m.y + m.height > band[0] and m.y < band[1]:
            over = host(m)
            if over is None:
                loose.append(m)
            elif small(m):
                joins.setdefault(id(over), []).append(m)
            else:
                keep.append(m)
        elif not small(m):  # more than a speck off the line: other writing (a note, a second line), a shadow's edge
            raise PreprocessError("ink above or below the code (other writing, a shadow's edge): give the code alone")
    keep = [union([m, *joins[id(m)]]) if id(m) in joins else m for m in keep]
    group: list[Mark] = []
    for m in [*sorted(loose, key=lambda m: m.x), None]:
        if group and (m is None or m.x > max(g.x + g.width for g in group) + SMALL * height):
            gathered = union(group)
            if not small(gathered):
                keep.append(gathered)
            group = []
        if m is not None:
            group.append(m)
    return keep


def lines(marks: list[Mark], height: float) -> int:
    """How many lines of writing the digit-tall marks lie in: runs of marks that share rows from one to the next (a
    line written uphill still does; a second line below the first shares none with it)."""
    count, reach = 0, -math.inf
    for top, bottom in sorted((m.y, m.y + m.height) for m in marks if m.height >= MIN_DIGIT_HEIGHT * height):
        count += top >= reach
        reach = max(reach, bottom)
    return count


OFF_LINE = "a digit above or below the line of the code: write the code alone on one line, or crop it to the line"


def off_line(marks: list[Mark], height: float) -> bool:
    """Whether two neighbouring digit-tall marks (left to right by their centres) share less than SHARE_ROWS of the
    shorter one's rows, or one reaches more than STICK_OUT above the line's top or below its bottom there: a digit
    written under or over the line (in a gap, or under a digit and touching it: the reading joined it to its
    neighbour or read the two as one, "7046" with a 1 under it accepted as 7046, "9592" with a 3 under its 9 as 3592),
    or a second line so close that its rows overlap the first's (which `lines` counts as one: "4821" over "3597"
    accepted as 43859217). The line's top and bottom may run askew (a photo turned a little): each is a straight
    line of the marks' tops or bottoms, of one slope, the median of the slopes between every two marks' tops and
    every two marks' bottoms (Theil-Sen), which a digit stuck under one moves only at its bottom."""
    tall = sorted((m for m in marks if m.height >= MIN_DIGIT_HEIGHT * height), key=lambda m: 2 * m.x + m.width)
    if any(
        min(a.y + a.height, b.y + b.height) - max(a.y, b.y) < SHARE_ROWS * min(a.height, b.height)
        for a, b in itertools.pairwise(tall)
    ):
        return True
    x = np.array([m.x + m.width / 2 for m in tall])
    tops, bottoms = np.array([m.y for m in tall], float), np.array([m.y + m.height for m in tall], float)
    slope = 0.0
    if len(tall) >= 3:  # two marks set a slope of their own, a digit stuck under one of them too
        i, j = np.triu_indices(len(tall), 1)
        apart = x[j] - x[i] > 0
        if apart.any():  # marks all centred on one column give no slope to read
            slopes = [(y[j] - y[i])[apart] / (x[j] - x[i])[apart] for y in (tops, bottoms)]
            slope = float(np.median(np.concatenate(slopes)))
    for y, sign in ((tops, -1), (bottoms, 1)):  # above the top, below the bottom
        course = y - slope * x
        if (sign * (course - np.median(course)) > STICK_OUT * height).any():
            return True
    return False


def seams(mask: np.ndarray, lean: float) -> tuple[np.ndarray, np.ndarray]:
    """For every bottom column x: the cheapest path from the top row down to it, one row at a time, stepping at most
    one column (seam carving). Each ink pixel crossed costs 1 and each step off the writing's slant SEAM_BEND, so a
    cut between touching digits follows the slant through paper and bends around their strokes, where a straight cut
    would slice them. Returns (cost [w], paths [h, w]: the path ending at x, its column in each row)."""
    h, w = mask.shape
    bend = SEAM_BEND * np.abs(np.array([1.0, 0.0, -1.0]) + lean)  # from x+1 (a step left), x, x-1
    cost = mask.astype(np.float32)
    came = np.zeros((h, w), np.int8)  # the column offset each path came from, row by row
    prev = np.full(w + 2, np.inf, np.float32)
    prev[1:-1] = cost[0]
    options = np.empty((3, w), np.float32)
    cols = np.arange(w)
    for y in range(1, h):
        np.add(prev[2:], bend[0], out=options[0])
        np.add(prev[1:-1], bend[1], out=options[1])
        np.add(prev[:-2], bend[2], out=options[2])
        pick = options.argmin(0)
        came[y] = 1 - pick
        prev[1:-1] = cost[y] + options[pick, cols]
    cum = prev[1:-1]
    paths = np.empty((h, w), np.intp)
    paths[-1] = np.arange(w)
    for y in range(h - 1, 0, -1):  # all paths walked back at once
        paths[y - 1] = paths[y] + came[y, paths[y]]
    return cum, paths


def cut(mark: Mark, height: float, lean: float, source: int) -> list[Mark]:
    """A mark wide enough to hold touching digits, cut along its cheapest seams that leave a digit-tall piece with a
    real share of the ink on each side (a seam that only clips a tail or a serif is no cut), CUT_SPACING apart; the
    pieces, or the mark itself."""
    margin = max(1, round(CUT_SPACING * height))
    if mark.width <= CUT_WIDTH * height or mark.width <= 2 * margin:
        return [mark]
    cost, paths = seams(mark.mask, lean)
    # ink left of each path in each row, and so the rows each side of each path covers
    before = np.concatenate([np.zeros((mark.height, 1), int), np.cumsum(mark.mask, axis=1)], axis=1)
    rows = np.arange(mark.height)[:, None]
    left_ink = before[rows, paths]
    right_ink = before[:, -1:] - left_ink
    left, right = left_ink > 0, right_ink > 0
    tall = MIN_DIGIT_HEIGHT * height
    least = MIN_PIECE * mark.mask.sum()

    def span(side: np.ndarray) -> np.ndarray:
        any_row = side.any(0)
        top, bottom = side.argmax(0), mark.height - 1 - side[::-1].argmax(0)
        return np.where(any_row, bottom - top + 1, 0)

    ok = (span(left) >= tall) & (span(right) >= tall) & (left_ink.sum(0) >= least) & (right_ink.sum(0) >= least)
    ends: list[int] = []
    for e in np.argsort(cost, kind="stable"):
        if ok[e] and all(abs(e - c) >= margin for c in ends):
            ends.append(int(e))
            if len(ends) >= max(1, round(mark.width / (CUT_EVERY * height))):
                break
    if not ends:
        return [mark]
    ends.sort()
    chosen = np.sort(paths[:, ends], axis=1)  # [rows, cuts], ordered in each row
    crossed = [float(mark.mask[rows[:, 0], paths[:, e]].sum()) for e in ends]
    ys, xs = np.nonzero(mark.mask)
    piece = (xs[:, None] >= chosen[ys]).sum(1)  # how many cuts lie left of (or on) each pixel
    out: list[Mark] = []
    seam = 0.0
    for k in range(len(ends) + 1):
        sel = piece == k
        if sel.any():
            py, px = ys[sel], xs[sel]
            m = np.zeros((py.max() - py.min() + 1, px.max() - px.min() + 1), bool)
            m[py - py.min(), px - px.min()] = True
            out.append(Mark(mark.y + int(py.min()), mark.x + int(px.min()), m, source, len(out), seam))
            seam = 0.0
        if k < len(ends):
            seam = max(seam, crossed[k])
    return out


def atoms_of(mask: np.ndarray) -> tuple[list[Mark], list[tuple[float, float]], float, float]:
    """The atoms of a line, left to right along the slant, with their extents along it, the line's digit height and
    its slant ([] if none)."""
    marks = components(mask)
    height = line_height(marks)
    if height == 0:
        return [], [], 0.0, 0.0
    stripped = strip_lines(mask, height)
    if framed(mask, stripped, height):
        raise PreprocessError(BOXED)
    if stripped is not mask:
        marks = components(stripped)
        height = line_height(marks)
    marks = clean(marks, height) if height else []
    if not marks:
        return [], [], height, 0.0
    if encloses(marks, height):
        raise PreprocessError(BOXED)
    if lines(marks, height) > 1:  # read as one, each digit of a line would be framed with the one under it
        raise PreprocessError("digits on more than one line: write the code on one line, or crop it to one line")
    if off_line(marks, height):  # read as one line, a digit under it is joined to its neighbour or read in its place
        raise PreprocessError(OFF_LINE)
    height = line_height(marks)
    lean = slant(marks, height)
    atoms = [a for n, m in enumerate(marks) for a in cut(m, height, lean, n)]
    if len(atoms) > MAX_MARKS:
        raise PreprocessError(f"{len(atoms)} marks: not one line of a code; crop the picture to the code")
    spans = [a.along(lean) for a in atoms]
    order = np.argsort([(lo + hi) / 2 for lo, hi in spans], kind="stable")
    return [atoms[i] for i in order], [spans[i] for i in order], height, lean


def boundaries(
    atoms: list[Mark], spans: list[tuple[float, float]], height: float, pen: float
) -> tuple[np.ndarray, np.ndarray]:
    """What each boundary between neighbouring atoms says, in log-confidence: (part, join). Parting two pieces of one
    mark costs CUT_COST per stroke width of ink the cut crossed (touching digits meet at a point; a cut through a digit
    crosses its strokes); joining two marks costs JOIN_COST per digit height of paper between them (the parts of a
    broken digit overlap or nearly touch)."""
    part, join = np.zeros(max(len(atoms) - 1, 0)), np.zeros(max(len(atoms) - 1, 0))
    for i, (a, b) in enumerate(itertools.pairwise(atoms)):
        if a.source >= 0 and b.source == a.source and b.piece == a.piece + 1:
            part[i] = CUT_COST * b.seam / max(pen, 1.0)
        else:
            join[i] = JOIN_COST * max(0.0, spans[i + 1][0] - spans[i][1]) / height
    return part, join


def one_mark(run: list[Mark]) -> bool:
    """The atoms are pieces of one cut mark."""
    return run[0].source >= 0 and all(a.source == run[0].source for a in run)


def whole_mark(run: list[Mark], pieces: dict[int, int]) -> bool:
    """The atoms are all the pieces of one cut mark (`pieces`: how many each cut mark was cut into)."""
    return one_mark(run) and len(run) == pieces[run[0].source]


def candidates(atoms: list[Mark], spans: list[tuple[float, float]], height: float) -> list[tuple[int, int]]:
    """Runs of neighbouring atoms (first, last) that could be one digit: each atom within JOIN_GAP of the run so far,
    the run at least MIN_DIGIT_HEIGHT tall and at most MAX_DIGIT_WIDTH wide along the slant (a tall atom alone always
    is one: a digit the cuts could not part is read, and refused, rather than lost; so is a wider mark the seams cut,
    whole, which `read_candidates` keeps only if the guard accepts it: a wide digit, not two touching ones)."""
    pieces = Counter(a.source for a in atoms if a.source >= 0)
    out = []
    for i in range(len(atoms)):
        lo, hi = spans[i]
        top, bottom = atoms[i].y, atoms[i].y + atoms[i].height
        for j in range(i, min(i + MAX_GROUP, len(atoms))):
            if j > i:
                if spans[j][0] - hi > JOIN_GAP * height:
                    break
                lo, hi = min(lo, spans[j][0]), max(hi, spans[j][1])
                top, bottom = min(top, atoms[j].y), max(bottom, atoms[j].y + atoms[j].height)
                if hi - lo > MAX_DIGIT_WIDTH * height:
                    if not one_mark(atoms[i : j + 1]):
                        break
                    if not whole_mark(atoms[i : j + 1], pieces):
                        continue  # part of a wide mark: touching digits, or a slice of one wide digit
            if bottom - top >= MIN_DIGIT_HEIGHT * height:
                out.append((i, j))
    return out


@dataclass(frozen=True)
class Reading:
    """One way to read the atoms: its candidates (indices), the code they spell, and its score (log-confidences less
    the costs of `decide`)."""

    score: float
    code: str
    segments: tuple[int, ...]


def best_readings(
    n: int,
    spans: list[tuple[int, int]],
    scores: np.ndarray,
    digits: np.ndarray,
    part: np.ndarray,
    short: np.ndarray,
    length: int | None = None,
) -> list[Reading]:
    """The best readings of atoms 0..n-1 that spell different codes, best first: dynamic programming over where each
    digit ends, keeping the KEEP best codes at each step (the runners-up that ambiguity is judged on). A digit adds
    its candidate's score, and the cost of parting it from the atom before (`part`); a short atom may be left out, at
    a cost of SKIP (and the code is then refused: ink that is no digit). With `length`, only the readings of that many
    digits, the KEEP best of each count kept at each step (so that readings of other counts crowd none out)."""
    ending: dict[int, list[int]] = {}
    for k, (_, j) in enumerate(spans):
        ending.setdefault(j, []).append(k)
    states: list[list[Reading]] = [[] for _ in range(n + 1)]
    states[0] = [Reading(0.0, "", ())]
    for j in range(n):
        offers = [
            Reading(
                r.score + float(scores[k]) - (part[i - 1] if i else 0.0), r.code + str(int(digits[k])), (*r.segments, k)
            )
            for k in ending.get(j, [])
            for i in (spans[k][0],)
            for r in states[i]
            if length is None or len(r.code) < length
        ]
        if short[j]:
            offers += [Reading(r.score - SKIP, r.code, r.segments) for r in states[j]]
        pool: dict[str, Reading] = {}
        for r in sorted(offers, key=lambda r: -r.score):
            pool.setdefault(r.code, r)  # the best way to each code
        kept: Counter[int] = Counter()  # readings kept of each count (all one count without `length`)
        states[j + 1] = []
        for r in pool.values():
            count = 0 if length is None else len(r.code)
            kept[count] += 1
            if kept[count] <= KEEP:
                states[j + 1].append(r)
    return states[n] if length is None else [r for r in states[n] if len(r.code) == length]


def check_expected_length(value: object) -> int | None:
    """expected_length as read_code takes it: None, or a whole number of digits; ConfigError says what is wrong."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"expected_length={value!r} must be a whole number of digits, e.g. 6")
    if not 1 <= value <= MAX_CODE_LENGTH:
        raise ConfigError(f"expected_length={value} must be between 1 and {MAX_CODE_LENGTH}")
    return value


def _box(mark: Mark, scale: float) -> list[int]:
    """A working-px box as [x0, y0, x1, y1] in picture px (x1, y1 exclusive)."""
    x0, y0, x1, y1 = mark.x, mark.y, mark.x + mark.width, mark.y + mark.height
    return [math.floor(x0 * scale), math.floor(y0 * scale), math.ceil(x1 * scale), math.ceil(y1 * scale)]


@dataclass(frozen=True)
class Candidates:
    """A picture's atoms and every candidate digit read by the guard: spans[k] = (first, last) atom of candidate k,
    boxes[k] its box in picture px, probs[k] its calibrated probabilities; short[i]: atom i cannot be a digit alone;
    part[i] and join[i]: what parting or joining atoms i and i+1 costs (`boundaries`); widths[k]: candidate k's width
    along the slant in digit heights; views[k]: candidate k as the guard read it (28x28, `preprocess.frame`);
    unread: how many digit-sized marks of faint ink stayed unread even at their own ink level (`lost`, `relit`): a
    digit the reading would silently miss; at_edge[i]: atom i runs into the picture's edge (`at_edge`)."""

    atoms: list[Mark]
    spans: list[tuple[int, int]]
    boxes: list[list[int]]
    views: np.ndarray
    probs: np.ndarray
    short: np.ndarray
    part: np.ndarray
    join: np.ndarray
    widths: np.ndarray
    unread: int
    at_edge: np.ndarray


def read_candidates(guard: Guard, picture: Image.Image | np.ndarray) -> Candidates:
    """Steps 1-4: ink, marks, atoms and candidates, all read in one `guard.probs` call. PreprocessError if unusable."""
    found = ink(picture, side=WORK_SIDE, min_share=MIN_SHARE, edge_to_edge=False)
    atoms, along, height, _ = atoms_of(found.mask)
    tall = [a for a in atoms if a.height >= MIN_DIGIT_HEIGHT * height]
    band = line_band(tall, height) if tall else None
    faint, gone = lost(found, atoms, height, band)
    if gone and band:
        # a digit written lighter than the rest, in the line: read it at its own ink level (off the line, a faint
        # mark is no digit of the code, and is never turned into ink: it stays lost, and the code refused)
        top, bottom = band
        inline = [(k, box) for k, box in gone if box[0].start >= top and box[0].stop <= bottom]
        if inline:
            found = relit(found, faint, inline)
            atoms, along, height, _ = atoms_of(found.mask)
            gone = lost(found, atoms, height, band)[1]  # still lost even so: the code is refused
    spans = candidates(atoms, along, height)
    if not spans:
        raise PreprocessError("no digits found: only specks or lines; give a picture of a handwritten code")
    groups = [union(atoms[i : j + 1]) for i, j in spans]
    rows, cols = np.flatnonzero(found.mask.any(1)), np.flatnonzero(found.mask.any(0))
    inked = np.pad(found.mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1)  # the EDT costs what it covers
    pen = stroke_width(inked)  # once for the line, not once per candidate
    views = np.stack([frame(found.grey[g.y : g.y + g.height, g.x : g.x + g.width], g.mask, pen) for g in groups])
    probs = guard.probs(views)  # every candidate of the picture in one call: speed
    short = np.array([a.height < MIN_DIGIT_HEIGHT * height for a in atoms])
    part, join = boundaries(atoms, along, height, pen)
    boxes = [_box(g, found.scale) for g in groups]
    widths = np.array([(max(s[1] for s in along[i : j + 1]) - min(s[0] for s in along[i : j + 1])) for i, j in spans])
    widths = widths / height
    keep = np.flatnonzero(~wide_whole(spans, widths) | guard.decide(probs))  # one digit only if the guard accepts it
    return Candidates(
        atoms,
        [spans[k] for k in keep],
        [boxes[k] for k in keep],
        views[keep],
        probs[keep],
        short,
        part,
        join,
        widths[keep],
        len(gone),
        at_edge(atoms, found.mask.shape),
    )


def at_edge(atoms: list[Mark], shape: tuple[int, ...]) -> np.ndarray:
    """Which atoms run into the picture's edge: a digit the frame cut (the code may go on past it, and the digit is
    read from what is left of it), or not ink at all (the dark edge of the page or the table beside it in a photo,
    which reads as a 1 at the end of the code). None when the ink touches both the left edge and the right: a picture
    cut to its line, as people crop a code, whose digits touch the frame. (`ink` takes one digit as cropped tight
    within EDGE_TO_EDGE of two edges; for a line that margin let a form's printed cell through: docs/code_runs.md.)"""
    h, w = shape[:2]
    left, right = [a.x <= 0 for a in atoms], [a.x + a.width >= w for a in atoms]
    if any(left) and any(right):
        return np.zeros(len(atoms), bool)
    return np.array([a.y <= 0 or a.y + a.height >= h for a in atoms], bool) | left | right


def wide_whole(spans: list[tuple[int, int]], widths: np.ndarray) -> np.ndarray:
    """Which candidates are a cut mark read whole though wider than a digit (the only runs of atoms that wide that
    `candidates` admits): it may be two touching digits the guard reads as one."""
    return (widths > MAX_DIGIT_WIDTH) & np.array([i < j for i, j in spans], bool)


def lost(
    found: Ink, atoms: list[Mark], height: float, band: tuple[float, float] | None
) -> tuple[np.ndarray, list[tuple[int, tuple[slice, slice]]]]:
    """Digit-sized marks of faint ink (above the noise floor, below the ink level) of which the atoms read hold no
    digit-tall part: a light stroke of one digit among dark ones, which the code would otherwise silently lose. Also
    when a few of its pixels cleared the ink level: as specks they were dropped, and the digit with them. Not the
    shade at the picture's top or bottom edge, off the line's `band` (`border_shade`; None when no mark is
    digit-tall: no line). Returns the faint marks (a label image) and the label and box of each one lost."""
    # the marks from the noise floor up (`Ink.faint`): a digit under half the line's ink level has no soft edge
    # in `grey` either, and was lost unseen
    faint, n = ndimage.label(found.faint > 0, structure=np.ones((3, 3)))
    read = np.zeros(faint.shape, bool)
    for a in atoms:
        read[a.y : a.y + a.height, a.x : a.x + a.width] |= a.mask
    tall = MIN_DIGIT_HEIGHT * height
    marks = ndimage.find_objects(faint)
    held = ndimage.find_objects(np.where(read, faint, 0), max_label=n)  # the read ink's box in each faint mark
    seen = ndimage.find_objects(np.where(found.grey > 0, faint, 0), max_label=n)  # its part over half the level
    return faint, [
        (k + 1, mark)
        for k, (mark, inked, over) in enumerate(zip(marks, held, seen, strict=True))
        if mark[0].stop - mark[0].start >= tall
        and (inked is None or inked[0].stop - inked[0].start < tall)
        and (
            (over is not None and over[0].stop - over[0].start >= tall)
            or strokes(found.faint[mark], faint[mark] == k + 1)
        )
        and not (band and border_shade(mark, band, faint.shape))
    ]


def border_shade(box: tuple[slice, slice], band: tuple[float, float], shape: tuple[int, ...]) -> bool:
    """Whether a faint mark (its box) lies wholly above the line's band and runs into the picture's top edge, or
    wholly below it and into the bottom edge: the shade at a photo's border (a vignette, a shadow, the table beside
    the page), no digit of the line. A faint mark off the line within the picture (a light stroke of other writing)
    still refuses the code, and so does one at the picture's side, where a faint digit at the end of a line that
    climbs could lie."""
    rows = box[0]
    return (rows.start == 0 and rows.stop <= band[0]) or (rows.stop == shape[0] and rows.start >= band[1])


def own_ink(contrast: np.ndarray, sel: np.ndarray) -> tuple[float, np.ndarray]:
    """A faint mark's own ink level (`sel` in its box, of `contrast`: STROKE_LEVEL of its typical contrast, as `ink`
    sets the heaviest mark's) and its pixels above it."""
    level = STROKE_LEVEL * float(np.percentile(contrast[sel], 90))
    return level, sel & (contrast > level)


def strokes(contrast: np.ndarray, sel: np.ndarray) -> bool:
    """Whether a faint mark is drawn in strokes at its own ink level (`own_ink`), as a digit is, and not a smooth
    patch of shade (uneven light, a shadow's edge): those rise above the noise floor too, but their ink at their own
    level is a filled patch, its width the patch's."""
    ink_of = own_ink(contrast, sel)[1]
    return bool(ink_of.any()) and stroke_width(np.pad(ink_of, 1)) <= MAX_STROKE * sel.shape[0]


def relit(found: Ink, faint: np.ndarray, marks: list[tuple[int, tuple[slice, slice]]]) -> Ink:
    """`found` with each lost faint mark (label and box in `faint`, as `lost` gives them) at its own ink level, as
    `ink` sets the heaviest mark's: its pixels above STROKE_LEVEL of its own typical contrast become ink, its soft
    edge from half that level, and its strongest ink is brought to 1 (a digit written lighter than its neighbours is
    read as the guard reads it alone)."""
    grey, mask = found.grey.copy(), found.mask.copy()
    for k, box in marks:
        sel = faint[box] == k
        part = found.faint[box]
        level, ink_of = own_ink(part, sel)
        mask[box] |= ink_of
        strong = float(np.percentile(part[ink_of], 90)) if ink_of.any() else level
        soft = np.clip((part - 0.5 * level) / max(strong - 0.5 * level, 1e-6), 0.0, 1.0)
        grey[box] = np.where(sel, np.maximum(grey[box], soft), grey[box])
    return replace(found, grey=grey, mask=mask)


def read_code(guard: Guard, picture: Image.Image | np.ndarray, expected_length: int | None = None) -> dict[str, Any]:
    """The code in a picture of one line of handwritten digits. Raises PreprocessError when the picture is unusable
    (ConfigError for an expected_length that is not a count of digits).

    Returns {"code", "confidence", "accepted", "digits": [{"digit", "confidence", "accepted", "box"}], "reason"}:
    box is [x0, y0, x1, y1] in picture px; confidence is the code's (its digits' product); reason, only when the code
    is refused, says why.
    """
    expected_length = check_expected_length(expected_length)
    found = read_candidates(guard, picture)
    return decide(guard, found, expected_length)


def evidence(found: Candidates, conf: np.ndarray) -> np.ndarray:
    """Each candidate's score as a digit by the ink alone: its log-confidence less the costs of joining marks across
    paper and of being wider than a digit. `choose` subtracts REFUSED_COST for each digit the guard refuses."""
    joined = np.concatenate([[0.0], np.cumsum(found.join)])
    out = np.log(np.maximum(conf, 1e-12)) - np.array([joined[j] - joined[i] for i, j in found.spans])
    return out - WIDE_COST * np.maximum(0.0, found.widths - WIDE)


def parted(found: Candidates, chosen: list[int]) -> np.ndarray:
    """For each neighbouring pair of the chosen digits (a reading that leaves no ink out), whether a seam parted them:
    the first atom of the second is a piece of the mark the last atom of the first is a piece of."""
    return np.array([one_mark(found.atoms[i - 1 : i + 1]) for i in (found.spans[k][0] for k in chosen[1:])], bool)


def refusal(
    guard: Guard,
    found: Candidates,
    readings: list[Reading],
    sure: np.ndarray,
    expected_length: int | None,
    likeliest: Reading,
) -> str | None:
    """Why the best reading must be refused (None: accept it), by the guard's own rule. `likeliest`: the best reading
    when refused digits cost nothing (the evidence alone)."""
    best, n = readings[0], len(found.atoms)

    def whole(r: Reading) -> bool:  # every atom is in a digit: no ink left out
        return sum(found.spans[k][1] - found.spans[k][0] + 1 for k in r.segments) == n

    chosen = list(best.segments)
    # another code is a rival when it is nearly as good, or when the guard would accept every digit of it too
    rivals = [
        r for r in readings[1:] if r.score >= best.score - AMBIGUITY or (sure[list(r.segments)].all() and whole(r))
    ]
    # ... or when the ink reads likelier as another code once the guard's refusals cost nothing: the best reading then
    # won only because that code has a digit the guard is unsure of (a 6 cut into a sure 1 and a sure 0)
    if likeliest.code != best.code and likeliest.score > best.score:
        rivals.append(likeliest)
    joint = np.prod(guard.confidence(found.probs[chosen]))
    if found.unread:
        return "faint marks that could not be read as ink: write darker or photograph in better light"
    if found.at_edge.any():
        # whatever is read of it, and with the length too: a digit the frame cut (or the page's edge read as a 1)
        # counts as one
        return "ink runs into the picture's edge: the code may go on past it; photograph it with room all around"
    if not whole(best):
        return "marks that are not digits (a dash, a stray stroke): write only the digits"
    if expected_length is not None and len(chosen) != expected_length:
        return f"found {len(chosen)} digits, expected {expected_length}"
    if not sure[chosen].all():
        return "not sure enough of digit " + ", ".join(str(i + 1) for i in np.flatnonzero(~sure[chosen]))
    if not guard.rule.accepts(np.array([joint]))[0]:
        return "not sure enough of the code as a whole"
    if rivals:
        return f"ambiguous: could also be {rivals[0].code}"
    # the two rules only the code's length can settle come after those (and the lone-stroke rule, which even the
    # length does not settle, after them): an unsure digit or a rival reading refuses the code whatever its length,
    # and the reason says what to mend first.
    # A cut mark read whole though wider than a digit: the seams found where it could part into two digit-tall
    # pieces, so it may be two touching digits the guard reads as one; only the code's length can tell
    merged = np.flatnonzero(wide_whole(found.spans, found.widths)[chosen])
    if len(merged) and expected_length is None:
        return f"digit {merged[0] + 1} may be two touching digits: write the digits apart, or give expected_length"
    # touching digits parted by the seams: how many digits that ink holds is the cuts' guess (a 1 hidden in an
    # overlapping 4 and 6 leaves "46", each sure), which only the code's length can check
    touch = np.flatnonzero(parted(found, chosen))
    if len(touch) and expected_length is None:
        return f"digits {touch[0] + 1} and {touch[0] + 2} touch: write the digits apart, or give expected_length"
    # ... and even with it, a parted digit read as a lone stroke is no evidence of a 1: a seam leaves one of any digit
    # whose bar or arm the cut gave to its neighbour ("570" read "510", "284" read "281"), and the guard reads that
    # stroke as surely as a written 1 (on validation codes, 7 of the 9 wrong codes accepted with their length:
    # docs/code_runs.md)
    stroke = [k for t in touch for k in (t, t + 1) if best.code[k] == str(STROKE)]
    if stroke:
        return f"digit {stroke[0] + 1} was cut from touching ink and reads as a lone stroke: write the digits apart"
    return None


def decide(guard: Guard, found: Candidates, expected_length: int | None = None) -> dict[str, Any]:
    """Steps 5-6: the best reading of the candidates and the verdict on it."""
    return choose(guard, found, expected_length)[1]


def choose(guard: Guard, found: Candidates, expected_length: int | None = None) -> tuple[list[int], dict[str, Any]]:
    """`decide`, with the candidates its digits are, left to right (found.views[k]: what the guard read of each)."""
    conf, sure = guard.confidence(found.probs), guard.decide(found.probs)
    digits = found.probs.argmax(1)
    ink = evidence(found, conf)
    # readings whose every digit the guard accepts come first
    scores = ink - REFUSED_COST * ~sure
    readings = best_readings(len(found.atoms), found.spans, scores, digits, found.part, found.short)
    if not readings or not readings[0].segments:
        raise PreprocessError("the marks cannot be read as a line of digits; give a picture of one handwritten code")
    likeliest = best_readings(len(found.atoms), found.spans, ink, digits, found.part, found.short)[0]
    if expected_length is not None and len(readings[0].code) == expected_length:
        # the count is known: a reading of another count nearly as good, or all sure, is no rival (a digit split into
        # a sure 1 and a sure rest spells a code a digit longer, which the count rules out), but every reading of this
        # count is one. The likeliest reading stays one whatever its count: where the ink alone reads better as
        # another count, the segmentation is in doubt (the only two codes read wrong that the count would otherwise
        # have let through on 4,800 validation codes: docs/code_runs.md)
        told = best_readings(len(found.atoms), found.spans, scores, digits, found.part, found.short, expected_length)
        readings = [readings[0], *(r for r in told if r.code != readings[0].code)]
    chosen = list(readings[0].segments)
    reason = refusal(guard, found, readings, sure, expected_length, likeliest)
    out: dict[str, Any] = {
        "code": readings[0].code,
        "confidence": round(float(np.prod(conf[chosen])), 6),
        "accepted": reason is None,
        "digits": [
            {
                "digit": int(digits[k]),
                "confidence": round(float(conf[k]), 6),
                "accepted": bool(sure[k]),
                "box": found.boxes[k],
            }
            for k in chosen
        ],
    }
    if reason is not None:
        out["reason"] = reason
    return chosen, out
