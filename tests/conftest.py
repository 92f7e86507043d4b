"""Shared fixtures: a tiny MNIST written in IDX format by the test, the real MNIST when present, Hydra configs."""

from __future__ import annotations

import gzip
import os
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format of LeCun's files: magic (0, 0, dtype 0x08 = ubyte, ndim), big-endian dims, raw bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def make_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable fake digits: class k lights a bar at row 2 + 2k, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 40, (n, 28, 28))
    for i, k in enumerate(labels):
        images[i, 2 + 2 * k : 4 + 2 * k, 4:24] = 255
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_tiny_mnist(data_dir: Path, n_train: int = 600, n_test: int = 200, name: str = "MNIST") -> Path:
    """Write a fake MNIST as uncompressed IDX files into data_dir/name/raw; returns data_dir."""
    raw = data_dir / name / "raw"
    raw.mkdir(parents=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = make_digits(n, seed)
        write_idx(raw / IDX_NAMES[split][0], images)
        write_idx(raw / IDX_NAMES[split][1], labels)
    return data_dir


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


def compose_train(overrides: list[str], output_dir: Path, data_dir: Path | None = None) -> DictConfig:
    """conf/train.yaml composed as `python -m digit_lit.train` would, writing into output_dir."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=True)
    HydraConfig().set_config(cfg)
    with open_dict(cfg):
        del cfg.hydra  # the task function never sees this node
        cfg.paths.output_dir = str(output_dir)
        if data_dir is not None:
            cfg.paths.data_dir = str(data_dir)
    return cfg


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
    cfg = compose_train(overrides, base / "run", write_tiny_mnist(base / "data"))
    return Path(train(cfg)["best_ckpt"])
