"""Each debug preset (conf/debug/) does what its comment promises, on a tiny MNIST."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from digit_lit.config import check_config
from digit_lit.train import train
from tests.helpers.configs import compose_train
from tests.helpers.paths import CONF
from tests.helpers.tiny_mnist import write_tiny_mnist


def test_fast_dev_run_runs_everything_and_writes_no_checkpoint(
    tiny_mnist: Path, train_cfg: Callable[..., DictConfig]
) -> None:
    cfg = train_cfg("model=mlp", "debug=fast_dev_run", "data.val_size=100", data_dir=tiny_mnist)
    metrics = train(cfg)
    out = Path(cfg.paths.output_dir)
    assert "test/acc" in metrics and "val/acc_best" in metrics  # train, validation and test all ran
    assert list(out.rglob("*.ckpt")) == [] and not (out / "tensorboard").exists()


def test_limit_cuts_every_split_and_runs_end_to_end(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    # 500 training images in batches of 10: 50 a full epoch, 20 under the preset
    cfg = train_cfg("debug=limit", "data.val_size=100", "data.batch_size=10", "logger=csv", data_dir=tiny_mnist)
    metrics = train(cfg)
    with (Path(cfg.paths.output_dir) / "csv" / "metrics.csv").open() as f:
        epoch_ends = [int(row["step"]) for row in csv.DictReader(f) if row["train/acc"]]
    assert epoch_ends == [19, 39]  # two epochs of 20 steps (logged at each epoch's last step, counted from 0)
    assert Path(metrics["best_ckpt"]).is_file() and 0.0 <= metrics["test/acc"] <= 1.0


def test_overfit_learns_its_batches_by_heart(tmp_path: Path, train_cfg: Callable[..., DictConfig]) -> None:
    # Noise with random labels: nothing to learn but the images themselves. Should the 3 batches change between
    # epochs (a shuffled loader), train accuracy stays near chance.
    data = write_tiny_mnist(tmp_path / "noise", n_train=2100, noise=True)
    cfg = train_cfg("debug=overfit", "data.val_size=100", "data.batch_size=32", "logger=csv", data_dir=data)
    train(cfg)
    with (Path(cfg.paths.output_dir) / "csv" / "metrics.csv").open() as f:
        epochs = [row for row in csv.DictReader(f) if row["train/acc"]]
    assert len(epochs) == 30
    assert float(epochs[-1]["train/acc"]) >= 0.99, epochs[-1]


def test_profiler_writes_its_report(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    cfg = train_cfg("debug=profiler", "model=linear", "data.val_size=100", data_dir=tiny_mnist)
    train(cfg)
    report = (Path(cfg.paths.output_dir) / "fit-profile.txt").read_text()
    assert "FIT Profiler Report" in report and "run_training_epoch" in report


@pytest.mark.parametrize("debug", sorted(p.stem for p in (CONF / "debug").glob("*.yaml")))
@pytest.mark.parametrize("experiment", [None, *sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))])
def test_every_debug_preset_goes_with_every_experiment(debug: str, experiment: str | None, tmp_path: Path) -> None:
    """A preset keeps its promise whatever experiment it is added to: e.g. `debug=limit` (2 epochs) on
    `experiment=guard` (which validates less often) validates both, so none is trained and thrown away."""
    chosen = [f"experiment={experiment}"] if experiment else []
    cfg = compose_train([*chosen, f"debug={debug}"], tmp_path / "run")
    check_config(cfg)  # raises ConfigError on a combination the run would refuse
