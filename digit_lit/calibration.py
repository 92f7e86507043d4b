"""Fitting the guard: temperature scaling, and the confidence threshold that caps the wrong-accept rate.

The rule these numbers feed (accept <=> confidence >= threshold) is applied in one place: `guard.Rule`.

The threshold comes with a guarantee of a stated kind: on each validation group (MNIST validation images, and the
same digits drawn as real-world pictures and preprocessed), the number of accepted-and-wrong images is small enough
that the Clopper-Pearson upper bound on the wrong-accept rate, at the given confidence, is at most the target. So,
with that confidence, the rate on *fresh images from the same distribution* is at most the target. It says nothing
about images from another distribution (other writers, pens, scanners): that is what the world groups widen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import beta

# No cut meets the target: only a certainty of exactly 1 passes (a threshold is always in (0, 1], see guard.Rule).
ACCEPT_NOTHING = 1.0


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, steps: int = 100) -> float:
    """The temperature T > 0 that minimises the NLL of softmax(logits / T) (Guo et al., 2017).

    logits [N, 10], or an ensemble's [N, members, 10]: then the NLL of the members' mean probability.
    """
    z = logits.detach().double().cpu()
    z = z.reshape(len(z), -1, z.shape[-1])
    labels = labels.detach().cpu()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # optimise log T so T stays positive
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        log_mix = torch.logsumexp(F.log_softmax(z / log_t.exp(), dim=2), dim=1) - math.log(z.shape[1])
        loss = F.nll_loss(log_mix, labels)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def wrong_accept_upper_bound(wrong: int, n: int, confidence: float) -> float:
    """One-sided Clopper-Pearson upper bound on a rate seen as `wrong` events in `n` trials."""
    return 1.0 if wrong >= n else float(beta.ppf(confidence, wrong + 1, n - wrong))


def allowed_wrong(n: int, max_wrong_accept: float, confidence: float | None) -> int:
    """How many accepted-and-wrong images out of n a threshold may leave in (-1: not even none certifies)."""
    if confidence is None:  # the point estimate
        return math.floor(max_wrong_accept * n + 1e-9)
    k = -1
    while k + 1 <= n and wrong_accept_upper_bound(k + 1, n, confidence) <= max_wrong_accept:
        k += 1
    return k


def choose_threshold(groups: Sequence[tuple[np.ndarray, np.ndarray, float]], confidence: float | None = 0.95) -> float:
    """The lowest threshold that keeps the wrong-accept rate within its target on every group.

    Each group is (confidence scores, correct, target) for one validation set; "correct" is False for any image that
    must not be accepted (a misread digit, a non-digit). With `confidence` (e.g. 0.95) the Clopper-Pearson upper bound
    must meet the target, else the point estimate. Accepting means score >= threshold; ties are accepted or refused
    together. The threshold is the score of the least sure image still accepted.
    """
    scores = [np.asarray(c, np.float64) for c, _, _ in groups]
    if not scores or not sum(len(s) for s in scores):
        raise ValueError("cannot choose a threshold on no samples")
    all_scores = np.unique(np.concatenate(scores))
    lowest = float(all_scores[0])
    for score, (_, correct, target) in zip(scores, groups, strict=True):
        allowed = allowed_wrong(len(score), target, confidence)
        if allowed < 0:
            return ACCEPT_NOTHING
        wrong = np.sort(score[~np.asarray(correct, bool)])[::-1]
        if len(wrong) > allowed:
            # refuse the (allowed + 1)-th surest wrong image and everything as sure as it
            above = all_scores[all_scores > wrong[allowed]]
            if not len(above):
                return ACCEPT_NOTHING
            lowest = max(lowest, float(above[0]))
    return max(min(lowest, ACCEPT_NOTHING), np.nextafter(0.0, 1.0))
