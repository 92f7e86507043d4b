"""Digits a test draws itself (polylines), pictures of codes made of them, and a real Guard that reads them.

The guard is `Guard.from_net` around a template net: cosine similarity of the 28x28 view with each digit's own
drawing seen through `to_mnist`, times SHARPNESS, as logits. So a crop of exactly one drawn digit reads sure, while
half a digit, two digits or a scribble read unsure: what the code reader's segmentation relies on, without training.
The 8 is drawn as two close upright bars, the same ink as a "1" beside a "1" written too close: the ambiguous case.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage
from torch import nn

from digit_lit.guard import Guard, Rule
from digit_lit.preprocess import to_mnist

Stroke = list[tuple[float, float]]  # points (x, y) in units of the digit's height, y down

STROKE = 0.1  # pen width, in units of the digit's height
GLYPHS: dict[int, list[Stroke]] = {
    0: [[(0.3 + 0.28 * np.sin(t), 0.5 - 0.48 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 25)]],
    1: [[(0.3, 0.0), (0.3, 1.0)]],
    2: [[(0.0, 0.2), (0.15, 0.0), (0.45, 0.0), (0.6, 0.2), (0.55, 0.4), (0.0, 1.0), (0.6, 1.0)]],
    3: [[(0.0, 0.0), (0.6, 0.0), (0.25, 0.45), (0.6, 0.65), (0.5, 0.95), (0.0, 1.0)]],
    4: [[(0.45, 1.0), (0.45, 0.0), (0.0, 0.65), (0.6, 0.65)]],
    5: [[(0.05, 0.0), (0.6, 0.0)], [(0.05, 0.0), (0.0, 0.45), (0.4, 0.4), (0.6, 0.6), (0.5, 0.95), (0.0, 1.0)]],
    6: [[(0.5, 0.0), (0.1, 0.4), (0.0, 0.75), (0.15, 1.0), (0.5, 1.0), (0.6, 0.75), (0.4, 0.55), (0.05, 0.65)]],
    7: [[(0.0, 0.0), (0.6, 0.0), (0.2, 1.0)]],
    8: [[(0.1, 0.0), (0.1, 1.0)], [(0.25, 0.0), (0.25, 1.0)]],  # bars 0.05 apart: "8" or "11"
    9: [[(0.55, 0.35), (0.3, 0.45), (0.05, 0.35), (0.05, 0.1), (0.3, 0.0), (0.55, 0.1), (0.55, 0.35), (0.45, 1.0)]],
}
# variants the reader must see as one digit
BROKEN = {
    "5 with a detached bar": (5, [[(0.05, -0.12), (0.6, -0.12)], GLYPHS[5][1]]),
    "broken 4": (4, [[(0.45, 0.0), (0.0, 0.65), (0.6, 0.65)], [(0.45, 0.74), (0.45, 1.0)]]),
}
SCRIBBLE = [[(0.0, 0.1), (0.6, 0.9), (0.05, 0.8), (0.55, 0.05), (0.3, 1.0), (0.2, 0.0)]]  # no digit's shape
SHARPNESS = 30.0  # a whole drawn digit reads sure (>= 0.999), most halves and pairs do not
THRESHOLD = 0.99


def draw(
    strokes_per_digit: Sequence[list[Stroke]],
    lefts: Sequence[float],
    height: int = 80,
    margin: int = 40,
    tops: Sequence[float] | None = None,
) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """Black digits on white paper, each `height` px tall, the k-th starting `lefts[k]` heights from the left (and
    `tops[k]` heights down, 0 by default). Returns the picture and each digit's ink box [x0, y0, x1, y1) in px."""
    tops = tops or [0.0] * len(lefts)
    width = round(max(lefts) * height + height) + 2 * margin
    img = Image.new("L", (width, 2 * height + 2 * margin), 255)
    pen = ImageDraw.Draw(img)
    boxes = []
    for strokes, left, top in zip(strokes_per_digit, lefts, tops, strict=True):
        alone = Image.new("L", img.size, 0)
        for stroke in strokes:
            pts = [(margin + (left + x) * height, margin + height / 2 + (top + y) * height) for x, y in stroke]
            w = round(STROKE * height)
            pen.line(pts, fill=0, width=w, joint="curve")
            ImageDraw.Draw(alone).line(pts, fill=255, width=w, joint="curve")
        x0, y0, x1, y1 = alone.getbbox()
        boxes.append((x0, y0, x1, y1))
    return img.convert("RGB"), boxes


def touching(first: list[Stroke], second: list[Stroke], overlap: float = 0.0, height: int = 80) -> float:
    """How far right of `first` (drawn at 0) `second` starts so that their strokes just touch (less `overlap`, in
    digit heights: then they cross), as the code renderer joins touching digits."""
    lo, hi = 0.0, 1.5  # connected at lo, apart at hi
    while hi - lo > 0.005:
        mid = (lo + hi) / 2
        ink = np.asarray(draw([first, second], [0.0, mid], height)[0].convert("L")) < 128
        apart = ndimage.label(ink, structure=np.ones((3, 3)))[1] > pieces(first) + pieces(second) - 1
        lo, hi = (lo, mid) if apart else (mid, hi)
    return lo - overlap


def pieces(strokes: list[Stroke]) -> int:
    ink = np.asarray(draw([strokes], [0.0])[0].convert("L")) < 128
    return ndimage.label(ink, structure=np.ones((3, 3)))[1]


def code_picture(digits: str, gap: float = 0.4, height: int = 80) -> tuple[Image.Image, list[tuple]]:
    """A code of GLYPHS, `gap` heights apart (negative: overlapping)."""
    lefts = [k * (0.6 + gap) for k in range(len(digits))]
    return draw([GLYPHS[int(d)] for d in digits], lefts, height)


def templates() -> np.ndarray:
    """Each digit's drawing as `to_mnist` sees it: float [10, 28, 28]."""
    return np.stack([to_mnist(draw([GLYPHS[d]], [0.0])[0]) for d in range(10)])


class TemplateNet(nn.Module):
    """Logits = SHARPNESS x cosine similarity of the view with each digit's template."""

    def __init__(self, views: np.ndarray, sharpness: float = SHARPNESS) -> None:
        super().__init__()
        t = torch.from_numpy(views.reshape(len(views), -1)).float()
        self.register_buffer("t", t / t.norm(dim=1, keepdim=True))
        self.sharpness = sharpness

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x.flatten(1)
        return self.sharpness * (v / v.norm(dim=1, keepdim=True).clamp_min(1e-6)) @ self.t.T


def template_guard(threshold: float = THRESHOLD) -> Guard:
    """A real Guard (its Rule decides) whose net reads the drawn GLYPHS."""
    return Guard.from_net(TemplateNet(templates()), Rule(temperature=1.0, threshold=threshold, max_wrong_accept=0.001))


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
