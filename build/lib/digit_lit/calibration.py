"""Fitting the guard: temperature scaling and the confidence threshold that caps the wrong-accept rate.

The rule these numbers feed (accept <=> confidence >= threshold) is applied in one place: `guard.Rule`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# No cut meets the target: only a certainty of exactly 1 passes (a threshold is always in (0, 1], see guard.Rule).
ACCEPT_NOTHING = 1.0


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, steps: int = 100) -> float:
    """The temperature T > 0 that minimises the NLL of softmax(logits / T) (Guo et al., 2017)."""
    logits, labels = logits.detach().float().cpu(), labels.detach().cpu()
    log_t = torch.zeros(1, requires_grad=True)  # optimise log T so T stays positive
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def choose_threshold(confidence: torch.Tensor, correct: torch.Tensor, max_wrong_accept: float) -> float:
    """The lowest confidence threshold whose wrong-accept rate (accepted and wrong, over all) stays <= the target.

    Accepting means confidence >= threshold. Ties are accepted or refused together, so the rate is honest.
    """
    n = len(confidence)
    if n == 0:
        raise ValueError("cannot choose a threshold on no samples")
    conf, order = confidence.detach().float().cpu().sort(descending=True)
    wrong = (~correct.detach().cpu().bool())[order].cumsum(0)
    # only cut where the next sample has a strictly lower confidence
    cut_ok = torch.ones(n, dtype=torch.bool)
    cut_ok[:-1] = conf[1:] < conf[:-1]
    ok = (wrong.float() / n <= max_wrong_accept) & cut_ok
    if not ok.any():
        return ACCEPT_NOTHING
    k = int(ok.nonzero().max())
    return float(conf[k])
