"""The validation groups of `experiment=guard` and their wrong-accept targets, as the preset trains on them: for the
benchmarks that judge a trained guard's score or threshold (`uncertainty.py`, `threshold_groups.py`)."""

from __future__ import annotations

from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig

CONF = Path(__file__).resolve().parents[1] / "digit_lit" / "conf"
SPLITS = {"mnist": "val", "world": "world", "outliers": "outliers"}  # group -> the datamodule's split


def validation_groups(
    data_dir: str, overrides: list[str]
) -> tuple[DictConfig, dict[str, tuple[torch.Tensor, torch.Tensor]], dict[str, float]]:
    """(the preset's model config, each group's (images uint8 [N, 28, 28], labels), each group's target), composed with
    Hydra plus `overrides` (a checkpoint's own split must be named the same way, e.g. data.val_size=10000)."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=["experiment=guard", f"paths.data_dir={data_dir}", *overrides])
    m = cfg.model
    targets = {"mnist": m.max_wrong_accept, "world": m.max_world_wrong_accept, "outliers": m.max_nondigit_accept}
    dm = instantiate(cfg.data)
    dm.setup()
    return m, {name: dm.splits[split] for name, split in SPLITS.items()}, targets
