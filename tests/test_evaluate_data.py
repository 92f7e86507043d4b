"""evaluate reads every dataset from the one data dir it is given, reads without writing there, and reports missing
optional data before any work (issue 10, item 10; item 9's read-only data dir)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from digit_lit.errors import ConfigError
from digit_lit.evaluate import check
from tests.helpers.cli import cli, error_lines
from tests.helpers.mounts import read_only
from tests.helpers.paths import CONF
from tests.helpers.tiny_mnist import write_tiny_mnist


def listing(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))}


def test_fashion_is_read_from_data_data_dir_read_only(tiny_ckpt: Path, tmp_path: Path) -> None:
    data = write_tiny_mnist(tmp_path / "data", 300, 100)
    write_tiny_mnist(data, 300, 100, name="FashionMNIST")  # stands in for Fashion-MNIST: only the path is tested
    before = listing(data)
    with read_only(data):
        res = cli(
            "digit_lit.evaluate",
            f"ckpt_path={tiny_ckpt}",
            f"data.data_dir={data}",
            "nondigits=2",
            f"hydra.run.dir={tmp_path}/run",
        )
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert isinstance(metrics["fashion/refused"], float) and metrics["world/pictures"] > 0
    assert listing(data) == before  # the world pictures, a cache it cannot write there, were drawn in memory


def test_missing_fashion_is_reported_before_any_work(tiny_ckpt: Path, tmp_path: Path) -> None:
    data = write_tiny_mnist(tmp_path / "data", 300, 100)
    res = cli("digit_lit.evaluate", f"ckpt_path={tiny_ckpt}", f"data.data_dir={data}", f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert error_lines(res) == [
        f"error: fashion=true but {data}/FashionMNIST/raw holds no Fashion-MNIST files; copy them there "
        "(e.g. from ../shared/fashion-mnist) or set fashion=false"
    ]
    assert "test accuracy" not in res.stdout and not (tmp_path / "run").exists()  # no test run, nothing written


def test_other_hands_must_be_true_or_false(tiny_ckpt: Path, tmp_path: Path) -> None:
    data = write_tiny_mnist(tmp_path / "data", 300, 100)
    res = cli(
        "digit_lit.evaluate",
        f"ckpt_path={tiny_ckpt}",
        f"data.data_dir={data}",
        "other_hands=sometimes",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert error_lines(res) == [
        "error: other_hands='sometimes' must be true or false (flagged 1s and crossed 7s in the world test)"
    ]
    assert not (tmp_path / "run").exists()


@pytest.mark.mnist
def test_nothing_is_extracted_from_the_real_archives(
    tiny_ckpt: Path, mnist_dir: Path, fashion_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    for source, name in ((mnist_dir, "MNIST"), (fashion_dir, "FashionMNIST")):
        (data / name / "raw").mkdir(parents=True)
        for gz in (source / name / "raw").glob("t10k-*.gz"):
            shutil.copy(gz, data / name / "raw" / gz.name)
    before = listing(data)
    # world=0: 20,000 world pictures would take minutes to draw, and they are a cache, not the archives
    res = cli(
        "digit_lit.evaluate",
        f"ckpt_path={tiny_ckpt}",
        f"data.data_dir={data}",
        "nondigits=2",
        "world=0",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert listing(data) == before  # the .gz files were read as they are: nothing extracted beside them


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "world=-1",
            "world=-1 must be a whole number of world pictures of each test digit up to 100, or 0 to skip them",
        ),
        (
            "world=1.5",
            "world=1.5 must be a whole number of world pictures of each test digit up to 100, or 0 to skip them",
        ),
        (
            "nondigits=-3",
            "nondigits=-3 must be a whole number of drawn non-digits of each family up to 100000, or 0 to skip them",
        ),
        (
            "world=100000",
            "world=100000 must be a whole number of world pictures of each test digit up to 100, or 0 to skip them",
        ),
        ("fashion=maybe", "fashion='maybe' must be true or false (Fashion-MNIST's refusal)"),
        ("workers=0", "workers=0 must be a positive integer (processes that draw the world test)"),
    ],
)
def test_evaluates_settings_are_checked_before_any_work(override: str, message: str) -> None:
    """Each of these crashed deep in the run (a negative tensor size, a division by zero, repeat() of a float) or,
    for fashion=maybe, was read as true."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("eval", overrides=["ckpt_path=m.ckpt", override])
    with pytest.raises(ConfigError) as err:
        check(cfg)
    assert str(err.value) == message


def test_evaluate_refuses_a_setting_it_would_ignore(tiny_ckpt: Path, tmp_path: Path) -> None:
    res = cli("digit_lit.evaluate", f"ckpt_path={tiny_ckpt}", "+worlds=3", f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert error_lines(res) == [
        "error: evaluate has no setting worlds: conf/eval.yaml lists its settings (--cfg job prints them)"
    ]
    assert not (tmp_path / "run").exists()
