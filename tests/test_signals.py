"""SIGTERM (a scheduler's stop) and SIGINT (Ctrl+C) during training: one clear line, checkpoints intact, and the exit
status a shell reports for that signal, never 0 (issue 10, item 5)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers.cli import cli, error_lines
from tests.helpers.paths import ROOT
from tests.helpers.pictures import fake_digit_png

PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}

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


def test_sigterm_while_the_world_is_drawn(tiny_mnist: Path, tmp_path: Path) -> None:
    """SIGTERM while `fit` draws the world (prepare_data, before Lightning installs its handler) ended the process
    without a word, its drawing pool's workers printing tracebacks and its run dir left half claimed."""
    run = tmp_path / "run"
    args = ["model=linear", "data=world", "model.outlier_weight=0.5", "logger=none", "callbacks.progress_bar=null"]
    # a world of 50,000 training pictures: minutes to draw, so the signal comes while it is drawn
    args += [
        "data.val_size=100",
        "data.world.train_renders=100",
        f"paths.data_dir={tiny_mnist}",
        f"hydra.run.dir={run}",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    train = subprocess.Popen([sys.executable, "-m", "digit_lit.train", *args], cwd=ROOT, env=env, text=True, **PIPES)
    try:
        assert train.stdout is not None
        for line in train.stdout:  # its log line as drawing begins
            if line.startswith("rendering 50000 world pictures"):
                break
        else:
            pytest.fail(f"the world was not drawn: {train.communicate()[1][-3000:]}")
        time.sleep(1)
        train.send_signal(signal.SIGTERM)
        _, err = train.communicate(timeout=60)
    finally:
        train.kill()
    assert train.returncode == 143 and "Traceback" not in err, err[-3000:]
    assert [line for line in err.splitlines() if line.strip()] == [
        "error: stopped by SIGTERM at epoch 0, step 0, before any checkpoint was written"
    ]
    assert not run.exists() and not list((tiny_mnist / "world").glob("*"))  # no run dir, no half-written cache


def test_sigterm_stops_predict(tiny_onnx: Path, tmp_path: Path) -> None:
    """SIGTERM while predict reads a folder: the signal landed inside the reading of one picture, whose `except
    Exception` made it that picture's error ("unreadable image (stopped by SIGTERM)") and read on to the end, exit 1."""
    folder = tmp_path / "many"
    folder.mkdir()
    first = fake_digit_png(folder / "0000.png", 7)
    for k in range(1, 3000):
        os.link(first, folder / f"{k:04d}.png")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    predict = subprocess.Popen(
        [sys.executable, "-m", "digit_lit.predict", f"model_path={tiny_onnx}", f"inputs=[{folder}]"],
        cwd=ROOT,
        env=env,
        text=True,
        **PIPES,
    )
    try:
        assert predict.stdout is not None
        predict.stdout.readline()  # it is reading
        predict.send_signal(signal.SIGTERM)
        out, err = predict.communicate(timeout=60)
    finally:
        predict.kill()
    assert predict.returncode == 143 and "Traceback" not in err, err[-3000:]
    assert [line for line in err.splitlines() if line.strip()] == ["error: stopped by SIGTERM"]
    assert len(out.splitlines()) < 2999 and "SIGTERM" not in out  # it stopped; no picture took the blame
