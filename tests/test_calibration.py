from __future__ import annotations

import pytest
import torch

from digit_lit.calibration import ACCEPT_NOTHING, choose_threshold, fit_temperature
from digit_lit.guard import rejection_report


def test_threshold_caps_wrong_accepts() -> None:
    conf = torch.tensor([0.99, 0.98, 0.97, 0.96, 0.95, 0.90, 0.80, 0.70, 0.60, 0.50])
    correct = torch.tensor([1, 1, 0, 1, 1, 0, 1, 0, 1, 1]).bool()
    # one wrong accept in ten allowed: accept down to 0.95 (the next wrong one is at 0.90)
    thr = choose_threshold([(conf.numpy(), correct.numpy())], 0.1, confidence=None)
    assert thr == pytest.approx(0.95)
    # none allowed: stop above the first wrong one
    assert choose_threshold([(conf.numpy(), correct.numpy())], 0.0, confidence=None) == pytest.approx(0.98)
    report = rejection_report((conf >= thr).numpy(), correct.numpy())
    assert report == {"coverage": 0.5, "wrong_accept": 0.1, "accepted_acc": 0.8}


def test_ties_are_accepted_or_refused_together() -> None:
    conf = torch.tensor([0.9, 0.9, 0.9, 0.5])
    correct = torch.tensor([1, 0, 1, 1]).bool()
    thr = choose_threshold([(conf.numpy(), correct.numpy())], 0.0, confidence=None)
    assert thr == ACCEPT_NOTHING and rejection_report((conf >= thr).numpy(), correct.numpy())["coverage"] == 0.0


def test_threshold_on_random_scores_meets_target() -> None:
    g = torch.Generator().manual_seed(0)
    conf = torch.rand(10_000, generator=g)
    correct = torch.rand(10_000, generator=g) < conf  # more confident, more often right
    thr = choose_threshold([(conf.numpy(), correct.numpy())], 0.01, confidence=None)
    report = rejection_report((conf >= thr).numpy(), correct.numpy())
    assert report["wrong_accept"] <= 0.01
    # and it is the lowest such threshold: one step lower breaks the target
    lower = conf[conf < thr].max()
    assert rejection_report((conf >= lower).numpy(), correct.numpy())["wrong_accept"] > 0.01


def test_temperature_recovers_overconfidence() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(20_000, 10, generator=g) * 2
    labels = torch.multinomial(logits.softmax(1), 1, generator=g).squeeze(1)  # calibrated at T = 1
    assert abs(fit_temperature(logits * 3, labels) - 3) < 0.15
    assert abs(fit_temperature(logits, labels) - 1) < 0.05
