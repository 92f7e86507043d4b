"""What train and evaluate share: config checks, building the Trainer, and reporting a finished run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.errors import InstantiationException
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from digit_lit.errors import CheckpointError, ConfigError, DigitLitError
from digit_lit.module import DigitClassifier


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


def _positive(cfg: DictConfig, key: str, allow_minus_one: bool = False) -> None:
    value = OmegaConf.select(cfg, key)
    if value is None or (allow_minus_one and value == -1):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{key}={value!r} must be a positive integer")


def check_config(cfg: DictConfig) -> None:
    """Fail fast, in one line, on settings that would otherwise crash deep inside a run."""
    # data.* sizes are checked by MNISTDataModule itself, which Python users build directly too
    for key in ("trainer.max_epochs", "trainer.max_steps"):
        _positive(cfg, key, allow_minus_one=True)
    accelerator = str(OmegaConf.select(cfg, "trainer.accelerator", default="cpu"))
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(
            "trainer=gpu needs a CUDA GPU and this machine has none (torch.cuda.is_available() is False); "
            "use trainer=cpu"
        )
    outliers, weight = OmegaConf.select(cfg, "data.outliers"), OmegaConf.select(cfg, "model.outlier_weight")
    if outliers and not weight:
        raise ConfigError(f"data.outliers={outliers} needs model.outlier_weight > 0 (e.g. 0.5), or they are not learnt")
    ckpt = cfg.get("ckpt_path")
    if ckpt and ckpt != "last" and not Path(ckpt).is_file():
        raise ConfigError(f"ckpt_path={ckpt} does not exist; give the path of a .ckpt file")


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


def test_metrics(trainer: L.Trainer, model: DigitClassifier) -> dict[str, Any]:
    logged = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("test/")}
    return {**logged, **model.test_report()}


def flat_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config as dotted keys with scalar values, for TensorBoard's hparams."""
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        else:
            out[prefix[:-1]] = node if isinstance(node, int | float | str | bool) else str(node)

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return out


def print_report(metrics: dict[str, Any]) -> None:
    console = Console()
    if "test/acc" in metrics:
        console.print(f"test accuracy: {metrics['test/acc']:.4f}")
    if "test/confusion_matrix" in metrics:
        table = Table(title="confusion matrix (rows = true digit, columns = predicted)")
        table.add_column("true")
        for d in range(len(metrics["test/confusion_matrix"])):
            table.add_column(str(d), justify="right")
        for d, row in enumerate(metrics["test/confusion_matrix"]):
            table.add_row(str(d), *(str(v) for v in row))
        console.print(table)
    if "test/precision_per_class" in metrics:
        table = Table(title="per-class figures")
        for col in ("digit", "precision", "recall", "F1"):
            table.add_column(col, justify="right")
        per_class = zip(*(metrics[f"test/{k}_per_class"] for k in ("precision", "recall", "f1")), strict=True)
        for d, (p, r, f) in enumerate(per_class):
            table.add_row(str(d), f"{p:.4f}", f"{r:.4f}", f"{f:.4f}")
        console.print(table)
    rest = {k: v for k, v in metrics.items() if isinstance(v, float) and k not in ("test/acc",)}
    console.print(", ".join(f"{k}: {v:.4g}" for k, v in rest.items()))


def finish(cfg: DictConfig, trainer: L.Trainer, metrics: dict[str, Any], model: DigitClassifier) -> None:
    """On rank 0: write the resolved config and metrics.json, print the report, and log to TensorBoard."""
    if trainer.global_rank != 0:
        return
    out = Path(cfg.paths.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print_report(metrics)
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            scalars = {
                k: v for k, v in metrics.items() if isinstance(v, int | float) and k.startswith(("test/", "val/"))
            }
            logger.log_hyperparams(flat_config(cfg), metrics=scalars)
            if "test/confusion_matrix" in metrics:
                fig, _ = model.test_confusion.plot()
                logger.experiment.add_figure("test/confusion_matrix", fig, global_step=trainer.global_step)
            logger.finalize("success")


def load_checkpoint(path: str | Path) -> DigitClassifier:
    """Rebuild a trained classifier (with its calibration) from a checkpoint, loading only tensors and plain data."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; give the path of a .ckpt file from a training run")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        model = DigitClassifier(
            **{k: v for k, v in ckpt["hyper_parameters"].items() if k in ("net", "max_wrong_accept")}
        )
        model.load_state_dict(ckpt["state_dict"])
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"{path} is not a valid digit_lit checkpoint ({reason[:200]}); use a .ckpt written by digit_lit.train"
        ) from exc
    return model.eval()
