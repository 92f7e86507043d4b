"""The one place that reports a finished run: metrics.json, the resolved config, the printed report, TensorBoard."""

from __future__ import annotations

import json
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


def guard_table(metrics: dict[str, Any]) -> Table:
    """The guard's figures side by side: digits it should read (MNIST test, world test) and pictures it must refuse."""
    table = Table(title="the guard: digits to read, pictures to refuse")
    for col in ("set", "top-1", "coverage", "wrong-accept", "refused"):
        table.add_column(col, justify="right" if col != "set" else "left")

    def pct(key: str) -> str:
        value = metrics.get(key)
        return f"{100 * value:.2f}%" if isinstance(value, float) else "-"

    for name, p in (("MNIST test", "test/"), ("world test", "world/")):
        if f"{p}coverage" in metrics:
            table.add_row(name, pct(f"{p}acc"), pct(f"{p}coverage"), pct(f"{p}wrong_accept"), "-")
    refused = [k for k in metrics if k.startswith(("fashion/", "nondigit/")) and k.endswith("/refused")]
    for key in refused:
        name = "Fashion-MNIST" if key.startswith("fashion/") else f"non-digit: {key.split('/')[1]}"
        table.add_row(name, "-", "-", "-", pct(key))
    return table


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
    if any(k.startswith(("world/", "fashion/", "nondigit/")) for k in metrics):
        console.print(guard_table(metrics))
    rest = {k: v for k, v in metrics.items() if isinstance(v, float) and k not in ("test/acc",)}
    console.print(", ".join(f"{k}: {v:.4g}" for k, v in rest.items()))


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
