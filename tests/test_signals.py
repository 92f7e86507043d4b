"""SIGTERM (a scheduler's stop) and SIGINT (Ctrl+C) during training: one clear line, checkpoints intact, and the exit
status a shell reports for that signal, never 0 (issue 10, item 5)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from tests.helpers.cli import cli, error_lines

SIGNALS = [("SIGTERM", "SIGTERM", 143), ("SIGINT", "SIGINT (Ctrl+C)", 130)]


@pytest.mark.parametrize(("signal", "name", "status"), SIGNALS)
def test_signal_during_training(signal: str, name: str, status: int, tiny_mnist: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    res = cli(
        "digit_lit.train",
        "model=mlp",
        "trainer.max_epochs=3",
        "data.val_size=100",
        "data.batch_size=10",
        "logger=none",
        "callbacks.progress_bar=null",
        f"paths.data_dir={tiny_mnist}",
        f"hydra.run.dir={run}",
        "+callbacks.stop._target_=tests.helpers.probes.SignalAt",
        "+callbacks.stop.step=70",  # in epoch 1: epoch 0's checkpoints exist
        f"+callbacks.stop.signal={signal}",
    )
    assert res.returncode == status and "Traceback" not in res.stderr, res.stderr[-3000:]
    (line,) = error_lines(res)
    assert re.fullmatch(
        rf"error: stopped by {re.escape(name)} at epoch 1, step 7\d; its checkpoints are intact: resume with "
        rf"hydra\.run\.dir={re.escape(str(run))} ckpt_path=last",
        line,
    ), line
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 50
    assert not (run / "metrics.json").exists()
    assert line in (run / "train.log").read_text()  # the run's log says why it ended
