"""Outlier exposure: the synthetic non-digits and how they ride along in training batches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from omegaconf import DictConfig
from scipy import ndimage

from digit_lit.data import TensorBatches
from digit_lit.guard import Guard
from digit_lit.outliers import OUTLIER_LABEL, outlier_pool
from digit_lit.train import train


def test_pool_is_deterministic_and_mnist_framed() -> None:
    pool = outlier_pool(60, seed=3)
    assert pool.shape == (60, 28, 28) and pool.dtype == torch.uint8
    assert torch.equal(pool, outlier_pool(60, seed=3)) and not torch.equal(pool, outlier_pool(60, seed=4))
    for img in pool.float() / 255:
        assert img.max() > 0.5 and img[:2].max() == 0 and img[-2:].max() == 0  # the 20-px box, plus the pen
        cy, cx = ndimage.center_of_mass(img.numpy())
        assert abs(cy - 13.5) < 6 and abs(cx - 13.5) < 6


def test_batches_carry_labelled_outliers() -> None:
    images, labels = torch.zeros(100, 28, 28, dtype=torch.uint8), torch.arange(100) % 10
    pool = outlier_pool(20)
    loader = TensorBatches(images, labels, 25, shuffle=True, outliers=pool, outliers_per_batch=5)
    batches = list(loader)
    assert len(batches) == len(loader) == 4
    for x, y in batches:
        assert x.shape == (30, 1, 28, 28) and (y == OUTLIER_LABEL).sum() == 5
        assert x[y == OUTLIER_LABEL].amax() > 0 and x[y != OUTLIER_LABEL].amax() == 0


def test_training_with_outliers_spreads_belief_on_them(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    common = ["model=mlp", "trainer.max_epochs=3", "logger=none", "data.val_size=100", "data.batch_size=50"]
    pool = outlier_pool(200, seed=99).unsqueeze(1).float() / 255
    entropy = {}
    for n in (0, 500):
        cfg = train_cfg(*common, f"data.outliers={n}", f"model.outlier_weight={0.5 if n else 0.0}", data_dir=tiny_mnist)
        metrics = train(cfg)
        p = torch.from_numpy(Guard.load(metrics["best_ckpt"]).probs(pool.numpy()))
        entropy[n] = float(-(p * p.clamp_min(1e-12).log()).sum(1).mean())
        assert metrics["test/acc"] > 0.9  # the digits are still learnt
    assert entropy[500] > entropy[0] + 0.15
