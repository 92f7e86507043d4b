"""Train a digit classifier: `python -m digit_lit.train model=mlp trainer=gpu`."""

from __future__ import annotations

import logging
import time
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

import digit_lit.quiet  # noqa: F401 - on import, silences third-party noise (see quiet.py)
from digit_lit.config import check_config, instantiate, no_added_settings
from digit_lit.errors import ConfigError, command_line, exit_cleanly, sigterm_stops

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    log.info(f"run dir: {cfg.paths.output_dir}")
    check_config(cfg)
    # Lightning (and torch) take ~5 s to import: a bad setting is refused above, before they are, in about a second
    import lightning as L

    from digit_lit import report
    from digit_lit.module import DigitClassifier
    from digit_lit.quiet import lightning_logs_once
    from digit_lit.trainer import best_checkpoint, make_trainer, resume_path, stop_message, stopped_cleanly

    lightning_logs_once()
    resume = resume_path(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    datamodule = instantiate(cfg.data)
    model: DigitClassifier = instantiate(cfg.model)
    trainer = make_trainer(cfg)
    # SIGTERM outside Lightning's loops (drawing the world in prepare_data, the report): one line, as inside them
    with sigterm_stops(lambda: stop_message(trainer, "SIGTERM")):
        report.start(cfg, trainer)

        start = time.perf_counter()
        with stopped_cleanly(trainer):
            trainer.fit(model, datamodule=datamodule, ckpt_path=resume, weights_only=True)
        metrics: dict[str, Any] = {"fit_seconds": round(time.perf_counter() - start, 3)}
        # the last validation epoch's figures (calibration, coverage and wrong-accept on every validation group)
        metrics.update({k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")})
        if model.val_acc_best.update_called:  # not in a run that ended before its first validation
            metrics["val/acc_best"] = float(model.val_acc_best.compute())
        if resume and not any(key.startswith("val/") for key in metrics):
            # resumed with nothing left to train (e.g. to run its test again): no validation ran, and metrics.json,
            # written anew, lost the figures of the run's last one; they are kept from the one it replaces
            metrics.update(report.earlier_figures(cfg.paths.output_dir, "val/"))
        if cfg.get("test"):
            best = best_checkpoint(trainer)
            # fast_dev_run and runs without checkpoints test the weights in hand
            # verbose=False: Lightning's own table of test metrics would repeat report.finish's report
            with stopped_cleanly(trainer):
                trainer.test(model, datamodule=datamodule, ckpt_path=best or None, weights_only=True, verbose=False)
            metrics["best_ckpt"] = best
            metrics.update(model.test_report())
        rule = model.rule()
        report.finish(cfg, metrics, trainer, model.test_samples(), rule.threshold if rule else None)
        log.info(f"done; this run is in {cfg.paths.output_dir}")
    return metrics


@command_line
@hydra.main(version_base="1.3", config_path="conf", config_name="train")
@exit_cleanly
def main(cfg: DictConfig) -> float | None:
    # what train reads of an added key: a key inside a node a class is built from, which refuses keys it does not
    # take (+trainer.max_steps=50), or a config group's name (Hydra's business); a new top-level key nothing reads
    # (+seeds=3) is refused
    groups = HydraConfig.get().runtime.choices
    no_added_settings(
        "train",
        "check its spelling (--cfg job prints every setting), or add it inside a group: +trainer.max_steps=50",
        kept=lambda key: "." in key or key in groups,
    )
    metrics = train(cfg)
    # the value an Optuna sweep optimises
    metric = cfg.get("optimized_metric")
    if not metric:
        return None
    # a sweep's sweeper needs a number: a None ended an Optuna sweep in a traceback ("No trials are completed yet"); a
    # single run that ended before its first validation returns None, as it measured nothing
    if metrics.get(metric) is None and HydraConfig.get().mode == RunMode.MULTIRUN:
        raise ConfigError(
            f"optimized_metric={metric} was not measured by this run (it ended before its first validation, or "
            "names no metric it logs); give the sweep's runs a validation"
        )
    return metrics.get(metric)


if __name__ == "__main__":
    main()
