"""Pictures that are not digits, drawn on the fly, for measuring (and training) how the guard refuses them.

Families: letters and symbols typed with PIL's bundled font, scribbles (random pen walks), geometric shapes,
hatching, ink blots and noise. Each picture is a full-size RGB "photo" (paper, ink colour, size vary), so it goes
through the same preprocessing as a user's upload. Letters that are written like digits (O, I, l, S, Z, B...) are
left out: refusing them is not the guard's job, reading them as a digit is not a mistake a user can exploit.
"""

from __future__ import annotations

import string

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# and those that read as a "1": i, j, !, brackets
DIGIT_LIKE = set("OoIilJjSsZzBbGgqQDTt")
LETTERS = [c for c in string.ascii_letters if c not in DIGIT_LIKE]
SYMBOLS = list("+=#%@&*?$<>{}~^")
FAMILIES = ("letter", "symbol", "scribble", "shape", "hatch", "blot")


def _canvas(rng: np.random.Generator) -> tuple[Image.Image, ImageDraw.ImageDraw, tuple[int, int, int], int]:
    side = int(rng.integers(96, 320))
    paper = tuple(int(v) for v in rng.integers(190, 256, 3))
    ink = tuple(int(v) for v in rng.integers(0, 110, 3))
    img = Image.new("RGB", (side, side), paper)
    return img, ImageDraw.Draw(img), ink, side


def _text(rng: np.random.Generator, chars: list[str]) -> Image.Image:
    img, draw, ink, side = _canvas(rng)
    font = ImageFont.load_default(size=int(side * rng.uniform(0.45, 0.75)))
    draw.text((side / 2, side / 2), str(rng.choice(chars)), fill=ink, font=font, anchor="mm")
    return img


def typed(char: str, rng: np.random.Generator) -> Image.Image:
    """One character typed as the letter and symbol families type theirs (benchmarks/nondigit_glyphs.py: which)."""
    return _text(rng, [char])


def _scribble(rng: np.random.Generator) -> Image.Image:
    img, draw, ink, side = _canvas(rng)
    steps = int(rng.integers(12, 40))
    turn = np.cumsum(rng.normal(0, 0.9, steps))
    pts = np.cumsum(np.stack([np.cos(turn), np.sin(turn)], 1) * side * 0.08, 0)
    pts = (pts - pts.mean(0)) + side / 2
    draw.line([tuple(p) for p in pts], fill=ink, width=max(2, side // 30), joint="curve")
    return img


def _shape(rng: np.random.Generator) -> Image.Image:
    img, draw, ink, side = _canvas(rng)
    w = max(2, side // 30)
    a, b = side * 0.2, side * 0.8
    kind = rng.integers(0, 4)
    if kind == 0:
        draw.rectangle((a, a, b, b), outline=ink, width=w)
    elif kind == 1:
        draw.polygon([(side / 2, a), (a, b), (b, b)], outline=ink, width=w)
    elif kind == 2:  # star
        ang = np.linspace(0, 4 * np.pi, 6)
        draw.line(
            [(side / 2 + side * 0.3 * np.sin(t), side / 2 - side * 0.3 * np.cos(t)) for t in ang], fill=ink, width=w
        )
    else:  # cross-hatch grid
        for t in np.linspace(a, b, 4):
            draw.line((t, a, t, b), fill=ink, width=w)
            draw.line((a, t, b, t), fill=ink, width=w)
    return img


def _hatch(rng: np.random.Generator) -> Image.Image:
    img, draw, ink, side = _canvas(rng)
    w = max(1, side // 40)
    for t in np.linspace(-side, side, int(rng.integers(5, 12))):
        draw.line((t, 0, t + side, side), fill=ink, width=w)
    return img


def _blot(rng: np.random.Generator) -> Image.Image:
    img, draw, ink, side = _canvas(rng)
    for _ in range(int(rng.integers(3, 9))):
        x, y = rng.uniform(0.2, 0.8, 2) * side
        r = rng.uniform(0.03, 0.12) * side
        draw.ellipse((x - r, y - r, x + r, y + r), fill=ink)
    return img


def non_digit(family: str, rng: np.random.Generator) -> Image.Image:
    if family == "letter":
        return _text(rng, LETTERS)
    if family == "symbol":
        return _text(rng, SYMBOLS)
    return {"scribble": _scribble, "shape": _shape, "hatch": _hatch, "blot": _blot}[family](rng)


def non_digits(n_per_family: int, seed: int = 0) -> dict[str, list[Image.Image]]:
    rng = np.random.default_rng(seed)
    return {f: [non_digit(f, rng) for _ in range(n_per_family)] for f in FAMILIES}
