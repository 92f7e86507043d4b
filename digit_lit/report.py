"""The one place that reports a finished run: metrics.json, the resolved config, the printed report, TensorBoard."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table
from torchmetrics.utilities.plot import plot_confusion_matrix

from digit_lit.files import atomic_write

log = logging.getLogger(__name__)


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
    """The report, through `logging` (Hydra's job logging shows it and keeps it in the run's log file)."""
    text = io.StringIO()
    console = Console(file=text, width=120)
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
    log.info(text.getvalue().rstrip())


def finish(cfg: DictConfig, metrics: dict[str, Any], trainer: L.Trainer | None = None) -> None:
    """On rank 0: write the resolved config and metrics.json, print the report, and log to TensorBoard."""
    if trainer is not None and trainer.global_rank != 0:
        return
    out = Path(cfg.paths.output_dir)
    atomic_write(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    atomic_write(out / "metrics.json", json.dumps(metrics, indent=1))
    print_report(metrics)
    for logger in trainer.loggers if trainer is not None else []:
        if isinstance(logger, TensorBoardLogger):
            scalars = {
                k: v for k, v in metrics.items() if isinstance(v, int | float) and k.startswith(("test/", "val/"))
            }
            logger.log_hyperparams(flat_config(cfg), metrics=scalars)
            if "test/confusion_matrix" in metrics:
                fig, _ = plot_confusion_matrix(torch.tensor(metrics["test/confusion_matrix"]))
                logger.experiment.add_figure("test/confusion_matrix", fig, global_step=trainer.global_step)
            logger.finalize("success")
