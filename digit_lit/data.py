"""MNIST held in memory as uint8 tensors; batches are cut by indexing, on the training device."""

from __future__ import annotations

import gzip
import math
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from torch import nn
from torchvision.datasets import MNIST, FashionMNIST
from torchvision.datasets.utils import check_integrity

from digit_lit.errors import DataError
from digit_lit.hands import restyle
from digit_lit.outliers import OUTLIER_LABEL, cached_outlier_views, outlier_pool
from digit_lit.world import READ, REFUSED, cached_world_views

Batch = tuple[torch.Tensor, torch.Tensor]


# Debian's dataset-fashion-mnist ships the same files gzipped anew, so their archive MD5s differ from torchvision's.
REPACKED_MD5 = {
    "train-images-idx3-ubyte.gz": "cf8536b0aa1a6ac5fa3f23001093305c",
    "train-labels-idx1-ubyte.gz": "10bea18fdb374794d4bb42e356e600c9",
    "t10k-images-idx3-ubyte.gz": "f78720b4224f21cce2f2ccf2d7a94c9a",
    "t10k-labels-idx1-ubyte.gz": "0d30e22e447f3c33dab9ed536400ac01",
}


def _verify_archives(cls: type[MNIST], raw: Path) -> None:
    """A present .gz must carry a known MD5: a damaged archive is never used."""
    for filename, md5 in cls.resources:
        gz = raw / filename
        if not gz.exists() or check_integrity(str(gz), md5):
            continue
        if cls is FashionMNIST and check_integrity(str(gz), REPACKED_MD5[filename]):
            continue
        raise DataError(
            f"{gz} is corrupt (MD5 differs from the official {md5}); delete it and copy a good one "
            f"(e.g. from ../shared/{cls.__name__.lower().replace('fashionmnist', 'fashion-mnist')}/{cls.__name__}/raw)"
        )


def _split_archives(raw: Path, train: bool) -> list[Path]:
    prefix = "train" if train else "t10k"
    return [raw / f"{prefix}-images-idx3-ubyte.gz", raw / f"{prefix}-labels-idx1-ubyte.gz"]


def archives_present(data_dir: str | Path, cls: type[MNIST] = MNIST, train: bool = False) -> bool:
    """Whether a split's files (archives, or extracted IDX files where no archive exists) are in the data dir."""
    raw = Path(data_dir).expanduser() / cls.__name__ / "raw"
    return all(gz.exists() or gz.with_suffix("").exists() for gz in _split_archives(raw, train))


def read_idx(data: bytes, source: Path) -> torch.Tensor:
    """An IDX array of unsigned bytes (LeCun's format: 0, 0, 0x08, ndim; big-endian dims; the bytes).

    Written here because torchvision's reader takes only a file path: parsing the verified archive's own bytes means
    what trains is what was verified, whatever lies extracted beside it.
    """
    nd = data[3] if len(data) >= 4 and data[:3] == b"\0\0\x08" else 0
    dims = struct.unpack(f">{nd}I", data[4 : 4 + 4 * nd]) if 1 <= nd <= 3 and len(data) >= 4 + 4 * nd else ()
    body = memoryview(data)[4 + 4 * nd :]
    if not dims or len(body) != math.prod(dims):
        raise DataError(f"{source} is unreadable (not an IDX file of unsigned bytes); delete it and copy it again")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).view(*dims)


def _read(path: Path) -> torch.Tensor:
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path} is unreadable ({exc}); delete it and copy it again") from exc
    return read_idx(data, path)


def load_split(data_dir: str | Path, train: bool, download: bool = True, cls: type[MNIST] = MNIST) -> Batch:
    """Images [N, 28, 28] uint8 and labels [N] int64 of one official split, read from its verified .gz archives.

    Extracted IDX files are read only where no archive exists at all (nothing to verify them against, e.g. a test's
    fixture). Offline, the official .gz files in <data_dir>/<Name>/raw are all it needs.
    """
    root = Path(data_dir).expanduser().resolve()
    raw = root / cls.__name__ / "raw"
    files = ", ".join(name for name, _ in cls.resources)
    _verify_archives(cls, raw)
    archives = _split_archives(raw, train)
    plain = [gz.with_suffix("") for gz in archives]
    if not all(gz.exists() for gz in archives) and not (
        all(p.exists() for p in plain) and not any(gz.exists() for gz in archives)
    ):
        if not download:
            raise DataError(
                f"{cls.__name__} not found in {raw} and download is off: put {files} there "
                f"(or set data.data_dir to a folder whose {cls.__name__}/raw holds them)"
            )
        try:  # torchvision downloads and checks the MD5 of each archive
            cls(str(root), train=train, download=True)
        except (RuntimeError, ValueError, TypeError, OSError) as exc:
            raise DataError(
                f"{cls.__name__} not found in {raw} and the download failed: put {files} there "
                f"(or set data.data_dir to a folder whose {cls.__name__}/raw holds them)"
            ) from exc
        _verify_archives(cls, raw)
    sources = archives if all(gz.exists() for gz in archives) else plain
    images, labels = _read(sources[0]), _read(sources[1]).long()
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels) or labels.ndim != 1:
        raise DataError(f"{cls.__name__} files in {raw} have the wrong shape {tuple(images.shape)}; copy {files} again")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(cls.classes)):
        raise DataError(f"{cls.__name__} labels in {raw} are out of range; copy {files} again")
    return images, labels


def split_train_val(n: int, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of (train, val) carved from the official training set with a fixed seed."""
    if not 0 < val_size < n:
        raise DataError(f"data.val_size={val_size} must be between 1 and {n - 1} (the training set has {n} images)")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:], perm[:val_size]


class TensorBatches:
    """Batches of a uint8 image tensor as float [0, 1] images, cut by indexing.

    The shuffle is seeded by the epoch: `set_epoch` sets it in a plain loop; under a Trainer, `epoch_of` reads
    `trainer.current_epoch` as each pass starts. Under DDP each rank takes its own shard of that order. `position`
    counts the batches handed out in the current pass and `resume_at` starts a pass there, so a run resumed from a
    mid-epoch checkpoint gets the rest of that epoch's batches, in the same order, rather than its first ones again.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        outliers: torch.Tensor | None = None,
        outliers_per_batch: int = 0,
        epoch_of: Callable[[], int] | None = None,
    ) -> None:
        self.images, self.labels = images, labels
        self.outliers, self.outliers_per_batch = outliers, outliers_per_batch
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.epoch_of = 0, epoch_of
        self.name = "train"
        # batches handed out in the current pass (all of them used: Lightning fetches no further ahead when the
        # loader has a length)
        self.position = 0
        self._resume: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def resume_at(self, epoch: int, position: int) -> None:
        """Start the pass of `epoch` (if it is the next one) at batch `position`: the rest of an interrupted epoch."""
        self._resume = (epoch, position)

    def indices(self) -> torch.Tensor:
        n = len(self.labels)
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + self.epoch))
            # every rank gets the same number of samples, or DDP's collectives would hang
            order = order[: n - n % self.world_size]
        else:
            order = torch.arange(n)
        return order[self.rank :: self.world_size]

    def __len__(self) -> int:
        n = len(self.labels)
        per_rank = n // self.world_size if self.shuffle else len(range(self.rank, n, self.world_size))
        return -(-per_rank // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        # a generator: this body runs at the first batch, once the trainer knows its epoch
        if self.epoch_of is not None:
            self.epoch = self.epoch_of()
        start = 0
        if self._resume is not None:
            start = self._resume[1] if self._resume[0] == self.epoch else 0
            self._resume = None
        self.position = start
        for batch in self._batches(start):
            self.position += 1
            yield batch

    def _batches(self, start: int) -> Iterator[Batch]:
        idx = self.indices().to(self.images.device)
        chunks = idx.split(self.batch_size)
        if self.outliers is None or not self.outliers_per_batch:
            for chunk in chunks[start:]:
                yield self.images[chunk].unsqueeze(1).float().div_(255), self.labels[chunk]
            return
        # outlier exposure: each batch also carries non-digits, labelled OUTLIER_LABEL
        # new outliers each epoch when shuffled; the same ones when not (overfit_batches: the same batches every epoch)
        epoch = self.epoch if self.shuffle else 0
        g = torch.Generator().manual_seed(self.seed + 7919 * epoch + self.rank)
        pick = torch.randint(
            len(self.outliers), (len(idx) // self.batch_size + 1, self.outliers_per_batch), generator=g
        )
        extra_labels = torch.full((self.outliers_per_batch,), OUTLIER_LABEL, device=self.labels.device)
        for chunk, extra in zip(chunks[start:], pick.to(idx.device)[start:], strict=False):
            x = torch.cat([self.images[chunk], self.outliers[extra]])
            yield x.unsqueeze(1).float().div_(255), torch.cat([self.labels[chunk], extra_labels])


@dataclass(frozen=True)
class World:
    """The world the guard trains and calibrates in (digit_lit/world.py): MNIST digits drawn as real pictures and
    preprocessed as `predict` does, and non-digits drawn the same way (digit_lit/outliers.py). Rendered once, cached
    under <data_dir>/world/. Each stream has its own seed (see WORLD_SEEDS), so test pictures are never training ones.
    """

    train_renders: int = 1  # world pictures of each training digit, added to the training set
    val_renders: int = 3  # ... of each validation digit: the "world" validation group the threshold must hold on
    outliers: int = 20000  # non-digits drawn for outlier exposure (from training digits)
    val_outliers: int = 3000  # ... for the "outliers" validation group (any accept there is a wrong accept)
    workers: int = 2  # rendering processes
    other_hands: bool = True  # some 1s flagged (some ambiguously), 7s crossed before they are drawn (hands.py)

    def __post_init__(self) -> None:
        for name in ("train_renders", "val_renders", "outliers", "val_outliers", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "workers" else 0):
                raise DataError(f"data.world.{name}={value!r} must be a non-negative integer (workers: positive)")
        if not isinstance(self.other_hands, bool):
            raise DataError(f"data.world.other_hands={self.other_hands!r} must be true or false")


# one seed per stream of world pictures: training, validation and test pictures never share a drawing
WORLD_SEEDS = {"train": 101, "val": 102, "test": 103, "outliers": 104, "val_outliers": 105}


def world_dir(data_dir: str | Path) -> Path:
    return Path(data_dir).expanduser() / "world"


def world_views(
    data_dir: str | Path,
    images: torch.Tensor,
    labels: torch.Tensor,
    renders: int,
    stream: str,
    workers: int,
    other_hands: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`renders` world pictures of each image, as preprocessing views them: (views, labels, read) where `read` marks
    the views that show their digit; the others lost it to preprocessing. Pictures preprocessing refused are left out.
    With `other_hands`, each picture's digit may first be restyled as other hands write it (`hands.restyle`: the
    cache key holds the restyled digits, so either world is cached apart); a 1 it drew ambiguously (a flag like a 7's
    bar) is not `read` either: no writer's intent can be read from it.
    """
    if not renders:
        return images[:0], labels[:0], torch.zeros(0, dtype=torch.bool)
    images, labels = images.repeat(renders, 1, 1), labels.repeat(renders)
    ambiguous = torch.zeros(len(images), dtype=torch.bool)
    if other_hands:
        images, ambiguous = restyle(images, labels, WORLD_SEEDS[stream])
    views, status = cached_world_views(images, WORLD_SEEDS[stream], world_dir(data_dir), workers)
    kept = status != REFUSED
    return views[kept], labels[kept], ((status == READ) & ~ambiguous)[kept]


def world_test(
    data_dir: str | Path,
    images: torch.Tensor,
    labels: torch.Tensor,
    renders: int,
    workers: int = 2,
    other_hands: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The official test digits as world pictures, for evaluation only: the views preprocessing made of them (also
    those where it lost the digit: the guard must refuse such a view), their labels, and how many pictures were drawn
    (those preprocessing refused are not in the views but count as refused)."""
    views, view_labels, _ = world_views(data_dir, images, labels, renders, "test", workers, other_hands)
    return views, view_labels, renders * len(images)


class MNISTDataModule(L.LightningDataModule):
    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 256,
        eval_batch_size: int = 2000,
        val_size: int = 5000,
        split_seed: int = 12345,
        shuffle_seed: int = 0,
        download: bool = True,
        augment: nn.Module | None = None,
        outliers: int = 0,
        outliers_per_batch: int = 32,
        world: World | dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        sizes = {"batch_size": batch_size, "eval_batch_size": eval_batch_size, "val_size": val_size}
        for name, value in {**sizes, "outliers_per_batch": outliers_per_batch}.items():
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise DataError(f"data.{name}={value!r} must be a positive integer")
        if isinstance(outliers, bool) or not isinstance(outliers, int) or outliers < 0:
            raise DataError(f"data.outliers={outliers!r} must be 0 (none) or a positive number of non-digit pictures")
        self.data_dir = os.fspath(data_dir)
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.val_size, self.split_seed, self.shuffle_seed = val_size, split_seed, shuffle_seed
        self.download = download
        self.augment = augment
        self.n_outliers, self.outliers_per_batch = outliers, outliers_per_batch
        self.outliers: torch.Tensor | None = None
        self.world = World(**world) if isinstance(world, dict) else world
        self.splits: dict[str, Batch] = {}
        self._train_loader: TensorBatches | None = None
        self._resume: dict[str, int] = {}

    def state_dict(self) -> dict[str, int]:
        """Stored in every checkpoint (a LightningDataModule hook): where the training pass stood."""
        loader = self._train_loader
        return {"epoch": loader.epoch, "position": loader.position} if loader is not None else {}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        # Lightning calls this while it restores a checkpoint: before it builds the train loader, or after (when the
        # run's length was asked for first), but always before the loader's first batch. (A loader's own state_dict
        # would be restored only once `estimated_stepping_batches` had started it: never.)
        self._resume = dict(state_dict)
        if self._train_loader is not None:
            self._resume_loader(self._train_loader)

    def _resume_loader(self, loader: TensorBatches) -> None:
        if self._resume:
            loader.resume_at(self._resume["epoch"], self._resume["position"])
            self._resume = {}

    def prepare_data(self) -> None:
        for train in (True, False):
            load_split(self.data_dir, train, self.download)
        if self.world is not None:  # render (and cache) the world once, on one process
            self._world_splits(*self._official())

    def _official(self) -> tuple[Batch, Batch]:
        images, labels = load_split(self.data_dir, train=True, download=False)
        train_idx, val_idx = split_train_val(len(labels), self.val_size, self.split_seed)
        return (images[train_idx], labels[train_idx]), (images[val_idx], labels[val_idx])

    def _world_splits(self, train: Batch, val: Batch) -> dict[str, Batch]:
        """World views of the training and validation digits, and drawn non-digits (label OUTLIER_LABEL)."""
        w, d = self.world, self.data_dir
        assert w is not None
        views, labels, read = world_views(d, *train, w.train_renders, "train", w.workers, w.other_hands)
        # a view that lost its digit (or shows an ambiguous 1) is taught as a non-digit: the guard must refuse it, as
        # a user's picture that preprocessing spoils the same way; validation keeps them with their labels, as the
        # world test does
        out = {"world_train": (views[read], labels[read]), "lost_train": (views[~read], labels[~read])}
        views, labels, _ = world_views(d, *val, w.val_renders, "val", w.workers, w.other_hands)
        out["world_val"] = (views, labels)
        for name, n, stream in (("outliers", w.outliers, "outliers"), ("val_outliers", w.val_outliers, "val_outliers")):
            # the digit-built families (fragments, pairs...) use training digits only, for either stream
            views = cached_outlier_views(n, WORLD_SEEDS[stream], train[0], world_dir(d), w.workers) if n else None
            if views is not None:
                out[name] = (views, torch.full((len(views),), OUTLIER_LABEL, dtype=torch.long))
        return out

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
        train, val = self._official()
        self.splits = {"train": train, "val": val, "test": load_split(self.data_dir, train=False, download=False)}
        if self.world is not None:
            world = self._world_splits(train, val)
            # the net learns from MNIST and from what preprocessing makes of world pictures, side by side
            self.splits["train"] = tuple(torch.cat([a, b]) for a, b in zip(train, world["world_train"], strict=True))
            self.splits["world"] = world["world_val"]
            if "val_outliers" in world:
                self.splits["outliers"] = world["val_outliers"]
            # the outlier-exposure pool: drawn non-digits, and training views whose digit preprocessing lost
            self.outliers = torch.cat([world["outliers"][0], world["lost_train"][0]]) if "outliers" in world else None
        self.splits = {k: (x.to(device), y.to(device)) for k, (x, y) in self.splits.items()}
        if self.n_outliers:
            self.outliers = outlier_pool(self.n_outliers, seed=self.split_seed)
        if self.outliers is not None:
            self.outliers = self.outliers.to(device)

    def _batches(self, split: str, train: bool = False) -> TensorBatches:
        """The batches of one split; a loader's `name` names its validation group (see module.calibrate)."""
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer is not None else (0, 1)
        # overfit_batches means the same batches every epoch; Lightning can unshuffle only a torch DataLoader
        shuffle = train and not (self.trainer is not None and self.trainer.overfit_batches)
        images, labels = self.splits[split]
        # batch_size is global: N DDP ranks take batch_size / N each, so a step means the same as on one device
        bs = max(1, (self.batch_size if train else self.eval_batch_size) // world)
        extra = (
            dict(outliers=self.outliers, outliers_per_batch=max(1, self.outliers_per_batch // world)) if train else {}
        )
        trainer = self.trainer
        # the shuffle follows the trainer's epoch (public API), resumes included
        epoch_of = (lambda: trainer.current_epoch) if shuffle and trainer is not None else None
        loader = TensorBatches(images, labels, bs, shuffle, self.shuffle_seed, rank, world, epoch_of=epoch_of, **extra)
        loader.name = "mnist" if split in ("val", "test") else split
        return loader

    def train_dataloader(self) -> TensorBatches:
        loader = self._batches("train", train=True)
        self._resume_loader(loader)
        self._train_loader = loader
        return loader

    def val_dataloader(self) -> TensorBatches | list[TensorBatches]:
        groups = [self._batches(split) for split in ("val", "world", "outliers") if split in self.splits]
        return groups if len(groups) > 1 else groups[0]

    def test_dataloader(self) -> TensorBatches:
        return self._batches("test")

    def on_after_batch_transfer(self, batch: Batch, dataloader_idx: int) -> Batch:
        if self.augment is not None and self.trainer is not None and self.trainer.training:
            x, y = batch
            return self.augment(x), y
        return batch
