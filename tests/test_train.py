"""The training entry point end to end on a tiny MNIST: every model, the CLI, its errors, DDP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig

from digit_lit.config import check_config, instantiate
from digit_lit.errors import ConfigError
from digit_lit.models import members
from digit_lit.train import train
from digit_lit.trainer import make_trainer
from tests.helpers.cli import cli, error_lines
from tests.helpers.noise import noise_in


def test_run_shorter_than_an_epoch_finishes(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    """3 steps of an epoch of 10: fit ends before any validation, which the default callbacks must survive."""
    overrides = ("model=linear", "+trainer.max_steps=3", "data.batch_size=50", "data.val_size=100")
    cfg = train_cfg(*overrides, data_dir=tiny_mnist)
    with pytest.warns(UserWarning, match="never calibrated"):
        metrics = train(cfg)
    assert "val/acc_best" not in metrics and 0.0 <= metrics["test/acc"] <= 1.0
    assert "test/coverage" not in metrics  # no calibration, so no guard figures: said, not faked


@pytest.mark.parametrize("model", ["linear", "mlp", "cnn", "tiny_cnn"])
def test_fast_dev_run(model: str, tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    cfg = train_cfg(f"model={model}", "trainer=cpu", "debug=fast_dev_run", "data.val_size=100", data_dir=tiny_mnist)
    metrics = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert len(metrics["test/confusion_matrix"]) == 10


def test_short_run_learns_and_writes_outputs(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    cfg = train_cfg("model=mlp", "trainer.max_epochs=4", "data.val_size=100", "data.batch_size=50", data_dir=tiny_mnist)
    metrics = train(cfg)
    out = Path(cfg.paths.output_dir)
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["test/acc"] == metrics["test/acc"] > 0.9  # the fake digits are easy
    matrix = torch.tensor(saved["test/confusion_matrix"])
    assert matrix.shape == (10, 10) and int(matrix.sum()) == 200
    assert abs(matrix.diag().sum().item() / 200 - saved["test/acc"]) < 1e-6
    for key in ("val/acc_best", "fit_seconds", "test/ece", "test/coverage", "test/wrong_accept"):
        assert isinstance(saved[key], float)
    assert (out / "config.yaml").exists() and Path(saved["best_ckpt"]).exists()
    assert (out / "checkpoints" / "last.ckpt").exists()
    ckpt = torch.load(saved["best_ckpt"], weights_only=True)
    assert float(ckpt["state_dict"]["temperature"]) > 0 and "threshold" in ckpt["state_dict"]


def test_last_ckpt_is_the_last_epoch_when_val_acc_stopped_improving(
    tiny_mnist: Path, train_cfg: Callable[..., DictConfig]
) -> None:
    """The fake digits are read perfectly from the first epoch on (val/acc 1.0), so the best checkpoint is epoch 0;
    last.ckpt must still be the last epoch's (Lightning 2.6's save_last left it at the best one)."""
    overrides = ("model=mlp", "trainer.max_epochs=3", "data.val_size=100", "data.batch_size=50", "logger=none")
    metrics = train(train_cfg(*overrides, data_dir=tiny_mnist))
    best = torch.load(metrics["best_ckpt"], weights_only=True)
    last = torch.load(Path(metrics["best_ckpt"]).parent / "last.ckpt", weights_only=True)
    assert (last["epoch"], last["global_step"]) == (2, 30)  # 500 training digits, 10 steps an epoch
    assert best["epoch"] == 0 < last["epoch"]


def test_mixed_precision_trains_in_bf16_and_calibrates_in_float32(
    tiny_mnist: Path, train_cfg: Callable[..., DictConfig]
) -> None:
    """trainer.precision=bf16-mixed speeds up the training steps only: the rule stored is the one float32 logits of
    the same weights give (what predict computes), not one fitted on bf16 logits."""
    overrides = ("model=tiny_cnn", "trainer.precision=bf16-mixed", "trainer.max_epochs=1", "data.val_size=100")
    cfg = train_cfg(*overrides, "data.batch_size=50", "callbacks=none", "logger=none", data_dir=tiny_mnist)
    check_config(cfg)
    datamodule, model, trainer = instantiate(cfg.data), instantiate(cfg.model), make_trainer(cfg)
    dtypes: set[torch.dtype] = set()
    model.net.register_forward_hook(lambda net, args, out: dtypes.add(out.dtype) if net.training else None)
    trainer.fit(model, datamodule=datamodule)
    assert dtypes == {torch.bfloat16}  # the training steps did run in bf16
    stored = float(model.temperature), float(model.threshold)
    images, labels = (torch.cat(t) for t in zip(*datamodule.val_dataloader(), strict=True))
    model.eval()
    with torch.no_grad():
        logits = members(model.net(images))  # float32, as predict reads
    refit = model.calibrate({"mnist": (logits, labels)})
    assert (refit.temperature, refit.threshold) == stored


@pytest.mark.parametrize("precision", ["bf16-true", "16-true", "64-true"])
def test_precision_that_stores_other_weights_is_refused(precision: str, train_cfg: Callable[..., DictConfig]) -> None:
    with pytest.raises(ConfigError, match=f"trainer.precision={precision}: digit_lit keeps the weights in float32"):
        check_config(train_cfg(f"trainer.precision={precision}"))


def test_cli_writes_run_dir(tiny_mnist: Path, tmp_path: Path) -> None:
    res = cli(
        "digit_lit.train",
        "model=linear",
        "debug=fast_dev_run",
        f"paths.data_dir={tiny_mnist}",
        "data.val_size=100",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "test accuracy:" in res.stdout and "confusion matrix" in res.stdout
    assert (tmp_path / "run" / "metrics.json").exists() and (tmp_path / "run" / ".hydra" / "config.yaml").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown on machines without a GPU")
def test_gpu_trainer_without_gpu_is_one_clear_line(tiny_mnist: Path, tmp_path: Path) -> None:
    res = cli("digit_lit.train", "model=mlp", "trainer=gpu", f"hydra.run.dir={tmp_path}/run")
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert error_lines(res) == [
        "error: trainer=gpu needs a CUDA GPU and this machine has none (torch.cuda.is_available() is False); "
        "use trainer=cpu"
    ]


def test_missing_data_is_one_clear_line(tmp_path: Path) -> None:
    res = cli(
        "digit_lit.train", f"paths.data_dir={tmp_path}/nothing", "data.download=false", f"hydra.run.dir={tmp_path}/r"
    )
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    (line,) = error_lines(res)
    assert line.startswith("error: MNIST not found in") and "t10k-labels-idx1-ubyte.gz" in line


def test_ddp_cpu_two_processes(tiny_mnist: Path, tmp_path: Path) -> None:
    res = cli(
        "digit_lit.train",
        "trainer=ddp_cpu",
        "debug=fast_dev_run",
        "model=mlp",
        f"paths.data_dir={tiny_mnist}",
        "data.val_size=100",
        "callbacks.progress_bar=null",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in res.stdout + res.stderr
    assert noise_in(res.stdout + res.stderr) == []  # each process would print the LeafSpec warning
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test/acc"] >= 0.0
