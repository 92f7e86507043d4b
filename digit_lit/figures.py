"""The figures a person reads faster than the numbers: misread test digits, calibration, the confusion matrix.

Plain matplotlib `Figure`s (no pyplot: nothing global, no display needed); digit_lit.report writes them to TensorBoard
and as PNGs beside metrics.json, for `train` and `evaluate` alike.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from digit_lit.metrics import ECE_BINS, TestSamples

GRID_COLUMNS = 10
PAD = 2  # pixels between tiles of the misread-digits grid


def misclassified(samples: TestSamples, limit: int = 100) -> Figure:
    """The first `limit` misread test digits, each tagged `true→read`."""
    preds = samples.probs.argmax(1)
    wrong = np.flatnonzero(preds != samples.labels)
    shown = wrong[:limit]
    rows = max(1, -(-len(shown) // GRID_COLUMNS))
    fig = Figure(figsize=(GRID_COLUMNS * 0.9, rows * 0.9 + 0.5), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1 - 0.5 / (rows * 0.9 + 0.5)))
    ax.axis("off")
    title = f"{len(wrong)} of {len(samples.labels)} test digits misread (true→read)"
    fig.suptitle(title + (f", first {len(shown)}" if len(shown) < len(wrong) else ""), fontsize=9)
    if not len(shown):
        return fig
    tiles = torch.from_numpy(samples.images[shown]).unsqueeze(1)
    grid = make_grid(tiles, nrow=GRID_COLUMNS, padding=PAD, pad_value=96)[0].numpy()
    blank = np.full((rows * (28 + PAD) + PAD, GRID_COLUMNS * (28 + PAD) + PAD), 96, dtype=grid.dtype)
    blank[: grid.shape[0], : grid.shape[1]] = grid  # make_grid narrows a single short row; keep every tile one size
    ax.imshow(blank, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    step = 28 + PAD
    for k, i in enumerate(shown.tolist()):
        r, c = divmod(k, GRID_COLUMNS)
        ax.text(
            c * step + PAD + 1,
            r * step + PAD + 1,
            f"{samples.labels[i]}→{preds[i]}",
            color="yellow",
            fontsize=7,
            va="top",
            ha="left",
        )
    return fig


def reliability(samples: TestSamples, ece: float | None = None, threshold: float | None = None) -> Figure:
    """Reliability diagram: accuracy against confidence (max calibrated probability) in ECE_BINS bins, with how many
    test digits fall in each bin. Hand-drawn: torchmetrics plots the ECE as a number, not the diagram."""
    confidence = samples.probs.max(1)
    correct = samples.probs.argmax(1) == samples.labels
    edges = np.linspace(0.0, 1.0, ECE_BINS + 1)
    # torchmetrics' binning: bin i holds confidences in (edges[i], edges[i+1]]
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, ECE_BINS - 1)
    count = np.bincount(which, minlength=ECE_BINS)
    hits = np.bincount(which, weights=correct.astype(float), minlength=ECE_BINS)
    accuracy = np.divide(hits, count, out=np.zeros(ECE_BINS), where=count > 0)
    centres, width = (edges[:-1] + edges[1:]) / 2, 1.0 / ECE_BINS

    fig = Figure(figsize=(5.5, 6), dpi=100)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.bar(centres[count > 0], accuracy[count > 0], width=width * 0.95, color="tab:blue", label="accuracy in bin")
    top.plot([0, 1], [0, 1], "--", color="gray", label="perfectly calibrated")
    bottom.bar(centres, count, width=width * 0.95, color="tab:gray")
    bottom.set_yscale("log")
    for ax in (top, bottom):
        if threshold is not None:
            ax.axvline(threshold, color="tab:red", linewidth=1, label="guard threshold" if ax is top else None)
    top.set(ylabel="accuracy", ylim=(0, 1.02), xlim=(0, 1))
    bottom.set(xlabel="confidence (max calibrated probability)", ylabel="test digits")
    top.legend(loc="upper left", fontsize=8)
    top.set_title("reliability" + (f": expected calibration error {ece:.4f}" if ece is not None else ""), fontsize=10)
    fig.tight_layout()
    return fig


def confusion(matrix: Sequence[Sequence[int]]) -> Figure:
    """Counts in every cell; only the errors are coloured (darker = more), so they stand out instead of the diagonal.
    Hand-drawn: torchmetrics' plot colours every cell by its count, and the diagonal drowns the errors."""
    m = np.asarray(matrix, dtype=np.int64)
    n = len(m)
    diagonal = np.eye(n, dtype=bool)
    errors = np.where(diagonal, 0, m)
    rgba = np.ones((n, n, 4))
    rgba[diagonal] = (0.9, 0.9, 0.9, 1.0)
    wrong = errors > 0
    # the lightest error is still plainly red: shades from 0.3 (one error) to 1.0 (the most)
    rgba[wrong] = colormaps["Reds"](0.3 + 0.7 * errors[wrong] / max(int(errors.max()), 1))
    fig = Figure(figsize=(6, 6), dpi=100)
    ax = fig.add_subplot()
    ax.imshow(rgba)
    for i, j in zip(*np.nonzero(diagonal | wrong), strict=True):
        style = {"color": "dimgray", "fontsize": 8} if i == j else {"fontsize": 9, "fontweight": "bold"}
        if i != j and errors[i, j] > 0.6 * errors.max():
            style["color"] = "white"
        ax.text(j, i, str(m[i, j]), ha="center", va="center", **style)
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set(xlabel="predicted", ylabel="true digit")
    ax.set_title(f"confusion matrix: {int(errors.sum())} errors in {int(m.sum())} (errors in red)", fontsize=10)
    fig.tight_layout()
    return fig


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (for digit_lit.files.atomic_write)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return buffer.getvalue()
