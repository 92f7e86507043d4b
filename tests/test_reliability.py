"""Faults and bad settings: resume after SIGKILL, determinism, DDP, atomic checkpoints, config errors, TensorBoard."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
import torch
from fsspec.implementations.local import LocalFileOpener
from omegaconf import DictConfig

from digit_lit.train import train
from tests.helpers.cli import cli, error_lines
from tests.helpers.paths import ROOT

TINY = ["data.val_size=100", "data.batch_size=10", "callbacks.progress_bar=null"]


def test_resume_after_sigkill_finishes_the_planned_epochs(tiny_mnist: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = [sys.executable, "-m", "digit_lit.train", "model=cnn", "trainer.max_epochs=4", "logger=none", *TINY]
    args += [f"paths.data_dir={tiny_mnist}", f"hydra.run.dir={run_dir}"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = run_dir / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = torch.load(last, weights_only=True)
    steps_per_epoch = 50  # 500 training images, batch 10
    assert killed_at["global_step"] < 4 * steps_per_epoch and not (run_dir / "metrics.json").exists()

    res = cli("digit_lit.train", *args[3:], "ckpt_path=last")
    assert res.returncode == 0, res.stderr[-3000:]
    done = torch.load(last, weights_only=True)
    assert done["global_step"] == 4 * steps_per_epoch  # exactly the planned 4 epochs, no more, no fewer
    assert json.loads((run_dir / "metrics.json").read_text())["test/acc"] > 0.5


def test_same_seed_same_metrics(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    runs = [
        train(train_cfg("model=mlp", "trainer.max_epochs=2", "logger=none", *TINY, data_dir=tiny_mnist))
        for _ in range(2)
    ]
    keys = [k for k in runs[0] if k.startswith("test/")]
    assert len(keys) >= 8 and all(runs[0][k] == runs[1][k] for k in keys)


def test_ddp_ranks_see_different_samples(tiny_mnist: Path, tmp_path: Path) -> None:
    res = cli(
        "digit_lit.train",
        "trainer=ddp_cpu",
        "trainer.max_epochs=1",
        "model=mlp",
        "logger=none",
        *TINY,
        "+callbacks.probe._target_=tests.helpers.probes.RecordTrainSamples",
        f"paths.data_dir={tiny_mnist}",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    seen = [set(json.loads((tmp_path / "run" / f"seen_rank{r}.json").read_text())) for r in (0, 1)]
    assert len(seen[0]) == len(seen[1]) == 250 and not seen[0] & seen[1]


def test_checkpoint_write_is_atomic(tiny_mnist: Path, train_cfg: Callable[..., DictConfig], tmp_path: Path) -> None:
    cfg = train_cfg("model=linear", "trainer.max_epochs=1", "logger=none", *TINY, data_dir=tiny_mnist)
    best = Path(train(cfg)["best_ckpt"])
    before = best.read_bytes()
    write = LocalFileOpener.write

    def crash_halfway(self: LocalFileOpener, data: bytes) -> int:
        write(self, data[: len(data) // 2])
        raise KeyboardInterrupt("power cut while saving")

    import lightning as L

    from digit_lit.guard import Guard
    from digit_lit.module import DigitClassifier

    model = DigitClassifier.load_from_checkpoint(best, weights_only=True)
    trainer = L.Trainer(logger=False, enable_progress_bar=False)
    trainer.strategy.connect(model)
    with mock.patch.object(LocalFileOpener, "write", crash_halfway), pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint(best)
    assert best.read_bytes() == before  # the good checkpoint is still in place, whole
    assert Guard.load(best) is not None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.batch_size=-8", "error: data.batch_size=-8 must be a positive integer"),
        ("data.batch_size=abc", "error: data.batch_size='abc' must be a positive integer"),
        ("trainer.max_epochs=-3", "error: trainer.max_epochs=-3 must be a positive integer"),
        ("ckpt_path=/no/such.ckpt", "error: ckpt_path=/no/such.ckpt does not exist; give the path of a .ckpt file"),
        ("ckpt_path=last", "error: ckpt_path=last but"),
        ("data.outliers=100", "error: data.outliers=100 needs model.outlier_weight > 0"),
    ],
)
def test_bad_settings_are_one_line(override: str, message: str, tmp_path: Path) -> None:
    res = cli("digit_lit.train", override, f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    (line,) = error_lines(res)
    assert line.startswith(message)


def test_unknown_group_option_names_the_choices(tmp_path: Path) -> None:
    res = cli("digit_lit.train", "model=transformer", f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "Could not find 'model/transformer'" in res.stderr
    assert all(f"\t{m}" in res.stderr for m in ("linear", "mlp", "cnn"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read()


def test_tensorboard_serves_scalars_and_confusion_matrix(
    tiny_mnist: Path, train_cfg: Callable[..., DictConfig]
) -> None:
    cfg = train_cfg("model=mlp", "trainer.max_epochs=2", *TINY, data_dir=tiny_mnist)
    train(cfg)
    port = _free_port()
    tb = Path(sys.executable).parent / "tensorboard"
    server = subprocess.Popen(
        [
            str(tb),
            "--logdir",
            str(Path(cfg.paths.output_dir) / "tensorboard"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                scalars = json.loads(_get(f"{base}/data/plugin/scalars/tags"))
                if scalars:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "tensorboard did not come up"
            time.sleep(0.5)
        (run,) = scalars
        for tag in ("train/loss", "train/acc", "val/acc", "val/acc_best", "val/threshold", "test/acc"):
            assert tag in scalars[run], tag
        images = json.loads(_get(f"{base}/data/plugin/images/tags"))
        assert "test/confusion_matrix" in images[run]
        q = urllib.parse.urlencode({"run": run, "tag": "test/confusion_matrix", "sample": 0})
        (entry,) = json.loads(_get(f"{base}/data/plugin/images/images?{q}"))
        png = _get(f"{base}/data/plugin/images/individualImage?{entry['query']}")
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
        req = urllib.request.Request(
            f"{base}/data/plugin/hparams/experiment",
            data=b'{"experimentName": ""}',
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            experiment = json.loads(r.read())
        names = {h["name"] for h in experiment["hparamInfos"]}
        assert {"model.net.name", "data.batch_size", "trainer.max_epochs"} <= names
        assert "test/acc" in {m["name"]["tag"] for m in experiment["metricInfos"]}
    finally:
        server.terminate()
        server.wait(10)
