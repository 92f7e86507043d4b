"""A tiny fake MNIST that tests write in LeCun's IDX format: learnable, small, made in milliseconds."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

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


def make_noise(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unlearnable fake digits: pure noise with random labels. Only memorising can fit them."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_tiny_mnist(
    data_dir: Path, n_train: int = 600, n_test: int = 200, name: str = "MNIST", noise: bool = False
) -> Path:
    """Write a fake MNIST (make_digits, or make_noise) as uncompressed IDX files into data_dir/name/raw."""
    raw = data_dir / name / "raw"
    raw.mkdir(parents=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = (make_noise if noise else make_digits)(n, seed)
        write_idx(raw / IDX_NAMES[split][0], images)
        write_idx(raw / IDX_NAMES[split][1], labels)
    return data_dir
