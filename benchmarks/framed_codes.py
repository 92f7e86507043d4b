"""Codes written in a form's boxes, and codes with other writing near them: what the code reader makes of them.

    python benchmarks/framed_codes.py MODEL [--n 40] [--split test] [--seed 0] [--data-dir data]

`digit_lit.codes` renders N codes of 4-6 separate digits per look (clean, scan, photo, low resolution); each is then
drawn into a printed frame: a box around the code, a comb (a box with a wall between neighbouring digits), one cell a
digit, a circle around each digit. Other codes, drawn as black ink on white, are given company: a second line of
digits as tall under them, or a line of digits half as tall. Every picture is read without and with
`expected_length`. Prints, per case: codes accepted, accepted with a wrong code (the frame read as digits: a box's
sides as 1s, a cell as a 0; the other line read), refused, and refused as unusable (`error`).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
from PIL import Image, ImageDraw

from digit_lit.codes import LOOKS, Code, code_digits, render_code
from digit_lit.detect import read_code
from digit_lit.guard import Guard
from digit_lit.preprocess import PreprocessError

PEN = 3  # a printed line, in px of the rendered code


def span(code: Code, pad: int) -> tuple[int, int, int, int]:
    xs = [b[0] for b in code.boxes] + [b[2] for b in code.boxes]
    ys = [b[1] for b in code.boxes] + [b[3] for b in code.boxes]
    return min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad


def box(code: Code, rng: np.random.Generator) -> Image.Image:
    img = code.image.convert("RGB")
    ImageDraw.Draw(img).rectangle(span(code, int(rng.integers(6, 20))), outline="black", width=PEN)
    return img


def comb(code: Code, rng: np.random.Generator) -> Image.Image:
    img = box(code, rng)
    _, y0, _, y1 = span(code, PEN)
    draw = ImageDraw.Draw(img)
    for a, b in itertools.pairwise(code.boxes):
        middle = (a[2] + b[0]) // 2
        draw.line([(middle, y0), (middle, y1)], fill="black", width=PEN)
    return img


def cells(code: Code, rng: np.random.Generator) -> Image.Image:
    img = code.image.convert("RGB")
    _, y0, _, y1 = span(code, int(rng.integers(6, 20)))
    for b in code.boxes:
        ImageDraw.Draw(img).rectangle([b[0] - 8, y0, b[2] + 8, y1], outline="black", width=PEN)
    return img


def circles(code: Code, rng: np.random.Generator) -> Image.Image:
    img = code.image.convert("RGB")
    for b in code.boxes:
        pad = int(rng.integers(8, 16))
        ImageDraw.Draw(img).ellipse([b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad], outline="black", width=PEN)
    return img


def drawing(code: Code) -> np.ndarray:
    """A code's ink before the photo (`Code.ink`: float [H, W], 1 = ink)."""
    assert code.ink is not None
    return code.ink


def digit_height(code: Code) -> float:
    """The median height of a code's digits, in px of its drawing."""
    return float(np.median([b[3] - b[1] for b in code.boxes])) * drawing(code).shape[0] / code.image.size[1]


def stacked(top: Code, bottom: Code, size: float, overlap: float = 0.0) -> Image.Image:
    """Two codes' ink, black on one white page: `bottom` written under `top`, its digits `size` times as tall as top's,
    `overlap` of top's digit height closer than their margins would put it."""
    upper, lower = drawing(top), drawing(bottom)
    scale = size * digit_height(top) / digit_height(bottom)
    shape = (max(1, round(lower.shape[1] * scale)), max(1, round(lower.shape[0] * scale)))
    under = np.asarray(Image.fromarray(lower).resize(shape, Image.Resampling.BILINEAR))
    y = upper.shape[0] - round(overlap * digit_height(top))
    page = np.zeros((y + under.shape[0], max(upper.shape[1], under.shape[1])), np.float32)
    page[: upper.shape[0], : upper.shape[1]] = upper
    np.maximum(page[y:, : under.shape[1]], under, out=page[y:, : under.shape[1]])
    return Image.fromarray(np.rint((1 - np.clip(page, 0, 1)) * 255).astype(np.uint8))


FRAMES: dict[str, Callable[[Code, np.random.Generator], Image.Image]] = {
    "none": lambda code, rng: code.image,
    "box": box,
    "comb": comb,
    "cells": cells,
    "circles": circles,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a guard's .ckpt or .onnx")
    parser.add_argument("--n", type=int, default=40, help="codes per look")
    parser.add_argument("--split", default="test", choices=["test", "val"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    guard = Guard.load(args.model)
    images, labels = code_digits(args.data_dir, args.split)
    rng = np.random.default_rng(args.seed)
    codes = [
        render_code(images, labels, rng, length=int(rng.integers(4, 7)), kind="separate", look=look)
        for look in LOOKS
        for _ in range(args.n)
    ]
    cases: dict[str, list[tuple[Image.Image, str]]] = {
        name: [(frame(code, rng), code.digits) for code in codes] for name, frame in FRAMES.items()
    }
    # company: a second code on the next line, as tall, or half as tall (the written code: the first), both drawn as
    # black ink on one white page (two photos pasted together would add the edges of their papers)
    clean = [render_code(images, labels, rng, length=len(c.digits), kind="separate") for c in codes]
    seconds = [render_code(images, labels, rng, length=len(c.digits), kind="separate") for c in codes]
    pairs = list(zip(clean, seconds, strict=True))
    cases["two lines"] = [(stacked(c, d, 1.0), c.digits) for c, d in pairs]
    cases["smaller line under"] = [(stacked(c, d, 0.5, overlap=0.3), c.digits) for c, d in pairs]
    print(f"model {Path(args.model).name}, {len(codes)} codes of {args.split} digits (4-6 separate, all looks)")
    print(f"{'frame':<20}{'accepted':>10}{'wrong':>7}{'refused':>9}{'error':>7}   told the length: accepted, wrong")
    for name, pictures in cases.items():
        counts = {"accepted": 0, "wrong": 0, "refused": 0, "error": 0, "told": 0, "told wrong": 0}
        for picture, truth in pictures:
            try:
                out, told = read_code(guard, picture), read_code(guard, picture, expected_length=len(truth))
            except PreprocessError:
                counts["error"] += 1
                continue
            counts["accepted" if out["accepted"] else "refused"] += 1
            counts["wrong"] += out["accepted"] and out["code"] != truth
            counts["told"] += told["accepted"]
            counts["told wrong"] += told["accepted"] and told["code"] != truth
        print(
            f"{name:<20}{counts['accepted']:>10}{counts['wrong']:>7}{counts['refused']:>9}{counts['error']:>7}"
            f"   {counts['told']:>8}{counts['told wrong']:>7}"
        )


if __name__ == "__main__":
    main()
