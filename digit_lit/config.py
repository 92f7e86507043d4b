"""Hydra config to objects: instantiation with our own errors surfacing, and the checks only the CLI can make."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf

from digit_lit.errors import ConfigError, DigitLitError

# `${coalesce:A,B}`: A unless it is null, else B (OmegaConf has no such resolver; Hydra gives null for an unset group,
# e.g. ${hydra:runtime.choices.experiment} when no experiment is chosen). Registered on import: entry points and tests
# import this module before any config is resolved.
OmegaConf.register_new_resolver("coalesce", lambda value, default: default if value is None else value, replace=True)


# trainer.precision values: float32 weights, optionally bf16/fp16 autocast in training steps (module.exact keeps
# validation, calibration and test in float32)
PRECISIONS = ("32-true", "32", "bf16-mixed", "16-mixed")


def instantiate(node: DictConfig, **kwargs: Any) -> Any:
    """hydra.utils.instantiate, with plain containers, and our own errors surfacing as themselves."""
    try:
        return hydra.utils.instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, DigitLitError):
            raise cause from None
        target = node.get("_target_", "?") if isinstance(node, DictConfig) else "?"
        raise ConfigError(f"could not build {target}: {cause or exc}") from exc


# settings that are config nodes (a class and its arguments), and what to give: the optimizer is always needed
NODES = {
    "model.optimizer": "{_target_: torch.optim.AdamW, _partial_: true, lr: 0.001}",
    "model.scheduler": "null (a constant learning rate)",
    "data.augment": "null (no augmentation)",
    "data.world": "data=world (the guard's world)",
}


def _positive(cfg: DictConfig, key: str, allow_minus_one: bool = False) -> None:
    value = OmegaConf.select(cfg, key)
    if value is None or (allow_minus_one and value == -1):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{key}={value!r} must be a positive integer")


def _cuda() -> bool:
    import torch  # here, not at the top: the checks run before the CLI pays for torch (see train.train)

    return torch.cuda.is_available()


def check_config(cfg: DictConfig) -> None:
    """Fail fast, in one line, on settings that would otherwise crash deep inside a run."""
    # data.* sizes are checked by MNISTDataModule itself, which Python users build directly too
    for key in ("trainer.max_epochs", "trainer.max_steps"):
        _positive(cfg, key, allow_minus_one=True)
    _positive(cfg, "trainer.check_val_every_n_epoch")  # null (validate by steps only) is Lightning's, and fine
    epochs = OmegaConf.select(cfg, "trainer.max_epochs")
    every = OmegaConf.select(cfg, "trainer.check_val_every_n_epoch")
    # checkpoints and the guard's calibration are written when validation ends: epochs after the last validated one
    # would be trained and thrown away (and with none validated, the checkpoint carries no rule Guard.load accepts)
    if isinstance(epochs, int) and epochs > 0 and isinstance(every, int) and epochs % every:
        raise ConfigError(
            f"trainer.max_epochs={epochs} is not a multiple of trainer.check_val_every_n_epoch={every}: the epochs "
            f"after the last validated one would be lost (checkpoints and calibration are written at validation); "
            f"use trainer.max_epochs={epochs + every - epochs % every} or trainer.check_val_every_n_epoch=1"
        )
    for key in ("seed", "data.split_seed", "data.shuffle_seed"):
        value = OmegaConf.select(cfg, key)
        # numpy's and Lightning's seeds are unsigned 32-bit: others end in a ValueError deep in seed_everything
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32):
            raise ConfigError(f"{key}={value!r} must be an integer from 0 to 4294967295 (seed: or null, unseeded)")
    # nodes a class is built from: a bare value there (model.scheduler=5) failed deep in the run with a TypeError
    for key, example in NODES.items():
        value = OmegaConf.select(cfg, key)
        if not isinstance(value, DictConfig) and not (value is None and key != "model.optimizer"):
            rule = "a config node" if key == "model.optimizer" else "a config node or null"
            raise ConfigError(f"{key}={value!r} must be {rule}, e.g. {example}")
    download = OmegaConf.select(cfg, "data.download")
    if download is not None and not isinstance(download, bool):
        raise ConfigError(f"data.download={download!r} must be true or false")
    for key in ("trainer.accumulate_grad_batches", "trainer.log_every_n_steps"):
        _positive(cfg, key)
    if OmegaConf.select(cfg, "trainer.limit_val_batches") in (0, 0.0):
        # the guard's temperature and threshold are fitted at validation: a run without any ships no decision rule
        raise ConfigError(
            "trainer.limit_val_batches=0 validates nothing, and the guard's rule is calibrated at validation; "
            "give a positive count or share of the validation batches"
        )
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="cpu"))
    if accelerator in ("gpu", "cuda") and not _cuda():
        raise ConfigError(
            "trainer=gpu needs a CUDA GPU and this machine has none (torch.cuda.is_available() is False); "
            "use trainer=cpu"
        )
    precision = str(OmegaConf.select(cfg, "trainer.precision", default="32-true"))
    if precision not in PRECISIONS:
        # "-true" precisions store the weights in their type: the guard's rule is fitted on, and exported as, float32
        raise ConfigError(
            f"trainer.precision={precision}: digit_lit keeps the weights in float32 (the guard is calibrated and "
            "exported so); use 32-true, or bf16-mixed (16-mixed on a GPU) to train faster in mixed precision"
        )
    weight = OmegaConf.select(cfg, "model.outlier_weight")
    for key in ("data.outliers", "data.world.outliers"):
        outliers = OmegaConf.select(cfg, key)
        # other values than a positive count: MNISTDataModule (or World) refuses them
        if isinstance(outliers, int) and outliers > 0 and not weight:
            raise ConfigError(f"{key}={outliers} needs model.outlier_weight > 0 (e.g. 0.5), or they are not learnt")
    ckpt = cfg.get("ckpt_path")
    if ckpt and ckpt != "last" and not Path(ckpt).is_file():
        raise ConfigError(f"ckpt_path={ckpt} does not exist; give the path of a .ckpt file")


def no_added_settings(
    command: str, why: str, kept: Callable[[str], bool] = lambda key: False, own: tuple[DictConfig, str] | None = None
) -> None:
    """Refuse `+key=value` (and `++key=value`) overrides: Hydra adds any key so, and a command that never reads it
    would go on in silence (`predict +threshold=0.5`, `export +opset=7`, `train +seeds=3`); those `kept` says the
    command reads are let through. `why` says what to do instead. `own`: (cfg, the name of the command's config),
    whose top-level keys must all be that config's (`only_its_settings`)."""
    overrides = HydraConfig.get().overrides.task
    added = [key for key in (o.lstrip("+").split("=")[0] for o in overrides if o.startswith("+")) if not kept(key)]
    if added:
        raise ConfigError(f"{command} has no setting {', '.join(added)}: {why}")
    if own is not None:
        only_its_settings(*own, command, why)


def only_its_settings(cfg: DictConfig, config_name: str, command: str, why: str) -> None:
    """Refuse a top-level key the command's own config (conf/<config_name>.yaml) does not have: one a config file of
    the user's brings (`--config-dir D --config-name mine`, with `threshold: 0.01` in it) was ignored in silence, as
    `+threshold=` was before no_added_settings."""
    shipped = OmegaConf.load(Path(__file__).parent / "conf" / f"{config_name}.yaml")
    groups = {next(iter(entry)) for entry in shipped.get("defaults", []) if isinstance(entry, DictConfig)}
    known = {str(key) for key in shipped if key != "defaults"} | groups
    unknown = [str(key) for key in cfg if str(key) not in known]
    if unknown:
        raise ConfigError(f"{command} has no setting {', '.join(unknown[:5])}: {why}")


def model_of(cfg: DictConfig, missing: str) -> str:
    """The model file a command reads: model_path= (an export) or ckpt_path= (a checkpoint), exactly one of them
    (with both, which model answers would be a guess). `missing` says what to give when neither is."""
    given = [key for key in ("model_path", "ckpt_path") if setting(cfg, key) not in (None, "")]
    if len(given) > 1:
        raise ConfigError("give model_path= or ckpt_path=, not both: one model answers, and it must be the one named")
    if not given:
        raise ConfigError(missing)
    return one_path(given[0], cfg.get(given[0]))


def setting(cfg: DictConfig, key: str) -> Any:
    """cfg's value for key, None when it is unset or mandatory and not given (`???`: OmegaConf raises on reading)."""
    return None if OmegaConf.is_missing(cfg, key) else cfg.get(key)


def path_of(cfg: DictConfig, key: str, missing: str) -> str:
    """The one file or folder the setting `key` names; ConfigError `missing` (what to give) when it is not given."""
    if setting(cfg, key) in (None, ""):
        raise ConfigError(missing)
    return one_path(key, cfg.get(key))


def one_path(key: str, value: object) -> str:
    """A setting that names one file or folder, as a string. Hydra reads `inputs=[7]` or `ckpt_path=5` as numbers,
    which name the files 7 and 5 too; a list, a mapping, true or false names none."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{key}={value!r} must be the path of one file or folder")
    return str(value)
