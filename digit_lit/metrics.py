"""The test figures of a classifier with its guard, computed once from calibrated probabilities.

Train's test epoch and `evaluate` both call `test_figures`, so a checkpoint reports the same numbers either way.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torchmetrics.functional.classification import (
    multiclass_calibration_error,
    multiclass_confusion_matrix,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)

from digit_lit.constants import NUM_CLASSES
from digit_lit.guard import Rule, rejection_report

# confidence bins of the expected calibration error, and of the reliability diagram that shows it
ECE_BINS = 15


class TestSamples(NamedTuple):
    """A test set as the model saw it, for the figures (digit_lit.figures) beside the numbers."""

    images: np.ndarray  # uint8 [N, 28, 28], white ink on black
    labels: np.ndarray  # int [N]
    probs: np.ndarray  # calibrated probabilities [N, 10]


def test_figures(probs: np.ndarray, labels: np.ndarray, rule: Rule | None, prefix: str = "test/") -> dict[str, Any]:
    """Accuracy, loss, per-class precision/recall/F1, confusion matrix (rows = true digit), ECE and, with a rule,
    coverage and wrong-accept rate (accepted and wrong, over all)."""
    p = torch.from_numpy(np.asarray(probs)).double()
    y = torch.from_numpy(np.asarray(labels)).long()
    preds = p.argmax(1)
    args = {"num_classes": NUM_CLASSES, "average": None}
    out: dict[str, Any] = {
        f"{prefix}acc": float((preds == y).double().mean()),
        f"{prefix}loss": float(-p.gather(1, y[:, None]).clamp_min(1e-12).log().mean()),
        f"{prefix}precision_per_class": multiclass_precision(preds, y, **args).tolist(),
        f"{prefix}recall_per_class": multiclass_recall(preds, y, **args).tolist(),
        f"{prefix}f1_per_class": multiclass_f1_score(preds, y, **args).tolist(),
        f"{prefix}ece": float(multiclass_calibration_error(p.float(), y, NUM_CLASSES, n_bins=ECE_BINS, norm="l1")),
        f"{prefix}confusion_matrix": multiclass_confusion_matrix(preds, y, NUM_CLASSES).tolist(),
        f"{prefix}misclassified": int((preds != y).sum()),
    }
    if rule is not None:
        report = rejection_report(rule.accepts(rule.confidence(probs)), (preds == y).numpy())
        out[f"{prefix}coverage"], out[f"{prefix}wrong_accept"] = report["coverage"], report["wrong_accept"]
    return out
