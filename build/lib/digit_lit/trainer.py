"""The one place that builds the Lightning Trainer (with its callbacks and loggers) from the Hydra config."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from omegaconf import DictConfig

from digit_lit.config import instantiate
from digit_lit.errors import ConfigError


def resume_path(cfg: DictConfig) -> str | None:
    """`ckpt_path=last` resumes from this run dir's checkpoints/last.ckpt (e.g. `hydra.run.dir=` of a killed run)."""
    ckpt = cfg.get("ckpt_path")
    if ckpt == "last":
        last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
        if not last.is_file():
            raise ConfigError(f"ckpt_path=last but {last} does not exist; point hydra.run.dir at the run to resume")
        return str(last)
    return ckpt


def make_trainer(cfg: DictConfig) -> L.Trainer:
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None]
    try:
        return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    except ConfigError:
        raise
    except Exception as exc:  # Lightning's MisconfigurationException and friends
        raise ConfigError(f"bad trainer settings: {str(exc).splitlines()[0]}") from exc
