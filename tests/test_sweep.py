"""The Optuna search runs as a real Hydra multirun (two tiny trials)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers.cli import cli
from tests.helpers.noise import noise_in


def test_optuna_sweep_two_trials(tiny_mnist: Path, tmp_path: Path) -> None:
    res = cli(
        "digit_lit.train",
        "hparams_search=mlp_optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        "debug=fast_dev_run",
        "logger=none",
        "callbacks.progress_bar=null",
        "data.val_size=100",
        f"paths.data_dir={tiny_mnist}",
        f"hydra.sweep.dir={tmp_path}/sweep",
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert noise_in(res.stdout + res.stderr) == []  # alembic's "setup plugin" lines, among others
    trials = sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir())
    assert trials[:2] == ["0", "1"] and all((tmp_path / "sweep" / t / "metrics.json").exists() for t in "01")
    best = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
    assert best["name"] == "optuna" and 0.0 <= best["best_value"] <= 1.0
    assert {"model.scheduler.max_lr", "data.batch_size"} <= set(best["best_params"])
