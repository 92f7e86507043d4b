"""digit_lit's training epoch against a bare PyTorch loop: same MLP (784-512-256-10), batch 256, Adam, same data.

    python benchmarks/epoch_overhead.py [--epochs 3] [--data-dir data]

Prints each epoch time and the ratio digit_lit / bare (median over epochs, the first of each discarded as warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning as L
import torch
import torch.nn.functional as F

from digit_lit.data import MNISTDataModule
from digit_lit.models import build_net
from digit_lit.module import DigitClassifier

NET = {"name": "mlp", "hidden": [512, 256], "dropout": 0.0}


class EpochTimer(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.times.append(time.perf_counter() - self.start)


def time_digit_lit(dm: MNISTDataModule, epochs: int) -> list[float]:
    torch.manual_seed(0)
    model = DigitClassifier(net=NET, optimizer=lambda params: torch.optim.Adam(params, lr=1e-3))
    timer = EpochTimer()
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=epochs,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
    trainer.fit(model, datamodule=dm)
    return timer.times


def time_bare(dm: MNISTDataModule, epochs: int) -> list[float]:
    torch.manual_seed(0)
    net = build_net(**NET)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loader = dm.train_dataloader()
    times = []
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        start = time.perf_counter()
        net.train()
        for x, y in loader:
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    dm = MNISTDataModule(data_dir=args.data_dir, batch_size=256)
    dm.prepare_data()
    dm.setup("fit")
    # interleave the two so drift in the machine's speed hits both alike
    lit, bare = [], []
    for _ in range(args.rounds):
        bare += time_bare(dm, args.epochs)[1:]
        lit += time_digit_lit(dm, args.epochs)[1:]
    b, d = statistics.median(bare), statistics.median(lit)
    print(f"threads: {torch.get_num_threads()}  train samples: {len(dm.splits['train'][1])}")
    print(f"bare loop epoch:  {b:.3f} s  ({', '.join(f'{t:.3f}' for t in bare)})")
    print(f"digit_lit epoch:  {d:.3f} s  ({', '.join(f'{t:.3f}' for t in lit)})")
    print(f"ratio digit_lit / bare: {d / b:.3f}")


if __name__ == "__main__":
    main()
