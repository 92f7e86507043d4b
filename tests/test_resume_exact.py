"""A seeded CPU run killed with SIGKILL and resumed with `ckpt_path=last` is the uninterrupted run, to the bit
(issue 10, item 7): same batches, weights, RNG states and losses at every step after the resume, same final weights
and optimizer, same metrics.json."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.helpers.cli import cli
from tests.helpers.paths import ROOT
from tests.helpers.tiny_mnist import write_tiny_mnist

# 500 training images, batch 10: 50 steps an epoch, 100 in all; dropout (MLP) draws from the global RNG every step
COMMON = [
    "model=mlp",
    "trainer.max_epochs=2",
    "data.val_size=100",
    "data.batch_size=10",
    "logger=none",
    "callbacks.progress_bar=null",
    "+callbacks.steps._target_=tests.helpers.probes.RecordSteps",
]
# where last.ckpt stands when the run is killed at step 70: the end of epoch 0 (saved after its validation), or
# step 60, a third into epoch 1 (checkpoints every 20 steps)
WHERE = {"epoch_end": ([], 50), "mid_epoch": (["+callbacks.last_checkpoint.every_n_train_steps=20"], 60)}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_mnist(tmp_path_factory.mktemp("resume") / "data")


def records(run: Path) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """The last record of every step (a resumed run repeats none, but keep the latest), and the final one."""
    lines = [json.loads(line) for line in (run / "steps.jsonl").read_text().splitlines()]
    steps = {r["step"]: r for r in lines if "step" in r}
    (final,) = [r for r in lines if "final" in r]
    return steps, final


@pytest.mark.parametrize("where", list(WHERE))
def test_resumed_run_is_the_uninterrupted_run(where: str, data: Path, tmp_path: Path) -> None:
    extra, saved_at = WHERE[where]
    args = [*COMMON, *extra, f"paths.data_dir={data}"]
    whole = cli("digit_lit.train", *args, f"hydra.run.dir={tmp_path}/whole")
    assert whole.returncode == 0, whole.stderr[-3000:]

    run = tmp_path / "killed"
    kill = ["+callbacks.kill._target_=tests.helpers.probes.SignalAt", "+callbacks.kill.step=70"]
    killed = subprocess.run(
        [sys.executable, "-m", "digit_lit.train", *args, *kill, f"hydra.run.dir={run}"],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == saved_at
    assert not (run / "metrics.json").exists()

    resumed = cli("digit_lit.train", *args, f"hydra.run.dir={run}", "ckpt_path=last")
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    (steps_a, final_a), (steps_b, final_b) = records(tmp_path / "whole"), records(run)
    assert sorted(steps_a) == sorted(steps_b) == list(range(1, 101))
    for step in range(saved_at + 1, 101):  # the steps the resumed run did
        assert steps_b[step] == steps_a[step], f"step {step} differs after resuming from step {saved_at}"
    assert final_b == final_a
    metrics_a, metrics_b = (json.loads((r / "metrics.json").read_text()) for r in (tmp_path / "whole", run))
    for name in ("fit_seconds", "best_ckpt"):  # a duration, and a path in another folder
        metrics_a.pop(name), metrics_b.pop(name)
    assert metrics_b == metrics_a
