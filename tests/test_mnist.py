"""Real MNIST: runs whenever the data is present; CI sets DIGIT_LIT_REQUIRE_MNIST=1 so absence fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from digit_lit.train import train

pytestmark = pytest.mark.mnist


def test_mlp_trains_to_97_percent(mnist_dir: Path, train_cfg: Callable[..., DictConfig]) -> None:
    cfg = train_cfg(
        "model=mlp", "trainer.max_epochs=3", "logger=none", "callbacks.progress_bar=null", data_dir=mnist_dir
    )
    metrics = train(cfg)
    assert metrics["test/acc"] >= 0.97
    assert sum(map(sum, metrics["test/confusion_matrix"])) == 10_000
