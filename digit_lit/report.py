"""The one place that reports a run: TensorBoard's hparams at the start; at the end metrics.json, the resolved config,
the printed report, and the figures (digit_lit.figures) as PNGs beside metrics.json and as TensorBoard images."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.loggers import TensorBoardLogger
from matplotlib.figure import Figure
from omegaconf import DictConfig, ListConfig, OmegaConf
from rich.console import Console
from rich.table import Table
from torch.utils.tensorboard.summary import hparams

from digit_lit import figures
from digit_lit.files import atomic_write
from digit_lit.metrics import TestSamples

# The settings worth comparing runs by in TensorBoard's HPARAMS tab (the whole config is in each run's config.yaml).
# A setting that is a config node shows as its class name (model.optimizer: AdamW), an unset one as "none".
HPARAMS = (
    "model.net.name",
    "model.net.hidden",
    "model.net.channels",
    "model.net.dropout",
    "model.optimizer",
    "model.optimizer.lr",
    "model.optimizer.weight_decay",
    "model.scheduler",
    "model.scheduler.max_lr",
    "model.outlier_weight",
    "data.batch_size",
    "data.augment",
    "data.outliers",
    "trainer.max_epochs",
    "trainer.max_steps",
    "trainer.devices",
    "trainer.precision",
    "seed",
)
# the figures HPARAMS compares runs by: logged by DigitClassifier during the run, declared here at its start
HPARAM_METRICS = ("val/acc_best", "val/coverage", "test/acc", "test/ece", "test/coverage", "test/wrong_accept")
_ABSENT = object()

log = logging.getLogger(__name__)


def curated_hparams(cfg: DictConfig) -> dict[str, bool | int | float | str]:
    """HPARAMS with scalar values (settings absent from this config are left out), and the experiment's name."""
    out: dict[str, bool | int | float | str] = {}
    if HydraConfig.initialized():
        out["experiment"] = str(HydraConfig.get().runtime.choices.get("experiment") or "none")
    for key in HPARAMS:
        value = OmegaConf.select(cfg, key, default=_ABSENT)
        if value is _ABSENT:
            continue
        if value is None:
            value = "none"
        elif isinstance(value, DictConfig):
            value = str(value.get("_target_", "?")).rsplit(".", 1)[-1]
        elif isinstance(value, ListConfig):
            value = str(OmegaConf.to_container(value))
        out[key] = value
    return out


def _tensorboards(trainer: L.Trainer | None) -> list[TensorBoardLogger]:
    if trainer is None or not trainer.is_global_zero:
        return []
    return [lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]


def start(cfg: DictConfig, trainer: L.Trainer) -> None:
    """Log the curated hparams to TensorBoard before fit, with HPARAM_METRICS declared.

    Written by hand rather than with `logger.log_hyperparams(params, metrics=...)`: that also logs each metric's value
    as a scalar at step 0, and TensorBoard reads a step that goes back as a restart and drops the tag's history.
    Declared only, the metrics take the values DigitClassifier logs during the run.
    """
    for logger in _tensorboards(trainer):
        writer = logger.experiment._get_file_writer()  # what Lightning's log_hyperparams writes through too
        for summary in hparams(curated_hparams(cfg), dict.fromkeys(HPARAM_METRICS, 0.0)):
            writer.add_summary(summary)
        logger.experiment.flush()


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


def _figure(v: float) -> str:
    """A count as a whole number (20000, not 2e+04); a rate or a threshold to six significant digits (the stored
    threshold 0.98896181... as 0.988962: four digits printed 0.989, which is not the threshold any file holds)."""
    return str(int(v)) if v.is_integer() else f"{v:.6g}"


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
    if any(k.startswith(("world/", "fashion/", "nondigit/")) for k in metrics):
        console.print(guard_table(metrics))
    rest = {k: v for k, v in metrics.items() if isinstance(v, float) and k not in ("test/acc",)}
    console.print(", ".join(f"{k}: {_figure(v)}" for k, v in rest.items()))
    log.info(text.getvalue().rstrip())


def plots_for(metrics: dict[str, Any], samples: TestSamples | None, threshold: float | None) -> dict[str, Figure]:
    """The figures of a test run, by name (the PNG's file name and, under test/, the TensorBoard image tag)."""
    out: dict[str, Figure] = {}
    if samples is not None:
        out["misclassified"] = figures.misclassified(samples)
        out["reliability"] = figures.reliability(samples, metrics.get("test/ece"), threshold)
    if "test/confusion_matrix" in metrics:
        out["confusion_matrix"] = figures.confusion(metrics["test/confusion_matrix"])
    return out


def earlier_figures(run_dir: str | Path, prefix: str) -> dict[str, Any]:
    """The figures starting with `prefix` in the run dir's metrics.json, as its last finish wrote them ({} when there
    is none, or it cannot be read: a figure not measured is left out, never made up)."""
    try:
        earlier = json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in earlier.items() if k.startswith(prefix)} if isinstance(earlier, dict) else {}


def finish(
    cfg: DictConfig,
    metrics: dict[str, Any],
    trainer: L.Trainer | None = None,
    samples: TestSamples | None = None,
    threshold: float | None = None,
) -> None:
    """On rank 0: write the resolved config and metrics.json, print the report, and write the test figures as PNGs
    (beside metrics.json) and TensorBoard images."""
    if trainer is not None and trainer.global_rank != 0:
        return
    out = Path(cfg.paths.output_dir)
    atomic_write(out / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    atomic_write(out / "metrics.json", json.dumps(metrics, indent=1))
    print_report(metrics)
    loggers = _tensorboards(trainer)
    for name, fig in plots_for(metrics, samples, threshold).items():
        atomic_write(out / f"{name}.png", figures.png(fig))
        for logger in loggers:
            logger.experiment.add_figure(f"test/{name}", fig, global_step=trainer.global_step, close=False)
    for logger in loggers:
        logger.finalize("success")
