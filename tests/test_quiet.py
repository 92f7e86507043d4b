"""A run prints what a person needs: none of the third-party noise listed in tests/helpers/noise.py, while
digit_lit's own warnings stay visible. (DDP and the Optuna sweep are checked in test_train.py and test_sweep.py.)"""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import cli
from tests.helpers.noise import noise_in


def test_train_prints_no_third_party_noise_and_keeps_our_warnings(tiny_mnist: Path, tmp_path: Path) -> None:
    # No checkpoint callback (Lightning's litmodels advert), one-cycle (its run-length note), a test (its table), and a
    # run that ends before its first validation, so that digit_lit warns the model was never calibrated.
    res = cli(
        "digit_lit.train",
        "model=linear",
        "callbacks=none",
        "+trainer.max_steps=3",
        "data.batch_size=50",
        "data.val_size=100",
        f"paths.data_dir={tiny_mnist}",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    output = res.stdout + res.stderr
    assert noise_in(output) == []
    assert "UserWarning: the model was never calibrated" in output
    assert "test accuracy:" in res.stdout
    # Lightning's lines once each: its own console handler printed them beside Hydra's (quiet.lightning_logs_once)
    assert output.count("Seed set to 42") == 1 and output.count("GPU available:") == 1, output[:600]
    assert "Seed set to 42" in (tmp_path / "run" / "train.log").read_text()  # and the run's log keeps them


def test_export_prints_one_line(tiny_ckpt: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    res = cli("digit_lit.export", f"ckpt_path={tiny_ckpt}", f"out={out}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert noise_in(res.stdout + res.stderr) == []
    assert res.stdout.strip() == f"wrote {out} and {out.with_suffix('.json')}"
