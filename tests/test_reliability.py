"""Faults and bad settings: determinism, DDP, config errors, TensorBoard (resume: test_resume.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from digit_lit.train import train
from tests.helpers.cli import cli, error_lines

TINY = ["data.val_size=100", "data.batch_size=10", "callbacks.progress_bar=null"]


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


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.batch_size=-8", "error: data.batch_size=-8 must be a positive integer"),
        ("data.batch_size=abc", "error: data.batch_size='abc' must be a positive integer"),
        ("trainer.max_epochs=-3", "error: trainer.max_epochs=-3 must be a positive integer"),
        ("ckpt_path=/no/such.ckpt", "error: ckpt_path=/no/such.ckpt does not exist; give the path of a .ckpt file"),
        ("ckpt_path=last", "error: ckpt_path=last but"),
        ("data.outliers=100", "error: data.outliers=100 needs model.outlier_weight > 0"),
        ("data.outliers=-5", "error: data.outliers=-5 must be 0 (none) or a positive number of non-digit pictures"),
        ("model.optimizer.lr=-1", "error: model.optimizer is invalid: Invalid learning rate: -1"),
        ("seed=abc", "error: seed='abc' must be an integer from 0 to 4294967295 (seed: or null, unseeded)"),
        # out of numpy's and Lightning's range, or not a number: a ValueError deep in seed_everything or the split
        ("seed=-5", "error: seed=-5 must be an integer from 0 to 4294967295"),
        ("data.split_seed=abc", "error: data.split_seed='abc' must be an integer from 0 to 4294967295"),
        ("data.shuffle_seed=99999999999999999999", "error: data.shuffle_seed=99999999999999999999 must be an integer"),
        ("data.download=maybe", "error: data.download='maybe' must be true or false"),  # read as true
        ("+trainer.accumulate_grad_batches=0", "error: trainer.accumulate_grad_batches=0 must be a positive integer"),
        # no validation: no calibration, a checkpoint no guard loads (threshold 0)
        ("+trainer.limit_val_batches=0", "error: trainer.limit_val_batches=0 validates nothing"),
        ("model=mlp model.net.hidden=[0]", "error: model.net.hidden=[0] must be positive layer widths"),
        # a bare value where a class and its arguments go: a TypeError or RuntimeError deep in the run
        ("model.optimizer=null", "error: model.optimizer=None must be a config node, e.g. {_target_: torch.optim"),
        ("model.scheduler=5", "error: model.scheduler=5 must be a config node or null, e.g. null"),
        ("data.augment=5", "error: data.augment=5 must be a config node or null"),
        ("data.world=[1,2]", "error: data.world=[1, 2] must be a config node or null, e.g. data=world"),
        ("trainer.check_val_every_n_epoch=0", "error: trainer.check_val_every_n_epoch=0 must be a positive integer"),
        # the last epochs would be trained and thrown away; with none validated, no rule to load
        ("trainer.check_val_every_n_epoch=3", "error: trainer.max_epochs=10 is not a multiple of trainer.check_val_"),
        ("experiment=guard trainer.max_epochs=1", "error: trainer.max_epochs=1 is not a multiple of trainer.check_val"),
        ("overwrite=maybe", "error: overwrite='maybe' must be true or false"),
        # an added top-level key nothing reads (seed=3 meant): the run went on with seed 42
        ("+seeds=3", "error: train has no setting seeds: check its spelling (--cfg job prints every setting)"),
    ],
)
def test_bad_settings_are_one_line(override: str, message: str, tmp_path: Path) -> None:
    res = cli("digit_lit.train", *override.split(), f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    (line,) = error_lines(res)
    assert line.startswith(message)
    assert not (tmp_path / "run").exists()  # refused before the run started: no folder left


def test_bad_settings_are_refused_before_lightning_is_imported() -> None:
    """The train CLI checks its settings before it imports Lightning and torch (~5 s): a bad setting is one line in
    about a second. Importing the entry point and the run dir's Hydra callback must not pull them in."""
    probe = "import sys, digit_lit.train, digit_lit.rundir; print(sorted({'torch', 'lightning'} & set(sys.modules)))"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "env",
    [{}, {"LOCAL_RANK": "1"}, {"RANK": "0", "LOCAL_RANK": "1"}, {"SLURM_PROCID": "3"}, {"JSM_NAMESPACE_RANK": "2"}],
)
def test_run_dir_rank_is_lightnings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """rundir reads the rank from the environment as Lightning's rank_zero_only does at import (without importing
    Lightning): a DDP worker (rank > 0) never claims the run dir its rank 0 holds."""
    from lightning.fabric.utilities.rank_zero import _get_rank

    from digit_lit.rundir import RANK_KEYS, _rank

    for key in RANK_KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _rank() == (_get_rank() or 0)


def test_unknown_group_option_names_the_choices(tmp_path: Path) -> None:
    res = cli("digit_lit.train", "model=transformer", f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert error_lines(res) == [
        "error: In 'train': Could not find 'model/transformer'; "
        "Available options in 'model': cnn, ensemble, linear, mlp, tiny_cnn"
    ]
    assert res.stderr.strip() == error_lines(res)[0]  # Hydra's own report of several lines is not shown too
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("treshold=0.5", "error: treshold is not a setting: check its spelling (--cfg job prints every setting)"),
        ("mode.digit=1", "error: mode.digit is not a setting: check its spelling (--cfg job prints every setting)"),
        ("inputs=[a.png", "error: cannot read the override 'inputs=[a.png'; no viable alternative at input '[a.png'"),
        ("+mode=code", "error: Could not append to config. An item is already at 'mode'.; Either remove + prefix"),
        ("~nothing", "error: Could not delete from config. 'nothing' does not exist."),
    ],
)
def test_a_command_line_hydra_cannot_compose_is_one_line(override: str, message: str) -> None:
    """Misspelt keys and overrides that do not parse: one `error:` line and exit 2, as every other bad setting, in
    place of Hydra's report of several lines (predict: the entry point that starts fastest; all five share it)."""
    res = cli("digit_lit.predict", "model_path=x.onnx", override)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith(message)


def test_hydra_full_error_still_gives_hydras_own_report() -> None:
    res = cli("digit_lit.predict", "model_path=x.onnx", "treshold=1", env={"HYDRA_FULL_ERROR": "1"})
    assert res.returncode == 1 and "ConfigCompositionException" in res.stderr and not error_lines(res)


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
