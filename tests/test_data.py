from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from digit_lit.constants import MNIST_MEAN, MNIST_STD
from digit_lit.data import MNISTDataModule, TensorBatches, load_split
from digit_lit.errors import DataError
from digit_lit.models import Normalize
from tests.helpers.tiny_mnist import IDX_NAMES, write_idx


def _dm(data_dir: Path, **kwargs: object) -> MNISTDataModule:
    dm = MNISTDataModule(data_dir=str(data_dir), val_size=100, batch_size=64, eval_batch_size=50, **kwargs)
    dm.prepare_data()
    dm.setup("fit")
    return dm


def test_split_sizes_shapes_and_range(tiny_mnist: Path) -> None:
    dm = _dm(tiny_mnist)
    sizes = {k: len(y) for k, (_, y) in dm.splits.items()}
    assert sizes == {"train": 500, "val": 100, "test": 200}
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (64, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    assert len(dm.train_dataloader()) == 8 and sum(len(b[1]) for b in dm.train_dataloader()) == 500
    assert [len(b[1]) for b in dm.val_dataloader()] == [50, 50]


def test_split_is_deterministic_and_disjoint(tiny_mnist: Path) -> None:
    a, b = _dm(tiny_mnist), _dm(tiny_mnist)
    assert torch.equal(a.splits["val"][0], b.splits["val"][0])
    other = _dm(tiny_mnist, split_seed=7)
    assert not torch.equal(a.splits["val"][0], other.splits["val"][0])
    train_rows = {bytes(r.numpy()) for r in a.splits["train"][0]}
    # the fake digits are noisy, so no two rows coincide: val rows cannot be train rows
    assert not any(bytes(r.numpy()) in train_rows for r in a.splits["val"][0])


def test_shuffle_follows_epoch() -> None:
    images, labels = torch.zeros(100, 28, 28, dtype=torch.uint8), torch.arange(100)
    loader = TensorBatches(images, labels, 10, shuffle=True, seed=3)
    first = torch.cat([y for _, y in loader])
    assert torch.equal(first, torch.cat([y for _, y in loader]))  # same epoch, same order (resumable)
    loader.set_epoch(1)
    second = torch.cat([y for _, y in loader])
    assert not torch.equal(first, second) and sorted(second.tolist()) == list(range(100))


def test_ranks_get_disjoint_equal_shards() -> None:
    images, labels = torch.zeros(101, 28, 28, dtype=torch.uint8), torch.arange(101)
    shards = [TensorBatches(images, labels, 8, shuffle=True, rank=r, world_size=2) for r in (0, 1)]
    seen = [torch.cat([y for _, y in s]) for s in shards]
    assert len(seen[0]) == len(seen[1]) == 50 and len(shards[0]) == len(shards[1]) == 7
    assert not set(seen[0].tolist()) & set(seen[1].tolist())
    evals = [torch.cat([y for _, y in TensorBatches(images, labels, 8, rank=r, world_size=2)]) for r in (0, 1)]
    assert sorted(torch.cat(evals).tolist()) == list(range(101))  # eval covers every sample exactly once


def test_normalisation_is_the_mnist_one() -> None:
    x = torch.tensor([0.0, 1.0])
    assert torch.allclose(Normalize()(x), (x - MNIST_MEAN) / MNIST_STD)


def test_missing_data_names_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_split(tmp_path, train=True, download=False)
    msg = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in msg and "\n" not in msg
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        assert name in msg


def test_corrupt_archive_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"not mnist"))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz is corrupt"):
        load_split(tmp_path, train=True, download=False)


def test_truncated_file_is_refused(tiny_mnist: Path) -> None:
    path = tiny_mnist / "MNIST" / "raw" / IDX_NAMES["train"][0]
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match=re.escape(f"{path} is unreadable")):
        load_split(tiny_mnist, train=True, download=False)


def test_bad_sizes_are_refused(tiny_mnist: Path) -> None:
    with pytest.raises(DataError, match="batch_size"):
        MNISTDataModule(data_dir=str(tiny_mnist), batch_size=0)
    with pytest.raises(DataError, match="val_size"):
        MNISTDataModule(str(tiny_mnist), val_size=600).setup()


@pytest.mark.mnist
def test_real_mnist_official_split(mnist_dir: Path) -> None:
    dm = MNISTDataModule(data_dir=str(mnist_dir), download=False)  # the verified .gz files, no network
    dm.prepare_data()
    dm.setup("fit")
    assert {k: len(y) for k, (_, y) in dm.splits.items()} == {"train": 55000, "val": 5000, "test": 10000}
    x = dm.splits["train"][0].float() / 255
    assert abs(float(x.mean()) - MNIST_MEAN) < 0.002 and abs(float(x.std()) - MNIST_STD) < 0.002


def test_failed_download_is_one_clear_error(tmp_path: Path) -> None:
    """Offline (simulated, so the test never touches a network) the download path ends in the same clear error."""
    import urllib.error
    import urllib.request
    from unittest import mock

    with (
        mock.patch.object(urllib.request, "urlopen", side_effect=urllib.error.URLError("offline")),
        pytest.raises(DataError, match=r"not found in .* and the download failed"),
    ):
        load_split(tmp_path, train=True, download=True)


@pytest.mark.mnist
def test_extracted_files_beside_verified_archives_are_not_trusted(mnist_dir: Path, tmp_path: Path) -> None:
    """Extracted IDX files rewritten with valid but wrong content: what is read is still the archives' content."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    truth = {}
    for name in IDX_NAMES["train"]:
        shutil.copy(mnist_dir / "MNIST" / "raw" / f"{name}.gz", raw / f"{name}.gz")
        data = gzip.decompress((raw / f"{name}.gz").read_bytes())
        dims = data[3]  # read independently of digit_lit: LeCun's header, then the bytes
        truth[name] = np.frombuffer(data, np.uint8, offset=4 + 4 * dims)
    images_name, labels_name = IDX_NAMES["train"]
    wrong_labels = (truth[labels_name] + 1) % 10  # every label valid, every label wrong
    write_idx(raw / labels_name, wrong_labels)
    write_idx(raw / images_name, np.zeros((len(wrong_labels), 28, 28), np.uint8))
    images, labels = load_split(tmp_path, train=True, download=False)
    assert np.array_equal(labels.numpy(), truth[labels_name])
    assert np.array_equal(images.numpy().reshape(-1), truth[images_name])
