"""digit_lit's in-memory batches against torchvision's MNIST + ToTensor + DataLoader, same model and batch.

    python benchmarks/loaders.py [--data-dir data] [--batch-size 256] [--workers 0]

Prints samples/s of each loader alone (iteration only), then one training epoch of the MLP fed by each.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.datasets import MNIST

from digit_lit.data import MNISTDataModule
from digit_lit.models import build_net


def iterate(loader: Iterable, limit: int | None = None) -> tuple[int, float]:
    start, n = time.perf_counter(), 0
    for i, (x, _) in enumerate(loader):
        n += len(x)
        if limit is not None and i + 1 >= limit:
            break
    return n, time.perf_counter() - start


def train_epoch(loader: Iterable) -> float:
    torch.manual_seed(0)
    net = build_net("mlp", hidden=[512, 256], dropout=0.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    start = time.perf_counter()
    for x, y in loader:
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()

    dm = MNISTDataModule(data_dir=args.data_dir, batch_size=args.batch_size)
    dm.prepare_data()
    dm.setup("fit")
    ours = dm.train_dataloader()
    # the usual path: per-sample PIL image -> ToTensor -> Normalize-free [0, 1] tensor, collated by a DataLoader
    ds = MNIST(args.data_dir, train=True, transform=transforms.ToTensor())
    usual = DataLoader(ds, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)

    n, t = iterate(ours)
    print(f"digit_lit TensorBatches : {n / t:>12,.0f} samples/s  ({n} samples in {t:.3f} s)")
    n, t = iterate(usual)
    print(f"torchvision + DataLoader: {n / t:>12,.0f} samples/s  ({n} samples in {t:.3f} s, workers={args.workers})")
    t_ours, t_usual = train_epoch(ours), train_epoch(usual)
    print(f"MLP epoch, digit_lit loader : {t_ours:.2f} s ({len(dm.splits['train'][1])} samples)")
    print(f"MLP epoch, usual DataLoader : {t_usual:.2f} s ({len(ds)} samples)")
    print(f"speed-up per sample: {(t_usual / len(ds)) / (t_ours / len(dm.splits['train'][1])):.1f}x")


if __name__ == "__main__":
    main()
