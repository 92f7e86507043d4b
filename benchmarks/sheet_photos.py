"""Phone photos of a digit or a code on a sheet of paper lying on a desk: the sheet does not fill the picture.

    python benchmarks/sheet_photos.py MODEL [--n 500] [--codes 100] [--data-dir data] [--seed 0] [--no-sheet]

Each of the first N official test digits is written by the world's hands and pens (`world.handwriting`,
`world.pen`) on a sheet of the world's photo paper (`world.paper`: tint, mottle, grain; ink of the world's colours),
and the sheet is photographed on a darker desk (the world's photo paper darkened): seen at a slant (a perspective of
up to ~10% of its size, turned by up to 12 degrees), then the world's uneven light, blur, sensor noise and JPEG.
Framings: the sheet alone (cropped to it: the reference), the desk all around it, the sheet running off the picture
on three sides (the desk along one side) and on two (the desk in an L along two sides). Then codes of 5 separate
test digits in a code's hand and pen (`digit_lit.codes`), on sheets in the same framings, read by `read_code` told
their length. Per framing it prints: read right, accepted, wrong accepts and unusable pictures. `--no-sheet` reads
as digit_lit did before `paper.sheet` (the desk taken for paper), for the comparison.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's digit_lit, from any directory

import numpy as np
from PIL import Image

from digit_lit import paper, world
from digit_lit.codes import render_code
from digit_lit.data import load_split
from digit_lit.detect import read_code
from digit_lit.guard import Guard
from digit_lit.preprocess import PreprocessError

SHEET = (300, 420)  # the sheet's (width, height) in px, as a photo's crop of it
PHOTO = (480, 600)  # the photo's (width, height)
FRAMINGS = {  # the sheet's centre in the photo (shares of its width, height) and its size (share of the photo's height)
    "sheet alone": None,
    "desk around": ((0.5, 0.5), 0.75),
    "desk on one side": ((0.62, 0.5), 1.1),
    "desk in a corner": ((0.6, 0.6), 1.0),
}


def written_sheet(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An ink map (float [H, W], 1 = ink: a digit or a code) written on a sheet of the world's photo paper, in one of
    its ink colours, anywhere clear of the edges: float RGB [H, W, 3]."""
    w, h = SHEET
    rows, cols = np.flatnonzero(ink.max(1) > 0.05), np.flatnonzero(ink.max(0) > 0.05)
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # as `world.place` trims it
    tall = min(int(rng.integers(h // 5, h // 2)), int(0.75 * w * ink.shape[0] / ink.shape[1]))
    wide = round(tall * ink.shape[1] / ink.shape[0])
    top_left = (int(rng.integers(h // 10, h - tall - h // 10)), int(rng.integers(w // 10, w - wide - w // 10 + 1)))
    drawing = world.place(ink, rng, page=(h, w), height=tall, top_left=top_left)
    sheet = world.paper((h, w), rng, "photo")
    kind, colour = world.ink_colour(rng)
    return world.lay_ink(sheet, drawing, world.legible(colour, float(sheet.mean()), False), rng, kind)


def on_desk(sheet: np.ndarray, framing: str, rng: np.random.Generator) -> np.ndarray:
    """The sheet photographed on a darker desk as `framing` says: float RGB [H, W, 3] of the photo's size."""
    w, h = PHOTO
    (cx, cy), size = FRAMINGS[framing]
    sh, sw = sheet.shape[:2]
    scale = size * h / sh
    turn = np.deg2rad(rng.uniform(-12, 12))
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    corners = np.array([[-sw / 2, -sh / 2], [sw / 2, -sh / 2], [sw / 2, sh / 2], [-sw / 2, sh / 2]]) * scale
    seen = corners @ rot.T + [cx * w, cy * h] + rng.uniform(-0.05, 0.05, (4, 2)) * scale * sh  # a slant
    # PIL maps each photo pixel back to the sheet: the perspective taking the 4 seen corners to the sheet's own
    flat = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], float)
    rows = []
    for (x, y), (u, v) in zip(seen, flat, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
    coeffs = np.linalg.solve(np.array(rows), flat.ravel())
    warp = {"size": (w, h), "method": Image.Transform.PERSPECTIVE, "data": coeffs, "resample": Image.BILINEAR}
    layers = [Image.fromarray(np.ascontiguousarray(sheet[..., c]), mode="F").transform(**warp) for c in range(3)]
    cover = np.asarray(Image.fromarray(np.ones((sh, sw), np.float32), mode="F").transform(**warp))[..., None]
    # a desk: the world's photo paper (tint, blotches, grain) darkened to a shade well under the sheet's
    desk = world.paper((h, w), rng, "photo")
    desk *= rng.uniform(0.05, max(0.06, float(sheet.mean()) - 0.3)) / float(desk.mean())
    return np.stack([np.asarray(layer) for layer in layers], -1) * cover + desk * (1 - cover)


def photo(rgb: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The world's camera: uneven light, a little blur, sensor noise, JPEG."""
    rgb = world.uneven_light(rgb.astype(np.float32), rng)
    rgb = world.blur(rgb, rng.uniform(0, 1.0))
    rgb = world.sensor_noise(rgb, rng, rng.uniform(0, 0.03))
    return world.jpeg(Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)), int(rng.integers(60, 95)))


def read(guard: Guard, picture: Image.Image, length: int) -> dict | str:
    """The verdict on one picture (`guard.read` for a digit, `read_code` told the code's length for a code), or why
    it is unusable."""
    try:
        if length == 1:
            verdict = guard.read(picture)
            return {"read": str(verdict["digit"]), "accepted": verdict["accepted"]}
        verdict = read_code(guard, picture, expected_length=length)
        return {"read": verdict["code"], "accepted": verdict["accepted"]}
    except PreprocessError as exc:
        return str(exc)


def report(title: str, truth: list[str], results: dict[str, list[dict | str]]) -> None:
    print(f"\n{title}")
    print(f"{'framing':<18}{'right':>8}{'accepted':>10}{'wrong accepts':>15}{'unusable':>10}  reasons")
    for name, verdicts in results.items():
        right = np.array([isinstance(v, dict) and v["read"] == t for v, t in zip(verdicts, truth, strict=True)])
        accepted = np.array([isinstance(v, dict) and v["accepted"] for v in verdicts])
        wrong = accepted & ~right
        unusable = [v.split(":")[0] for v in verdicts if isinstance(v, str)]
        reasons = "; ".join(f"{r} ({c})" for r, c in Counter(unusable).most_common(2))
        print(
            f"{name:<18}{right.mean():>8.3f}{accepted.mean():>10.3f}{int(wrong.sum()):>9} ({wrong.mean():.1%})"
            f"{len(unusable):>10}  {reasons}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a guard's .ckpt or .onnx")
    parser.add_argument("--n", type=int, default=500, help="digits (the first N official test digits)")
    parser.add_argument("--codes", type=int, default=100, help="codes of 5 separate test digits (read_code)")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sheet", action="store_true", help="read as before paper.sheet: the desk taken for paper")
    args = parser.parse_args()
    if args.no_sheet:
        paper.sheet = lambda grey: None  # the comparison only: preprocess calls paper.sheet through the module
    guard = Guard.load(args.model)
    images, labels = load_split(args.data_dir, train=False, download=False)
    digits, truth = images.numpy(), [str(int(d)) for d in labels]
    print(f"model {Path(args.model).name} (threshold {guard.threshold:.4f}), seed {args.seed}")
    for length, count in ((1, args.n), (5, args.codes)):
        results: dict[str, list[dict | str]] = {name: [] for name in FRAMINGS}
        written = []
        for n in range(count):
            rng = np.random.default_rng([args.seed, length, n])
            if length == 1:
                ink, digit = world.pen(world.handwriting(digits[n], rng), rng), truth[n]
            else:  # a code in its own hand and pen (digit_lit.codes): its drawing, before the photo
                code = render_code(digits, labels.numpy(), rng, length=length, kind="separate", look="clean")
                ink, digit = code.ink, code.digits
            written.append(digit)
            sheet = written_sheet(ink, rng)
            for name in FRAMINGS:
                picture = photo(sheet if FRAMINGS[name] is None else on_desk(sheet, name, rng), rng)
                results[name].append(read(guard, picture, length))
        if count:
            what = (
                f"the first {count} test digits" if length == 1 else f"{count} codes of {length} separate test digits"
            )
            report(what + ("" if length == 1 else " (told the length)"), written, results)


if __name__ == "__main__":
    main()
