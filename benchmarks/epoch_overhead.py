"""digit_lit's training epoch against a bare PyTorch loop: same MLP (784-512-256-10), batch 256, Adam, same data.

    python benchmarks/epoch_overhead.py [--epochs 11] [--data-dir data]

Each Lightning epoch is followed by one bare-loop epoch, so every pair sees the machine in the same state (epoch
times drift by up to 30% here). Prints both times per pair and the median of the per-pair ratios; the first pair is
warm-up and left out. The same is measured for an empty LightningModule (a training_step that returns the loss,
nothing else): Lightning's own floor, against which digit_lit's module can be judged.
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning as L
import torch
import torch.nn.functional as F

from digit_lit.data import MNISTDataModule, TensorBatches
from digit_lit.models import build_net
from digit_lit.module import DigitClassifier

NET = {"name": "mlp", "hidden": [512, 256], "dropout": 0.0}


class EmptyModule(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = build_net(**NET)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(self.net(x), y)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=1e-3)


class BareLoop:
    """The same net and optimizer, trained by hand over the same in-memory batches."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.net = build_net(**NET)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)

    def epoch(self, loader: TensorBatches, epoch: int) -> float:
        loader.set_epoch(epoch)
        start = time.perf_counter()
        self.net.train()
        for x, y in loader:
            loss = F.cross_entropy(self.net(x), y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        return time.perf_counter() - start


class PairedTimer(L.Callback):
    """Times each Lightning epoch, then runs and times one bare-loop epoch before the next."""

    def __init__(self, dm: MNISTDataModule) -> None:
        self.dm, self.bare = dm, BareLoop()
        self.pairs: list[tuple[float, float]] = []

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        lit = time.perf_counter() - self.start
        self.pairs.append((lit, self.bare.epoch(self.dm.train_dataloader(), trainer.current_epoch)))


def paired_epochs(module: L.LightningModule, dm: MNISTDataModule, epochs: int) -> list[tuple[float, float]]:
    timer = PairedTimer(dm)
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
    trainer.fit(module, datamodule=dm)
    return timer.pairs[1:]


def report(name: str, pairs: list[tuple[float, float]]) -> None:
    for lit, bare in pairs:
        print(f"{name} {lit:.3f} s   bare {bare:.3f} s   ratio {lit / bare:.3f}")
    lit_med, bare_med = (statistics.median(t) for t in zip(*pairs, strict=True))
    ratio = statistics.median(lit / bare for lit, bare in pairs)
    print(f"median epoch: {name} {lit_med:.3f} s, bare loop {bare_med:.3f} s")
    print(f"ratio {name} / bare (median of {len(pairs)} pairs): {ratio:.3f}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=11)
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    dm = MNISTDataModule(data_dir=args.data_dir, batch_size=256)
    print(f"threads: {torch.get_num_threads()}")
    torch.manual_seed(0)
    model = DigitClassifier(net=NET, optimizer=lambda params: torch.optim.Adam(params, lr=1e-3))
    report("digit_lit", paired_epochs(model, dm, args.epochs))
    torch.manual_seed(0)
    report("empty LightningModule", paired_epochs(EmptyModule(), dm, args.epochs))


if __name__ == "__main__":
    main()
