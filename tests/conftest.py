"""Shared fixtures: a tiny MNIST written in IDX format by the test, the real MNIST when present, Hydra configs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from omegaconf import DictConfig

from tests.helpers.configs import compose_train
from tests.helpers.paths import ROOT
from tests.helpers.tiny_mnist import write_tiny_mnist


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> Path:
    """A data_dir whose MNIST/raw holds 600 train and 200 test images as uncompressed IDX files."""
    return write_tiny_mnist(tmp_path / "data")


SHARED = {"MNIST": "mnist", "FashionMNIST": "fashion-mnist"}


def _real_data_dir(name: str) -> Path | None:
    for root in (os.environ.get("DIGIT_LIT_DATA"), ROOT / "data", ROOT.parent / "shared" / SHARED[name]):
        if root and (Path(root) / name / "raw" / "train-images-idx3-ubyte.gz").exists():
            return Path(root)
    return None


def _real_data(name: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data_dir holding the real `name` (copied when it lies elsewhere, so torchvision extracts it in our copy).

    Skipped when absent, unless DIGIT_LIT_REQUIRE_MNIST=1 (CI), where absence fails.
    """
    found = _real_data_dir(name)
    if found is None:
        if os.environ.get("DIGIT_LIT_REQUIRE_MNIST") == "1":
            pytest.fail(f"DIGIT_LIT_REQUIRE_MNIST=1 but no {name}/raw/*.gz in $DIGIT_LIT_DATA, data/ or ../shared")
        pytest.skip(f"real {name} not present (set DIGIT_LIT_DATA or copy the .gz files to data/{name}/raw)")
    if found == ROOT / "data":
        return found
    dest = tmp_path_factory.mktemp(name)
    shutil.copytree(found / name / "raw", dest / name / "raw")
    return dest


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _real_data("MNIST", tmp_path_factory)


@pytest.fixture(scope="session")
def fashion_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _real_data("FashionMNIST", tmp_path_factory)


@pytest.fixture
def train_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose conf/train.yaml with overrides, writing into tmp_path/run."""

    def make(*overrides: str, data_dir: Path | None = None) -> DictConfig:
        return compose_train(list(overrides), tmp_path / "run", data_dir)

    return make


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A calibrated MLP checkpoint trained for a few seconds on the tiny fake-digit MNIST."""
    from digit_lit.train import train

    base = tmp_path_factory.mktemp("tiny_ckpt")
    overrides = ["model=mlp", "trainer.max_epochs=3", "data.val_size=100", "data.batch_size=50", "logger=none"]
    overrides.append("model.max_wrong_accept=0.05")  # 100 validation images cannot certify 0.1%
    cfg = compose_train(overrides, base / "run", write_tiny_mnist(base / "data"))
    return Path(train(cfg)["best_ckpt"])
