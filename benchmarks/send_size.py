"""What the page's SEND_SIDE costs and gives: MNIST test digits drawn as on the pad, sent at several sides.

    python benchmarks/send_size.py MODEL [--n 1000] [--sides 280 168 112 84 56] [--data-dir data] [--frame 280]
    python benchmarks/send_size.py MODEL --code [--n 300] [--sides 840 640 560 420 336]

Each of the first N official test digits becomes a pad drawing: its 28x28 frame scaled to the 280-px pad (or to
--frame px: a digit drawn small) and cut to hard black strokes on white (about the pad's pen width at full size).
The drawing is shrunk to each side (as the page's canvas does before sending) and read as the server reads it: PNG
decode, to_mnist, guard. Prints, per side, the PNG size, the CPU time per image (one core), the accuracy, the share
accepted, the wrong accepts and the pictures preprocessing refused (unusable: read wrong, not accepted).

With --code, the same for the page's CODE_SEND_WIDTH: N codes of 3, 4, 6 and 10 consecutive test digits, written
side by side on the code pad (840 x 280 px; each digit's frame as tall as the pad, or smaller so that the code fits:
a longer code is written smaller), each side being the width sent; read as the server reads mode=code
(`detect.read_code`), without and with expected_length.
"""

from __future__ import annotations

import argparse
import io
import itertools
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from digit_lit.data import load_split
from digit_lit.detect import read_code
from digit_lit.guard import Guard
from digit_lit.predict import FORMATS
from digit_lit.preprocess import PreprocessError

PAD = 280
CODE_WIDTH = 840  # the page's code pad (static/app.js CODE_WIDTH), PAD tall
CODE_LENGTHS = (3, 4, 6, 10)
SEND_MARGIN = 8  # paper the page adds around what it sends (static/app.js SEND_MARGIN)


def strokes(digit: np.ndarray, size: int) -> Image.Image:
    """An MNIST digit's 28x28 frame scaled to size x size and cut to hard black strokes on white, as drawn."""
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR))
    return Image.fromarray(np.where(big > 100, 0, 255).astype(np.uint8))


def pad_drawing(digit: np.ndarray, size: int = PAD) -> Image.Image:
    """An MNIST digit as a person would draw it on the pad: hard black strokes on white, its 28x28 frame scaled to
    size x size (PAD: the frame fills the pad, the digit ~200 px tall) and placed off-centre when smaller."""
    pad = Image.new("L", (PAD, PAD), 255)
    pad.paste(strokes(digit, size), ((PAD - size) // 3, (PAD - size) // 2))
    return pad.convert("RGB")


def code_drawing(digits: np.ndarray) -> Image.Image:
    """A code of MNIST digits written on the code pad: their frames side by side, centred, each as tall as the pad or
    smaller so that all fit (neighbouring frames leave the digits MNIST's margins apart)."""
    size = min(PAD, CODE_WIDTH // len(digits))
    pad = Image.new("L", (CODE_WIDTH, PAD), 255)
    left = (CODE_WIDTH - size * len(digits)) // 2
    for k, digit in enumerate(digits):
        pad.paste(strokes(digit, size), (left + k * size, (PAD - size) // 2))
    return pad.convert("RGB")


def png(drawing: Image.Image, width: int) -> bytes:
    """The drawing shrunk to `width` (keeping its shape) as the page's canvas sends it, with paper around it."""
    buf = io.BytesIO()
    small = drawing.resize((width, round(width * drawing.height / drawing.width)), Image.Resampling.BILINEAR)
    ImageOps.expand(small, SEND_MARGIN, "white").save(buf, "PNG")
    return buf.getvalue()


# what a picture preprocessing refuses counts as (its one-line error is the verdict): read wrong, not accepted
UNREAD_DIGIT = {"digit": -1, "accepted": False}
UNREAD_CODE = {"code": None, "accepted": False}


def verdict(read: Callable[[Image.Image], dict[str, Any]], data: bytes, unread: dict[str, Any]) -> dict[str, Any]:
    """`read` of the PNG `data`, as the server reads it, or `unread` when preprocessing refuses the picture."""
    with Image.open(io.BytesIO(data), formats=FORMATS) as img:
        try:
            return read(img)
        except PreprocessError:
            return unread


def codes(model: str, images: np.ndarray, labels: np.ndarray, widths: list[int]) -> None:
    """--code: codes written on the code pad, sent at each width, read as the server reads mode=code."""
    guard = Guard.load(model)
    lengths = [CODE_LENGTHS[i % len(CODE_LENGTHS)] for i in range(len(images))]
    starts = np.cumsum([0, *lengths])
    spans = [(a, b) for a, b in itertools.pairwise(starts) if b <= len(images)]
    drawings = [code_drawing(images[a:b]) for a, b in spans]
    truth = ["".join(map(str, labels[a:b])) for a, b in spans]
    pad = f"{CODE_WIDTH}x{PAD}"
    print(f"{len(spans)} codes of {CODE_LENGTHS} MNIST test digits on the {pad} code pad; {guard.identity['model']}")
    for width in widths:
        pngs = [png(d, width) for d in drawings]
        start = time.process_time()
        read, told = [], []
        for data, code in zip(pngs, truth, strict=True):
            read.append(verdict(partial(read_code, guard), data, UNREAD_CODE))
            told.append(verdict(partial(read_code, guard, expected_length=len(code)), data, UNREAD_CODE))
        cpu_ms = (time.process_time() - start) * 1000 / (2 * len(pngs))
        right = np.array([r["code"] == c for r, c in zip(read, truth, strict=True)])
        accepted, accepted_told = (np.array([r["accepted"] for r in rs]) for rs in (read, told))
        wrong = int((accepted & ~right).sum())
        wrong_told = sum(r["accepted"] and r["code"] != c for r, c in zip(told, truth, strict=True))
        sizes = np.array([len(c) for c in truth])
        by_length = ", ".join(f"{n}: {right[sizes == n].mean():.2f}" for n in CODE_LENGTHS)
        print(
            f"width {width:3d}: PNG {np.mean([len(p) for p in pngs]):6.0f} bytes   {cpu_ms:5.1f} ms CPU per code   "
            f"read right {right.mean():.3f} ({by_length})   accepted {accepted.mean():.3f}   wrong accepts {wrong}"
            f"   with expected_length: accepted {accepted_told.mean():.3f}, wrong accepts {wrong_told}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--n", type=int, help="digits, or with --code codes (default 1000, or 300 codes)")
    parser.add_argument("--sides", type=int, nargs="+", help="sides sent (default 280 168 112 84 56, or widths)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--frame", type=int, default=PAD, help="the digit's 28x28 frame on the pad, in pixels")
    parser.add_argument("--code", action="store_true", help="codes on the code pad, read as mode=code")
    args = parser.parse_args()
    images, labels = load_split(args.data_dir, train=False, download=False)
    if args.code:
        n = sum(CODE_LENGTHS) * (args.n or 300) // len(CODE_LENGTHS)
        codes(args.model, images[:n].numpy(), labels[:n].numpy(), args.sides or [840, 640, 560, 420, 336])
        return
    args.n, args.sides = args.n or 1000, args.sides or [280, 168, 112, 84, 56]
    guard = Guard.load(args.model)
    images, labels = images[: args.n].numpy(), labels[: args.n].numpy()
    drawings = [pad_drawing(d, args.frame) for d in images]
    print(f"{args.n} MNIST test digits drawn in a {args.frame}-px frame on the {PAD}-px pad; {guard.identity['model']}")
    for side in args.sides:
        pngs = [png(drawing, side) for drawing in drawings]
        start = time.process_time()
        verdicts = []
        for data in pngs:
            verdicts.append(verdict(guard.read, data, UNREAD_DIGIT))
        cpu_ms = (time.process_time() - start) * 1000 / len(pngs)
        digits = np.array([v["digit"] for v in verdicts])
        accepted = np.array([v["accepted"] for v in verdicts])
        print(
            f"side {side:3d}: PNG {np.mean([len(p) for p in pngs]):6.0f} bytes   {cpu_ms:5.2f} ms CPU per image   "
            f"accuracy {np.mean(digits == labels):.4f}   accepted {accepted.mean():.3f}   "
            f"wrong accepts {int((accepted & (digits != labels)).sum())}   unusable {int((digits < 0).sum())}"
        )


if __name__ == "__main__":
    main()
