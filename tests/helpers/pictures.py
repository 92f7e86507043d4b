"""Pictures the serving tests send: digits drawn as on the page's pad, and encoded files."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageDraw

from tests.helpers.paths import ROOT

STATIC = ROOT / "digit_lit" / "static"


def page_number(pattern: str, file: str = "app.js") -> int:
    """A number the page itself uses, read from its file: the tests draw and send as the page does."""
    match = re.search(pattern, (STATIC / file).read_text())
    assert match, f"{pattern} not found in {file}"
    return int(match.group(1))


PAD = page_number(r'<canvas id="pad" width="(\d+)"', "index.html")  # the drawing pad, in pixels
PEN = page_number(r"const STROKE = (\d+);")  # its pen width
SEND_SIDE = page_number(r"const SEND_SIDE = (\d+);")  # the side of the PNG the page sends ...
SEND_MARGIN = page_number(r"const SEND_MARGIN = (\d+);")  # ... with this much paper added around it
CODE_WIDTH = page_number(r"const CODE_WIDTH = (\d+);")  # the pad's width in code mode (as tall as in digit mode)
CODE_SEND_WIDTH = page_number(r"const CODE_SEND_WIDTH = (\d+);")  # the width of the PNG it sends then

# polylines in pad pixels, as a hand draws them
STROKES: dict[str, list[list[tuple[int, int]]]] = {
    "1": [[(140, 40), (140, 240)]],
    "7": [[(70, 50), (210, 50), (120, 240)]],
    "4": [[(170, 240), (170, 40), (60, 170), (220, 170)]],
    "0": [[(140, 40), (80, 90), (80, 190), (140, 240), (200, 190), (200, 90), (140, 40)]],
}

# "1 7 1" on the code pad (CODE_WIDTH x PAD), each digit in separate strokes, as a hand writes a short code
CODE_171: list[list[tuple[int, int]]] = [
    [(200, 40), (200, 240)],
    [(350, 50), (490, 50)],
    [(490, 50), (390, 240)],
    [(640, 40), (640, 240)],
]


def drawn(lines: list[list[tuple[int, int]]], side: int = PAD, mode: str = "RGB") -> Image.Image:
    """Black pen strokes on white, drawn on the pad and shrunk to side x side."""
    img = Image.new("RGB", (PAD, PAD), "white")
    draw = ImageDraw.Draw(img)
    for line in lines:
        draw.line(line, fill="black", width=PEN, joint="curve")
    return img.resize((side, side), Image.Resampling.BILINEAR).convert(mode)


def fake_digit(digit: int, side: int = 140) -> Image.Image:
    """A bar digit of the tiny fake MNIST (tests/helpers/tiny_mnist.py), dark on light paper, large."""
    img = np.full((28, 28), 255, np.uint8)
    img[2 + 2 * digit : 4 + 2 * digit, 4:24] = 0
    img[4:24, 4 + digit : 6 + digit] = 0
    return Image.fromarray(img).resize((side, side), Image.Resampling.NEAREST)


def fake_digit_png(path: Path, digit: int) -> Path:
    """`fake_digit` saved as a PNG file, for predict."""
    fake_digit(digit, 280).save(path)
    return path


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def png_pixels(b64: str) -> np.ndarray:
    """A base64 PNG (a 28x28 view in an answer of the server) as its pixels."""
    with Image.open(io.BytesIO(base64.b64decode(b64))) as img:
        return np.asarray(img)


# How a camera stores a picture that viewers show upright, for each EXIF orientation (the EXIF standard's meaning,
# written out here so that the tests check digit_lit's reading of the tag against the standard, not against itself).
STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,  # the phone held upside down
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # a portrait photo: stored a quarter turn anticlockwise, shown turned clockwise
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def as_stored(upright: Image.Image, orientation: int, fmt: str = "PNG") -> bytes:
    """The file a camera writes of `upright` with this EXIF orientation: the pixels as it stores them, and the tag that
    tells viewers how to turn them back."""
    move = STORED[orientation]
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    buf = io.BytesIO()
    (upright if move is None else upright.transpose(move)).save(buf, format=fmt, exif=exif)
    return buf.getvalue()


def as_shown(stored: Image.Image, orientation: int) -> Image.Image:
    """Stored pixels (no tag) turned as viewers turn them for this EXIF orientation: the picture a person sees."""
    move = STORED[orientation]
    if move is None:
        return stored
    turns = {
        Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
        Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
    }
    return stored.transpose(turns.get(move, move))  # the flips, the half turn and the two diagonals undo themselves
