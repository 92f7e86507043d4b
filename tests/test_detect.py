"""The code reader (digit_lit.detect) on codes the tests draw: segmentation, all-or-nothing acceptance, bad input."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from digit_lit.codes import code_digits, render_code
from digit_lit.detect import MAX_DIGIT_WIDTH, decide, read_candidates, read_code
from digit_lit.guard import Guard, Rule
from digit_lit.predict import read_file
from digit_lit.preprocess import PreprocessError, to_mnist
from digit_lit.train import train
from tests.helpers.cli import cli, error_lines
from tests.helpers.configs import compose_train
from tests.helpers.glyphs import (
    BROKEN,
    GLYPHS,
    SCRIBBLE,
    THRESHOLD,
    TemplateNet,
    code_picture,
    draw,
    iou,
    template_guard,
    templates,
    touching,
)
from tests.helpers.pictures import as_stored


@pytest.fixture(scope="module")
def guard() -> Guard:
    return template_guard()


def boxes_of(out: dict[str, Any]) -> list[list[int]]:
    return [d["box"] for d in out["digits"]]


def assert_found(out: dict[str, Any], code: str, boxes: list[tuple[int, int, int, int]], least: float = 0.8) -> None:
    assert out["code"] == code, out
    for found, drawn in zip(boxes_of(out), boxes, strict=True):
        assert iou(found, drawn) >= least, (found, drawn)


def test_separate_digits_left_to_right_with_their_boxes(guard: Guard) -> None:
    img, boxes = code_picture("1704")
    out = read_code(guard, img)
    assert_found(out, "1704", boxes)
    assert out["accepted"] is True and "reason" not in out
    assert all(d["accepted"] and 0 <= d["digit"] <= 9 for d in out["digits"])


def test_boxes_are_in_picture_pixels_when_the_picture_is_shrunk(guard: Guard) -> None:
    img, boxes = code_picture("2359", height=300)  # 1.5k px wide: read at WORK_SIDE, boxes mapped back
    assert img.size[0] > 1000
    assert_found(read_code(guard, img), "2359", boxes)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_a_code_photographed_sideways_is_read_as_shown(guard: Guard, orientation: int) -> None:
    """A code stored turned, with the EXIF tag that turns it back (a phone held sideways or upside down), is read as
    it is shown: the same code, and boxes in the upright picture's pixels."""
    img, boxes = code_picture("2359")
    with Image.open(io.BytesIO(as_stored(img, orientation))) as stored:
        out = read_code(guard, stored)
    assert out == read_code(guard, img)
    assert_found(out, "2359", boxes)


@pytest.mark.parametrize(
    ("left", "turn"), [(60, 0.0), (60, 5.0), (-40, 0.0)], ids=["desk around", "turned", "run off the left edge"]
)
def test_a_code_on_a_sheet_lying_on_a_desk_is_read(guard: Guard, left: int, turn: float) -> None:
    """A photo of a code on a sheet of paper that does not fill the frame: the desk is no ink (it was taken for the
    paper, the sheet for ink, and the picture refused as "separate marks: not one line of a code")."""
    img, boxes = code_picture("2359")
    sheet = Image.new("RGB", (img.width + 120, img.height * 3), (250, 247, 240))
    sheet.paste(img, (60, img.height))
    turned = sheet.convert("RGBA").rotate(turn, resample=Image.Resampling.BICUBIC, expand=True)
    photo = Image.new("RGB", (turned.width + left + 60, turned.height + 120), (60, 55, 50))  # 60 px of desk around
    photo.paste(turned, (left, 60), turned)
    out = read_code(guard, photo)
    assert out["code"] == "2359" and out["accepted"], out
    if turn == 0.0:
        shifted = [
            (x0 + 60 + left, y0 + img.height + 60, x1 + 60 + left, y1 + img.height + 60) for x0, y0, x1, y1 in boxes
        ]
        assert_found(out, "2359", shifted)


@pytest.mark.parametrize(
    ("pair", "overlap"),
    # touching: the strokes meet; overlapping: they cross (strokes that run along each other cannot be parted)
    [("70", 0.0), ("23", 0.0), ("45", 0.0), ("23", 0.05), ("47", 0.05)],
)
def test_touching_and_overlapping_digits_are_parted(guard: Guard, pair: str, overlap: float) -> None:
    first, second = GLYPHS[int(pair[0])], GLYPHS[int(pair[1])]
    lefts = [0.0, touching(first, second, overlap), 1.5, 2.2]
    img, boxes = draw([first, second, GLYPHS[1], GLYPHS[3]], lefts)
    ink = np.asarray(img.convert("L")) < 128
    assert ndimage.label(ink, structure=np.ones((3, 3)))[1] == 3  # the pair is one piece of ink
    out = read_code(guard, img)
    assert_found(out, pair + "13", boxes, least=0.6)
    # each parted digit reads surely as itself (a bad cut reads unsure); whether the product of four such
    # confidences clears the template guard's threshold too is the all-or-nothing tests' business, not this one's
    assert all(d["accepted"] for d in out["digits"]), out


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_digit_is_one_digit(guard: Guard, name: str) -> None:
    digit, strokes = BROKEN[name]
    img, boxes = draw([GLYPHS[1], strokes, GLYPHS[7]], [0.0, 0.9, 1.9])
    out = read_code(guard, img)
    assert out["code"] == f"1{digit}7", out
    assert iou(out["digits"][1]["box"], boxes[1]) >= 0.85  # the whole digit, its detached part included


def test_a_wide_digit_cut_into_many_slivers_is_read_whole(guard: Guard) -> None:
    # a 0 nearly twice as wide as the drawn one: the seam search cuts it into 5 slivers (touching digits could hide
    # in that width), and the whole of it must still be a candidate, else its slivers are read as digits ("1081")
    wide_zero = [[(1.8 * x, y) for x, y in GLYPHS[0][0]]]
    img, boxes = draw([GLYPHS[1], wide_zero, GLYPHS[1]], [0.0, 0.6, 2.0])
    found = read_candidates(guard, img)
    slivers = [i for i, a in enumerate(found.atoms) if a.source >= 0]
    assert len(slivers) >= 5, [a.source for a in found.atoms]
    out = read_code(guard, img)
    assert out["code"] == "101", out
    assert iou(out["digits"][1]["box"], boxes[1]) >= 0.85


def test_a_digit_wider_than_a_digit_is_read_whole_only_when_the_guard_accepts_it(guard: Guard) -> None:
    # a 0 2.5x as wide as the drawn one (1.5 digit heights, wider than MAX_DIGIT_WIDTH: two touching digits could
    # be that wide), one mark the seam search cuts into slivers. A guard that knows such 0s reads it whole; for
    # one that does not, the whole mark is no candidate and its slivers are read (and refused) as before
    wide_zero = [[(2.5 * x, y) for x, y in GLYPHS[0][0]]]
    img, boxes = draw([GLYPHS[1], wide_zero, GLYPHS[1]], [0.0, 0.6, 2.35])
    views = templates()
    views[0] = to_mnist(draw([wide_zero], [0.0])[0])
    knows = Guard.from_net(TemplateNet(views), Rule(temperature=1.0, threshold=THRESHOLD, max_wrong_accept=0.001))
    found = read_candidates(knows, img)
    assert found.widths.max() > MAX_DIGIT_WIDTH
    out = decide(knows, found)
    assert out["code"] == "101", out
    assert iou(out["digits"][1]["box"], boxes[1]) >= 0.85
    # it may as well be two touching digits read as one: without the code's length the code is refused (here the
    # slivers read "1631" surely too, so the code is ambiguous first; slivers that read as no digit leave the width)
    assert out["accepted"] is False and out["reason"] == "ambiguous: could also be 1631", out
    read = [d["box"] for d in out["digits"]]
    for k, box in enumerate(found.boxes):
        if box not in read:
            found.probs[k] = np.full(10, 0.1)
    out = decide(knows, found)
    assert out["code"] == "101" and out["accepted"] is False, out
    assert out["reason"] == "digit 2 may be two touching digits: write the digits apart, or give expected_length"
    told = decide(knows, found, expected_length=3)
    assert told["accepted"] is True, told  # the count checks it
    found = read_candidates(guard, img)
    wide = [s for s, w in zip(found.spans, found.widths, strict=True) if w > MAX_DIGIT_WIDTH]
    assert all(i == j for i, j in wide), wide  # only single atoms, which are always read
    assert decide(guard, found)["code"] != "101"


@pytest.mark.parametrize("pair", ["70", "45"])
def test_digits_a_seam_parted_are_accepted_only_with_the_codes_length(guard: Guard, pair: str) -> None:
    # touching digits read right and surely: how many digits their ink holds is still the seams' guess (an
    # overlapping 1 can vanish into its neighbours, each read surely), so only a code of known length is accepted
    first, second = GLYPHS[int(pair[0])], GLYPHS[int(pair[1])]
    img, _ = draw([GLYPHS[1], first, second, GLYPHS[3]], [0.0, 0.7, 0.7 + touching(first, second, 0.0), 2.3])
    found = read_candidates(guard, img)
    out = decide(guard, found)
    assert out["code"] == f"1{pair}3" and all(d["accepted"] for d in out["digits"]), out
    assert out["accepted"] is False
    assert out["reason"] == "digits 2 and 3 touch: write the digits apart, or give expected_length"
    told = decide(guard, found, expected_length=4)
    assert told["accepted"] is True and told["code"] == out["code"], told
    assert decide(guard, found, expected_length=5)["accepted"] is False
    apart, _ = code_picture(f"1{pair}3")  # the same digits a gap apart: no guess, no length needed
    assert read_code(guard, apart)["accepted"] is True


def test_a_parted_digit_read_as_a_lone_stroke_refuses_the_code_even_with_its_length(guard: Guard) -> None:
    # a seam leaves a lone stroke of any digit whose bar or arm it gave to the neighbour, and the guard reads that
    # stroke as surely as a written 1: a parted 1 is no evidence, whatever the count
    first, second = GLYPHS[7], GLYPHS[1]
    img, _ = draw([GLYPHS[3], first, second, GLYPHS[3]], [0.0, 0.9, 0.9 + touching(first, second, 0.0), 2.4])
    found = read_candidates(guard, img)
    told = decide(guard, found, expected_length=4)
    assert told["code"] == "3713" and all(d["accepted"] for d in told["digits"]), told
    assert told["accepted"] is False
    assert told["reason"] == "digit 3 was cut from touching ink and reads as a lone stroke: write the digits apart"
    apart, _ = code_picture("3713")  # the same digits a gap apart: the 1 is a written stroke, not a cut's
    assert read_code(guard, apart, expected_length=4)["accepted"] is True


def test_an_unsure_digit_is_named_before_the_codes_length_is_asked_for(guard: Guard) -> None:
    # a seam parted two digits and a scribble is read as a digit the guard refuses: the length would not save the
    # code, so the reason names the digit to mend
    first, second = GLYPHS[7], GLYPHS[0]
    lefts = [0.0, touching(first, second, 0.0), 1.6]
    out = read_code(guard, draw([first, second, SCRIBBLE], lefts)[0])
    assert out["accepted"] is False and out["reason"] == "not sure enough of digit 3", out
    sure = read_code(guard, draw([first, second, GLYPHS[1]], lefts)[0])  # a sure third digit: only the length is asked
    assert sure["reason"] == "digits 1 and 2 touch: write the digits apart, or give expected_length", sure


def test_a_wider_part_of_a_cut_mark_is_no_candidate() -> None:
    # touching digits that are one mark: a run of its pieces wider than a digit is read only if it is the whole
    # mark (a wide digit), never a part of it (two of the touching digits, which may read as one sure digit)
    first, second = GLYPHS[2], GLYPHS[3]
    lefts = [0.0, touching(first, second, 0.02)]
    lefts.append(lefts[1] + touching(second, GLYPHS[0], 0.02))
    img, _ = draw([first, second, GLYPHS[0]], lefts)
    found = read_candidates(template_guard(threshold=1e-6), img)  # a guard that accepts anything: no run dropped
    assert len({a.source for a in found.atoms}) == 1  # one mark, cut into pieces
    wide = [(i, j) for (i, j), w in zip(found.spans, found.widths, strict=True) if w > MAX_DIGIT_WIDTH and i < j]
    assert wide == [(0, len(found.atoms) - 1)] or wide == [], wide


def test_specks_are_ignored(guard: Guard) -> None:
    img, boxes = code_picture("1704")
    pen = ImageDraw.Draw(img)
    for x, y in ((95, 120), (180, 20), (300, 215), (12, 120)):  # in gaps, above and below the line, at its start
        pen.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(0, 0, 0))
    out = read_code(guard, img)
    assert_found(out, "1704", boxes)
    assert out["accepted"] is True


@pytest.mark.parametrize("below", [0.15, 0.0])
def test_an_underline_is_not_a_digit(guard: Guard, below: float) -> None:
    img, boxes = code_picture("1704")
    y = boxes[0][3] + round(below * 80)  # 0: the line runs through the digits' feet
    ImageDraw.Draw(img).line([(30, y), (img.size[0] - 30, y)], fill=(0, 0, 0), width=6)
    out = read_code(guard, img)
    assert out["code"] == "1704", out
    assert out["accepted"] is True


def test_a_code_on_two_lines_is_refused(guard: Guard) -> None:
    """Read as one line, each digit would be framed with the one under it ("17" over "04" read as two digits)."""
    img, _ = draw([GLYPHS[d] for d in (1, 7, 0, 4)], [0.0, 1.0, 0.0, 1.0], tops=[0.0, 0.0, 1.3, 1.3])
    with pytest.raises(PreprocessError, match="digits on more than one line: write the code on one line"):
        read_code(guard, img)


def test_a_line_written_downhill_is_one_line(guard: Guard) -> None:
    img, boxes = draw([GLYPHS[d] for d in (1, 7, 0, 4)], [0.0, 1.0, 2.0, 3.0], tops=[0.0, 0.4, 0.8, 1.2])
    assert boxes[0][3] < boxes[3][1]  # the first digit ends above where the last begins: they share no row
    assert_found(read_code(guard, img), "1704", boxes)


@pytest.mark.parametrize(
    ("digits", "lefts", "tops"),
    [
        # "17" over "04", the lines' rows overlapping by a twentieth: `lines` counted one line, read as "1074"
        ((1, 7, 0, 4), [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.95, 0.95]),
        # a 1 written under the gap between the 7 and the 0 of "1704", apart from them: joined to a neighbour
        ((1, 7, 0, 4, 1), [0.0, 1.0, 2.0, 3.0, 1.6], [0.0, 0.0, 0.0, 0.0, 0.6]),
        # a 0 written under the 0 of "1704", touching it: one mark, read as one digit
        ((1, 7, 0, 4, 0), [0.0, 1.0, 2.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0, 0.9]),
        # ... and over the 7, a third of a digit higher, crossing it
        ((1, 7, 0, 4, 3), [0.0, 1.0, 2.0, 3.0, 1.05], [0.0, 0.0, 0.0, 0.0, -0.4]),
    ],
    ids=["two lines close", "a digit under a gap", "a digit under a digit", "a digit over a digit"],
)
def test_a_digit_off_the_line_is_refused(
    guard: Guard, digits: tuple[int, ...], lefts: list[float], tops: list[float]
) -> None:
    img, _ = draw([GLYPHS[d] for d in digits], lefts, tops=tops)
    with pytest.raises(PreprocessError, match="a digit above or below the line of the code: write the code alone"):
        read_code(guard, img, expected_length=4)


def test_a_long_code_written_askew_is_one_line(guard: Guard) -> None:
    """Six digits on a line that drops a sixth of a digit's height each digit (a photo turned ten degrees): the ends
    lie far from the middle's rows (0.4 of a digit, past STICK_OUT), but on the line's course."""
    code = "170417"
    img, boxes = draw([GLYPHS[int(d)] for d in code], [k * 1.0 for k in range(6)], tops=[k / 6 for k in range(6)])
    assert_found(read_code(guard, img), code, boxes)


def test_smaller_writing_under_the_code_is_refused(guard: Guard) -> None:
    """A second, smaller line (a note, another number) is not dropped in silence as specks are."""
    code, _ = code_picture("1704")
    note, _ = code_picture("12", height=36)
    page = Image.new("RGB", (code.width, code.height + note.height - 60), "white")
    page.paste(code, (0, 0))
    page.paste(note, (20, code.height - 60))
    with pytest.raises(PreprocessError, match=r"ink above or below the code \(other writing"):
        read_code(guard, page)
    assert read_code(guard, code)["accepted"] is True  # the code alone is read


def framed_code(kind: str) -> Image.Image:
    """The code 1704 written in a form's printed box, comb (a wall between digits) or cells, or with each digit
    circled."""
    img, boxes = code_picture("1704")
    draw = ImageDraw.Draw(img)
    top, bottom = min(b[1] for b in boxes) - 12, max(b[3] for b in boxes) + 12
    if kind in ("box", "comb"):
        draw.rectangle([boxes[0][0] - 12, top, boxes[-1][2] + 12, bottom], outline=(0, 0, 0), width=3)
    if kind == "box drawn by hand":  # its sides stop short of its top and bottom, by a fifth of a digit's height
        left, right, gap = boxes[0][0] - 12, boxes[-1][2] + 12, 16
        for y in (top, bottom):
            draw.line([(left + gap, y), (right - gap, y)], fill=(0, 0, 0), width=3)
        for x in (left, right):
            draw.line([(x, top + gap), (x, bottom - gap)], fill=(0, 0, 0), width=3)
    if kind == "comb":
        for a, b in itertools.pairwise(boxes):
            draw.line([((a[2] + b[0]) // 2, top), ((a[2] + b[0]) // 2, bottom)], fill=(0, 0, 0), width=3)
    for b in boxes if kind in ("cells", "circles") else []:
        shape = draw.rectangle if kind == "cells" else draw.ellipse
        shape([b[0] - 10, b[1] - 10, b[2] + 10, b[3] + 10], outline=(0, 0, 0), width=3)
    return img


@pytest.mark.parametrize("kind", ["box", "comb", "cells", "circles", "box drawn by hand"])
def test_a_code_in_printed_boxes_is_refused(guard: Guard, kind: str) -> None:
    """A box's sides read as sure 1s ("1704" accepted as "117041"), a cell or a circle as a 0: refused, in one line.
    Also a box drawn by hand, whose sides stop short of its top and bottom (they met them within 2 px)."""
    with pytest.raises(PreprocessError, match="boxes or a frame around the digits: write the code on plain paper"):
        read_code(guard, framed_code(kind))


def faint_zero(share: float = 0.3) -> tuple[Image.Image, list[tuple], np.ndarray]:
    """The code 1704 with its "0" at `share` of the others' contrast, its boxes, and the 0's dark pixels."""
    img, boxes = code_picture("1704")
    x0, y0, x1, y1 = boxes[2]
    grey = np.asarray(img.convert("L")).astype(float)
    region = grey[y0:y1, x0:x1].copy()
    grey[y0:y1, x0:x1] = 255 - (255 - region) * share
    return Image.fromarray(grey.round().astype(np.uint8)).convert("RGB"), boxes, region < 128


@pytest.mark.parametrize(("dark_dots", "share"), [(0, 0.3), (1, 0.3), (0, 0.15), (1, 0.15)])
def test_a_faint_digit_among_dark_ones_is_read_at_its_own_ink_level(guard: Guard, dark_dots: int, share: float) -> None:
    """A digit written with far lighter ink than the others falls under the line's ink level: it must not be lost,
    and is read at its own level, as the guard reads it alone. Also when a pixel or two of it are dark enough to
    count as ink (a dot that is dropped as a speck), and when it is under half the level (0.15 of the others'
    contrast), where the soft edge of the ink stops too: such a digit was lost unseen, and its code read without it."""
    faint, boxes, stroke = faint_zero(share)
    x0, y0 = boxes[2][:2]
    pen = ImageDraw.Draw(faint)
    ys, xs = np.nonzero(stroke)
    for k in np.linspace(0, len(ys) - 1, dark_dots).astype(int):  # dark dots on its stroke
        pen.ellipse([x0 + xs[k] - 1, y0 + ys[k] - 1, x0 + xs[k] + 1, y0 + ys[k] + 1], fill=(0, 0, 0))
    found = read_candidates(guard, faint)
    assert found.unread == 0
    out = decide(guard, found)
    assert_found(out, "1704", boxes)
    assert out["digits"][2]["accepted"] is True, out


def test_a_faint_mark_unreadable_at_its_own_level_refuses_the_code(guard: Guard) -> None:
    """A faint digit whose own strongest ink is a dark blot (the blot sets its level, and its faint strokes stay
    under it) is still lost ink: the code is refused, never read without it."""
    faint, boxes, stroke = faint_zero()
    x0, y0 = boxes[2][:2]
    ys, xs = np.nonzero(stroke)
    y, x = y0 + ys[len(ys) // 2], x0 + xs[len(xs) // 2]
    ImageDraw.Draw(faint).ellipse([x - 9, y - 9, x + 9, y + 9], fill=(0, 0, 0))  # over a tenth of its ink
    found = read_candidates(guard, faint)
    assert found.unread == 1
    out = decide(guard, found)
    assert out["accepted"] is False and "faint" in out["reason"], out
    # ... whatever the count asked: "174" has the 3 digits of a code of 3, and still leaves the faint 0 unread
    told = decide(guard, found, expected_length=3)
    assert told["code"] == "174" and told["accepted"] is False and "faint" in told["reason"], told


def faint_fifth(left: float, top: float, share: float = 0.3) -> tuple[np.ndarray, list[tuple]]:
    """The code 1704 (grey levels) with a faint 1 (`share` of the ink's contrast) drawn `left`, `top` digit heights
    away from the line's start, and the five ink boxes."""
    img, boxes = draw([GLYPHS[int(d)] for d in "17041"], [0.0, 1.0, 2.0, 3.0, left], margin=80, tops=[0, 0, 0, 0, top])
    x0, y0, x1, y1 = boxes[4]
    grey = np.asarray(img.convert("L")).astype(float)
    grey[y0:y1, x0:x1] = 255 - (255 - grey[y0:y1, x0:x1]) * share
    return grey, boxes


def read_grey(guard: Guard, grey: np.ndarray) -> tuple[int, dict[str, Any]]:
    """A code picture's grey levels read: how many faint marks stayed unread, and the verdict."""
    found = read_candidates(guard, Image.fromarray(grey.round().astype(np.uint8)))
    return found.unread, decide(guard, found)


@pytest.mark.parametrize("share", [0.3, 0.15])
def test_a_faint_mark_off_the_line_is_never_read_as_ink(guard: Guard, share: float) -> None:
    """A faint digit-tall mark above the line (a shadow's edge, a light stroke of something else) is no digit of the
    code: it is not turned into ink (where it could join a digit of the line and be read with it), it stays lost,
    and the code is refused."""
    grey, boxes = faint_fifth(1.5, -1.1, share)
    assert boxes[4][3] < min(b[1] for b in boxes[:4])  # above the line, apart from it
    unread, out = read_grey(guard, grey)
    assert unread == 1
    assert out["code"] == "1704" and out["accepted"] is False and "faint" in out["reason"], out


@pytest.mark.parametrize("side", ["above", "below"])
def test_a_faint_mark_off_the_line_that_the_frame_cuts_is_no_lost_digit(guard: Guard, side: str) -> None:
    """A faint digit-tall mark wholly above or below the line that runs into the picture's top or bottom edge (a
    photo's vignette or a shadow at its border, writing the frame cut) is no digit of the code: the code is read and
    accepted. The same mark within the picture still refuses the code. (Counted as a lost digit, it refused right codes
    of benchmarks/codes.py's photos: "faint marks".)"""
    grey, boxes = faint_fifth(1.5, -1.4 if side == "above" else 1.4)  # apart from the line, past its band
    unread, out = read_grey(guard, grey)
    assert unread == 1 and out["accepted"] is False and "faint" in out["reason"], out
    # the frame cuts the faint mark, leaving three quarters of it: still digit-tall
    y0, y1 = boxes[4][1], boxes[4][3]
    cut = round(y0 + 0.25 * (y1 - y0)) if side == "above" else round(y1 - 0.25 * (y1 - y0))
    unread, out = read_grey(guard, grey[cut:] if side == "above" else grey[:cut])
    assert unread == 0
    shift = cut if side == "above" else 0
    assert_found(out, "1704", [(a, b - shift, c, d - shift) for a, b, c, d in boxes[:4]])
    assert out["accepted"] is True, out


def test_a_faint_mark_off_the_line_that_the_frame_cuts_at_its_side_still_refuses_the_code(guard: Guard) -> None:
    """A faint digit-tall mark above the line that runs into the picture's side, not its top, may be the last digit
    of a line that climbs, written lighter and cut by the frame: never taken for shade, the code is refused."""
    grey, boxes = faint_fifth(4.5, -1.4)
    x0, x1 = boxes[4][0], boxes[4][2]
    unread, out = read_grey(guard, grey[:, : round(x1 - 0.25 * (x1 - x0))])
    assert unread == 1 and out["accepted"] is False and "faint" in out["reason"], out


def test_a_faint_patch_of_shade_is_no_lost_digit(guard: Guard) -> None:
    """Uneven light darkens a digit-tall patch of paper below the line, under half the ink level: it rises above the
    noise floor as a faint mark, but at its own level it is a filled patch, not strokes (`detect.strokes`): no digit
    is lost, and the code is read. (Counted as a lost digit, it refused the code: "faint marks".)"""
    img, boxes = code_picture("1704")
    height = boxes[0][3] - boxes[0][1]
    grey = np.pad(np.asarray(img.convert("L")).astype(float), ((0, 2 * height), (0, 0)), constant_values=255)
    centre = (max(b[3] for b in boxes) + 20 + height / 2, (boxes[0][0] + boxes[-1][2]) / 2)  # under the line
    rows, cols = np.ogrid[: grey.shape[0], : grey.shape[1]]
    shade = np.exp(-(((rows - centre[0]) / (0.5 * height)) ** 2) - ((cols - centre[1]) / (1.5 * height)) ** 2)
    grey = grey - 30 * shade  # a tenth of the ink's contrast at its darkest
    found = read_candidates(guard, Image.fromarray(np.clip(grey, 0, 255).round().astype(np.uint8)))
    assert found.unread == 0
    out = decide(guard, found)
    assert_found(out, "1704", boxes)
    assert out["accepted"] is True, out


EDGE = "ink runs into the picture's edge: the code may go on past it; photograph it with room all around"


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_page_edge_beside_the_code_refuses_it_even_with_its_length(guard: Guard, side: str) -> None:
    # a photo's dark border (the table beside the page, a vignette) reads as a sure 1 at the end of the code
    img, boxes = code_picture("370")
    band = np.asarray(img).copy()
    width = img.size[0]
    cols = slice(0, 6) if side == "left" else slice(width - 6, width)
    band[boxes[0][1] : boxes[0][3], cols] = 0  # a digit-tall dark strip on the picture's side, the paper between
    found = read_candidates(guard, Image.fromarray(band))
    out = decide(guard, found, expected_length=4)
    assert out["code"] == ("1370" if side == "left" else "3701") and all(d["accepted"] for d in out["digits"]), out
    assert out["accepted"] is False and out["reason"] == EDGE
    assert read_code(guard, img, expected_length=3)["accepted"] is True  # the same code with its paper all round


def test_a_code_the_frame_cuts_is_refused(guard: Guard) -> None:
    img, boxes = code_picture("3704")
    cut = img.crop((0, 0, (boxes[3][0] + boxes[3][2]) // 2, img.size[1]))  # the 4's right half is off the picture
    out = read_code(guard, cut, expected_length=4)
    assert out["accepted"] is False and out["reason"] == EDGE, out
    whole = img.crop((0, 0, boxes[3][2] + 10, img.size[1]))  # cropped close, but the 4 ends on paper
    assert read_code(guard, whole, expected_length=4)["accepted"] is True


def test_a_code_cropped_to_its_ink_is_read(guard: Guard) -> None:
    # a picture cut to its line, as people crop a code: its ink touches every side, and runs from edge to edge
    img, boxes = code_picture("3704")
    tight = img.crop((boxes[0][0], min(b[1] for b in boxes), boxes[3][2], max(b[3] for b in boxes)))
    out = read_code(guard, tight, expected_length=4)
    assert out["code"] == "3704" and out["accepted"] is True, out
    one_side = img.crop((boxes[0][0], 0, img.size[0], img.size[1]))  # cut at the 3 only: the line may go on past it
    assert read_code(guard, one_side, expected_length=4)["reason"] == EDGE


def test_one_refused_digit_refuses_the_code(guard: Guard) -> None:
    img, _ = draw([GLYPHS[1], GLYPHS[7], SCRIBBLE, GLYPHS[4]], [0.0, 1.0, 2.0, 3.0])
    out = read_code(guard, img)
    assert len(out["digits"]) == 4
    assert [d["accepted"] for d in out["digits"]] == [True, True, False, True]
    assert out["accepted"] is False and "digit 3" in out["reason"]


def test_expected_length_must_match(guard: Guard) -> None:
    img, _ = code_picture("1704")
    assert read_code(guard, img, expected_length=4)["accepted"] is True
    out = read_code(guard, img, expected_length=5)
    assert out["accepted"] is False and out["code"] == "1704" and "expected 5" in out["reason"]
    assert all(d["accepted"] for d in out["digits"])  # each digit was sure: the count alone refuses


def test_an_ambiguous_segmentation_refuses(guard: Guard) -> None:
    # two bars 0.05 apart: "11" written too close, or this world's 8. Whether the template net reads the pair surely
    # as an 8 depends on how the crop is framed, so the pair's candidate is made a sure 8 here: what is tested is the
    # rule (both readings sure, so neither is taken), not the net
    img, _ = draw([GLYPHS[2], GLYPHS[8], GLYPHS[3]], [0.0, 1.0, 2.0])
    found = read_candidates(guard, img)
    sure = guard.decide(found.probs)
    ones = {i for k, (i, j) in enumerate(found.spans) if i == j and sure[k] and found.probs[k].argmax() == 1}
    pair = [k for k, (i, j) in enumerate(found.spans) if j == i + 1 and {i, j} <= ones]
    assert len(pair) == 1, found.spans
    if not guard.decide(found.probs[pair]).all():  # the net is unsure of the pair: "2113" alone is sure
        alone = decide(guard, found)
        assert alone["code"] == "2113" and alone["accepted"] is True
    found.probs[pair[0]] = np.eye(10)[8] * (1 - 1e-6) + 1e-7
    out = decide(guard, found)
    assert out["code"] in {"283", "2113"} and out["accepted"] is False, out
    assert "ambiguous" in out["reason"]
    # told the count, a reading of the other count is no rival: the reading of that count is accepted, the other
    # count refused
    told = decide(guard, found, expected_length=len(out["code"]))
    assert told["accepted"] is True and told["code"] == out["code"], told
    assert decide(guard, found, expected_length=7 - len(out["code"]))["accepted"] is False
    apart, _ = code_picture("2113")  # the same 1s a normal gap apart read as two digits, surely
    assert read_code(guard, apart)["accepted"] is True


def test_a_reading_that_wins_only_by_the_guards_refusals_is_ambiguous(guard: Guard) -> None:
    """A 0 cut in two whose halves read as a sure 1 and a sure 0, while the whole reads likelier but unsure: the sure
    split ("7107") would win by the refusal's cost alone, so the code is refused as ambiguous, not read as 7107."""
    img, _ = code_picture("707")
    found = read_candidates(guard, img)
    sure_7 = [k for k, (i, j) in enumerate(found.spans) if i == j and found.probs[k].argmax() == 7]
    (whole,) = [k for k, (i, j) in enumerate(found.spans) if (i, j) == (1, 3)]  # the 0, cut into atoms 1, 2 and 3
    (left,) = [k for k, (i, j) in enumerate(found.spans) if (i, j) == (1, 1)]
    (right,) = [k for k, (i, j) in enumerate(found.spans) if (i, j) == (2, 3)]
    assert len(sure_7) == 2 and guard.decide(found.probs[sure_7]).all()

    def belief(digit: int, p: float) -> np.ndarray:
        return np.eye(10)[digit] * p + (1 - p) / 9 * (1 - np.eye(10)[digit])

    for k in range(len(found.spans)):
        if k not in sure_7:
            found.probs[k] = np.full(10, 0.1)  # every other candidate: no digit at all
    found.probs[whole], found.probs[left], found.probs[right] = belief(0, 0.985), belief(1, 0.9995), belief(0, 0.9995)
    assert not guard.decide(found.probs[[whole]])[0] and guard.decide(found.probs[[left, right]]).all()
    out = decide(guard, found)
    assert out["code"] == "7107" and out["accepted"] is False, out
    assert out["reason"] == "ambiguous: could also be 707"
    # ... with the code's length too: the ink alone reads likelier as a code of another count, so the cuts are in doubt
    assert decide(guard, found, expected_length=4)["reason"] == "ambiguous: could also be 707"
    found.probs[whole] = belief(0, 0.5)  # the whole now reads less likely than its sure halves: nothing competes
    told = decide(guard, found, expected_length=4)
    # ... but the 1 is a stroke a seam cut from the 0: refused even with the code's length, and no longer as ambiguous
    assert told["accepted"] is False, told
    assert told["reason"] == "digit 2 was cut from touching ink and reads as a lone stroke: write the digits apart"
    # ... and without the code's length, the count of the touching ink is a guess first
    assert "touch" in decide(guard, found)["reason"]


def test_all_candidates_are_read_in_one_call(guard: Guard) -> None:
    calls = []
    inner = guard._logits
    guard._logits = lambda x: calls.append(len(x)) or inner(x)  # type: ignore[method-assign]
    try:
        read_code(guard, code_picture("0123456")[0])
    finally:
        guard._logits = inner  # type: ignore[method-assign]
    assert len(calls) == 1 and calls[0] >= 7


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (Image.new("RGB", (400, 120), (255, 255, 255)), "blank"),
        (Image.new("L", (5, 5), 0), "at least 8x8"),
    ],
)
def test_unusable_pictures_raise(guard: Guard, image: Image.Image, message: str) -> None:
    with pytest.raises(PreprocessError, match=message):
        read_code(guard, image)


def test_only_specks_and_lines_is_no_code(guard: Guard) -> None:
    img = Image.new("RGB", (500, 200), (255, 255, 255))
    pen = ImageDraw.Draw(img)
    pen.line([(20, 150), (480, 150)], fill=(0, 0, 0), width=5)
    pen.ellipse([100, 50, 104, 54], fill=(0, 0, 0))
    with pytest.raises(PreprocessError, match="no digits"):
        read_code(guard, img)


@pytest.mark.parametrize("size", [(640, 8), (1000, 24), (2000, 32), (300, 9)])
def test_a_strip_a_few_px_tall_is_no_code_and_no_crash(guard: Guard, size: tuple[int, int]) -> None:
    """Half dark, half light: the light half is a line of pixels once shrunk, whose hull has no area (scipy's
    QhullError escaped from the sheet finder: predict showed qhull's own message)."""
    w, h = size
    strip = np.full((h, w), 255, np.uint8)
    strip[h // 2 :, : w // 2] = 0
    with pytest.raises(PreprocessError):
        read_code(guard, Image.fromarray(strip))


def test_bad_files_in_code_mode_get_an_error(guard: Guard, tmp_path: Path) -> None:
    code_picture("1704")[0].save(tmp_path / "good.png")
    (tmp_path / "text.png").write_text("not an image")
    Image.new("RGB", (300, 100), (250, 250, 250)).save(tmp_path / "blank.png")
    Image.new("1", (8000, 6000)).save(tmp_path / "huge.png")  # 48 MP, tiny on disk
    results = {p.name: read_file(guard, p, mode="code") for p in sorted(tmp_path.iterdir())}
    assert results["good.png"]["code"] == "1704" and "error" not in results["good.png"]
    expected = {"text.png": "not an image", "blank.png": "blank", "huge.png": "over the 40 MP limit"}
    for name, message in expected.items():
        out = results[name]
        assert message in out["error"] and out["accepted"] is False and out["code"] is None and out["digits"] == []


def test_predict_cli_code_mode(tiny_ckpt: Path, tmp_path: Path) -> None:
    """The CLI's contract (the tiny model cannot read these digits: the test is about the JSON and the exit status)."""
    code_picture("1704")[0].save(tmp_path / "code.png")
    ok = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{tmp_path}]", "mode=code", "expected_length=4")
    assert ok.returncode == 0, ok.stderr[-2000:]  # refused or not, every picture was read
    (line,) = [json.loads(s) for s in ok.stdout.splitlines()]
    assert {"path", "code", "confidence", "accepted", "digits"} <= set(line) and "error" not in line
    assert all(set(d) == {"digit", "confidence", "accepted", "box"} and len(d["box"]) == 4 for d in line["digits"])
    assert line["accepted"] is False or len(line["code"]) == 4
    (tmp_path / "broken.png").write_text("x")
    bad = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{tmp_path}]", "mode=code")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert [("error" in json.loads(s)) for s in bad.stdout.splitlines()] == [True, False]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["mode=codes"], "mode='codes' is not a mode"),
        (["mode=code", "expected_length=0"], "between 1 and"),
        (["mode=code", "expected_length=six"], "whole number"),
        (["expected_length=6"], "mode=code only"),
    ],
)
def test_predict_cli_refuses_bad_mode_options(tiny_ckpt: Path, tmp_path: Path, overrides: list, message: str) -> None:
    code_picture("17")[0].save(tmp_path / "code.png")
    res = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{tmp_path}]", *overrides)
    assert res.returncode == 2 and res.stdout == ""
    (line,) = error_lines(res)
    assert message in line


@pytest.fixture(scope="module")
def mnist_guard(mnist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Guard:
    """A small CNN trained for one epoch on the real MNIST (fast_cpu's recipe), calibrated on its validation split."""
    overrides = [
        "experiment=fast_cpu",
        "trainer.max_epochs=1",
        "trainer.check_val_every_n_epoch=1",
        "logger=none",
        "callbacks.progress_bar=null",
    ]
    return Guard.load(train(compose_train(overrides, tmp_path_factory.mktemp("code_run"), mnist_dir))["best_ckpt"])


@pytest.mark.mnist
def test_codes_of_real_test_digits(mnist_guard: Guard, mnist_dir: Path) -> None:
    """Clean pictures of codes written with MNIST test digits: found, mostly read, and not accepted wrong when the
    length is known."""
    images, labels = code_digits(mnist_dir, "test")
    rng = np.random.default_rng(2024)
    seen: dict[str, list[tuple[bool, bool]]] = {"separate": [], "touching": []}
    digits_right: list[bool] = []
    wrong = {"told the length": 0, "not told": 0}
    for kind, rows in seen.items():
        for length in (3, 4, 5, 6) * 10:
            code = render_code(images, labels, rng, length=length, kind=kind, look="clean")
            found = read_candidates(mnist_guard, code.image)
            out, told = decide(mnist_guard, found), decide(mnist_guard, found, expected_length=length)
            boxes = [d["box"] for d in out["digits"]]
            segmented = len(boxes) == length and all(iou(f, t) > 0.3 for f, t in zip(boxes, code.boxes, strict=True))
            if segmented:
                digits_right += [d["digit"] == int(t) for d, t in zip(out["digits"], code.digits, strict=True)]
            rows.append((segmented, out["code"] == code.digits))
            wrong["not told"] += out["accepted"] and out["code"] != code.digits
            wrong["told the length"] += told["accepted"] and told["code"] != code.digits
    separate, touching = np.array(seen["separate"]), np.array(seen["touching"])
    # two touching digits read as one sure digit can pass when the length is not known (see README's limits)
    assert wrong["told the length"] == 0 and wrong["not told"] <= 2, wrong
    # measured here, one epoch of training (1 or 2 threads): 0.70 of the separate codes segmented and 0.53 read
    # right, 0.33 of the touching ones segmented, 0.89-0.90 of the digits of segmented codes read right; the bounds
    # leave room for other CPUs and for changes upstream (renderer, calibration)
    assert separate[:, 0].mean() >= 0.55 and separate[:, 1].mean() >= 0.35, separate.mean(0)
    assert touching[:, 0].mean() >= 0.15, touching.mean(0)
    assert np.mean(digits_right) >= 0.8, np.mean(digits_right)
