"""A resumed run is the run it resumes: every checkpoint carries the settings that decide what the run learns, and a
run resumed from it with other ones is refused in one line.

Lightning checks only that the weights fit the net; digit_lit also that the learning-rate schedule was laid out for
this run's length (module.on_load_checkpoint). Nothing else stopped `ckpt_path=last data.split_seed=999`, which trains
the rest of the run on what were its validation digits, so that the threshold is calibrated on pictures the net has
learnt and its wrong-accept bound no longer holds; or `model.scheduler=null`, which swaps the schedule mid-run.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from omegaconf import DictConfig, OmegaConf

from digit_lit.errors import ConfigError

KEY = "digit_lit_settings"  # where a checkpoint carries them
# what a resumed run may change: where the data lies and how it is fetched or drawn (not what it holds)
FREE = ("data.data_dir", "data.download", "data.world.workers")


def learnt(cfg: DictConfig) -> dict[str, Any]:
    """The settings that decide what a run learns: the model (net, optimizer, schedule, calibration targets), the data
    (split, batches, augmentation, world, outliers) and the seed, less FREE."""
    tree: dict[str, Any] = {key: OmegaConf.to_container(cfg[key], resolve=True) for key in ("model", "data")}
    tree["seed"] = cfg.get("seed")
    for path in FREE:
        *parents, leaf = path.split(".")
        node = tree
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return tree


def changes(old: Any, new: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Where two settings trees differ: (dotted path, old value, new value), at the first level they part."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(old.keys() | new.keys())
        return [c for key in keys for c in changes(old.get(key), new.get(key), f"{path}.{key}".lstrip("."))]
    return [] if old == new else [(path, old, new)]


class RunSettings(L.Callback):
    def __init__(self, cfg: DictConfig) -> None:
        self.settings = learnt(cfg)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        checkpoint[KEY] = self.settings

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        stored = checkpoint.get(KEY)
        if trainer.state.fn != TrainerFn.FITTING or not isinstance(stored, dict):  # testing one; an older checkpoint
            return
        changed = changes(stored, self.settings)
        if changed:
            (key, old, new), more = changed[0], f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
            raise ConfigError(
                f"cannot resume {trainer.ckpt_path}: it was trained with {key}={old!r} and this run sets {new!r}"
                f"{more}; resume with the settings it started with, or start a new run"
            )
