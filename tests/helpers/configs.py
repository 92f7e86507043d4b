"""Composing digit_lit's Hydra configs in a test, as the CLI would."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import digit_lit.config  # noqa: F401 - registers the ${coalesce:} resolver, as the entry points do on import
from tests.helpers.paths import CONF


def compose_train(overrides: list[str], output_dir: Path, data_dir: Path | None = None) -> DictConfig:
    """conf/train.yaml composed as `python -m digit_lit.train` would, writing into output_dir."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra  # the task function never sees this node
        cfg.paths.output_dir = str(output_dir)
        if data_dir is not None:
            cfg.paths.data_dir = str(data_dir)
    return cfg
