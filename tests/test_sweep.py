"""The Optuna search runs as a real Hydra multirun (two tiny trials)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers.cli import cli, error_lines
from tests.helpers.noise import noise_in

# a search of tiny trials: one batch of each stage
TINY = ["debug=fast_dev_run", "logger=none", "callbacks.progress_bar=null", "data.val_size=100"]


def test_optuna_sweep_two_trials(tiny_mnist: Path, tmp_path: Path) -> None:
    res = cli(
        "digit_lit.train",
        "hparams_search=mlp_optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        *TINY,
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

    # its dir holds it: a second search is refused, and it cannot be resumed (its trials are drawn anew; resumed, a
    # finished trial measured nothing and the search ended in a traceback)
    sweep = tmp_path / "sweep"
    args = ["hparams_search=mlp_optuna", f"paths.data_dir={tiny_mnist}", f"hydra.sweep.dir={sweep}"]
    again = cli("digit_lit.train", *args)
    assert again.returncode == 2 and error_lines(again) == [
        f"error: {sweep} already holds a sweep (0, 1, optimization_results.yaml); replace them with "
        "overwrite=true, or choose another hydra.sweep.dir"
    ]
    resumed = cli("digit_lit.train", *args, "ckpt_path=last")
    assert resumed.returncode == 2 and error_lines(resumed) == [
        "error: ckpt_path=last cannot resume an Optuna sweep (its trials are drawn anew); start it again with "
        "overwrite=true, or choose another hydra.sweep.dir"
    ]


def test_a_trial_that_measures_no_metric_is_one_line(tiny_mnist: Path, tmp_path: Path) -> None:
    """A trial whose optimized_metric was not measured returned None: Hydra logged it, and the search ended in
    Optuna's traceback ("No trials are completed yet")."""
    res = cli(
        "digit_lit.train",
        "hparams_search=mlp_optuna",
        "hydra.sweeper.n_trials=1",
        "optimized_metric=val/acx",
        *TINY,
        f"paths.data_dir={tiny_mnist}",
        f"hydra.sweep.dir={tmp_path}/sweep",
        timeout=600,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert error_lines(res) == [
        "error: optimized_metric=val/acx was not measured by this run (it ended before its first validation, or "
        "names no metric it logs); give the sweep's runs a validation"
    ]
