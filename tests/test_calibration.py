from __future__ import annotations

import numpy as np
import pytest
import torch

from digit_lit.calibration import (
    ACCEPT_NOTHING,
    allowed_wrong,
    choose_threshold,
    fit_temperature,
    wrong_accept_upper_bound,
)
from digit_lit.guard import rejection_report


def test_threshold_caps_wrong_accepts() -> None:
    conf = torch.tensor([0.99, 0.98, 0.97, 0.96, 0.95, 0.90, 0.80, 0.70, 0.60, 0.50])
    correct = torch.tensor([1, 1, 0, 1, 1, 0, 1, 0, 1, 1]).bool()
    # one wrong accept in ten allowed: accept down to 0.95 (the next wrong one is at 0.90)
    thr = choose_threshold([(conf.numpy(), correct.numpy(), 0.1)], confidence=None)
    assert thr == pytest.approx(0.95)
    # none allowed: stop above the first wrong one
    assert choose_threshold([(conf.numpy(), correct.numpy(), 0.0)], confidence=None) == pytest.approx(0.98)
    report = rejection_report((conf >= thr).numpy(), correct.numpy())
    assert report == {"coverage": 0.5, "wrong_accept": 0.1, "accepted_acc": 0.8}


def test_ties_are_accepted_or_refused_together() -> None:
    conf = torch.tensor([0.9, 0.9, 0.9, 0.5])
    correct = torch.tensor([1, 0, 1, 1]).bool()
    thr = choose_threshold([(conf.numpy(), correct.numpy(), 0.0)], confidence=None)
    assert thr == ACCEPT_NOTHING and rejection_report((conf >= thr).numpy(), correct.numpy())["coverage"] == 0.0


def test_threshold_on_random_scores_meets_target() -> None:
    g = torch.Generator().manual_seed(0)
    conf = torch.rand(10_000, generator=g)
    correct = torch.rand(10_000, generator=g) < conf  # more confident, more often right
    thr = choose_threshold([(conf.numpy(), correct.numpy(), 0.01)], confidence=None)
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


def test_bound_allows_fewer_wrong_accepts_than_the_point_estimate() -> None:
    # 5,000 images at a 0.1% target: the point estimate allows 5 wrong accepts; Clopper-Pearson at 95% allows 1
    # (the upper bound for 1 in 5,000 is 0.095%, for 2 it is 0.126%)
    assert allowed_wrong(5000, 0.001, None) == 5
    assert allowed_wrong(5000, 0.001, 0.95) == 1
    assert wrong_accept_upper_bound(1, 5000, 0.95) <= 0.001 < wrong_accept_upper_bound(2, 5000, 0.95)
    assert allowed_wrong(100, 0.001, 0.95) == -1  # 100 images cannot certify 0.1%: nothing may be accepted
    conf = np.linspace(1.0, 0.5, 100)
    assert choose_threshold([(conf, np.ones(100, bool), 0.001)]) == ACCEPT_NOTHING


def test_threshold_holds_on_every_group() -> None:
    rng = np.random.default_rng(0)
    easy = (rng.uniform(0.9, 1.0, 5000), np.ones(5000, bool), 0.001)  # never wrong
    hard_conf = rng.uniform(0.5, 1.0, 5000)
    hard = (hard_conf, np.ones(5000, bool), 0.001)
    hard[1][np.argsort(hard_conf)[-3:]] = False  # its three surest images are wrong
    thr = choose_threshold([easy, hard])
    # one wrong accept is allowed per group (see above): the second surest wrong image of `hard` must be refused
    second = np.sort(hard_conf)[-2]
    assert thr > second and thr == hard_conf[hard_conf > second].min()
    assert choose_threshold([easy]) == easy[0].min()  # a group with no errors accepts everything


def test_bound_keeps_its_promise_on_fresh_samples() -> None:
    """Scores s ~ U(0, 1), wrong with probability 0.1 (1 - s): the true wrong-accept rate of threshold t is
    0.05 (1 - t)^2. Over many validation sets, the bounded threshold exceeds the target on fresh data in at most
    about 5% of them; the point estimate does in about half."""
    rng = np.random.default_rng(1)
    target, n, runs = 0.01, 2000, 300
    exceeded = {0.95: 0, None: 0}
    for _ in range(runs):
        s = rng.uniform(0, 1, n)
        correct = rng.uniform(0, 1, n) >= 0.1 * (1 - s)
        for level in exceeded:
            t = choose_threshold([(s, correct, target)], level)
            exceeded[level] += 0.05 * (1 - t) ** 2 > target
    assert exceeded[0.95] / runs <= 0.08
    assert exceeded[None] / runs >= 0.25
