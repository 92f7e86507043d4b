"""digit_lit's training epoch against a bare PyTorch loop: same MLP (784-512-256-10), batch 256, Adam, same data.

    python benchmarks/epoch_overhead.py [--epochs 11] [--data-dir data]

Each Lightning epoch is followed by one bare-loop epoch, so every pair sees the machine in the same state (epoch
times drift by up to 30% here). Prints both times per pair and the median of the per-pair ratios; the first pair is
warm-up and left out. The same is measured for an empty LightningModule (a training_step that returns the loss,
nothing else): Lightning's own floor, against which digit_lit's module can be judged.

    python benchmarks/epoch_overhead.py --quirks [--epochs 9]

times digit_lit's epoch with each quirk of digit_lit/lightning_quirks.py undone on every other epoch (the NVML-based
CUDA check left on; `self.log` called on every step), so that each figure compares neighbouring epochs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import lightning as L
import torch
import torch.nn.functional as F

import digit_lit.module
from digit_lit.data import MNISTDataModule, TensorBatches
from digit_lit.lightning_quirks import NVML_CHECK, is_logging_step, skip_nvml_cuda_probe
from digit_lit.models import build_net
from digit_lit.module import DigitClassifier

NET = {"name": "mlp", "hidden": [512, 256], "dropout": 0.0}
# training only: no validation, checkpoints, logger or progress bar in the timed epochs
TRAINER = dict(
    accelerator="cpu",
    devices=1,
    limit_val_batches=0,
    num_sanity_val_steps=0,
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
)


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


def nvml_check(shipped: bool) -> None:
    if shipped:
        skip_nvml_cuda_probe()
    else:
        os.environ[NVML_CHECK] = "1"


def log_cadence(shipped: bool) -> None:
    digit_lit.module.is_logging_step = is_logging_step if shipped else lambda trainer: True  # type: ignore


QUIRKS: dict[str, Callable[[bool], None]] = {"NVML-based CUDA check": nvml_check, "self.log cadence": log_cadence}


class AlternateQuirk(L.Callback):
    """Odd epochs with the quirk undone, even epochs as shipped; times every epoch after the first (warm-up)."""

    def __init__(self, toggle: Callable[[bool], None]) -> None:
        self.toggle = toggle
        self.times: dict[bool, list[float]] = {True: [], False: []}

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.toggle(trainer.current_epoch % 2 == 0)
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch > 0:
            self.times[trainer.current_epoch % 2 == 0].append(time.perf_counter() - self.start)
        self.toggle(True)


def quirk_figures(dm: MNISTDataModule, epochs: int) -> None:
    for name, toggle in QUIRKS.items():
        torch.manual_seed(0)
        model = DigitClassifier(net=NET, optimizer=lambda params: torch.optim.Adam(params, lr=1e-3))
        timer = AlternateQuirk(toggle)
        L.Trainer(**TRAINER, max_epochs=epochs, callbacks=[timer]).fit(model, datamodule=dm)
        shipped, undone = (statistics.median(timer.times[k]) for k in (True, False))
        print(f"{name}: median epoch {shipped:.3f} s as shipped, {undone:.3f} s without the quirk ", end="")
        print(f"({len(timer.times[True])} + {len(timer.times[False])} epochs): {100 * (undone / shipped - 1):+.1f}%")


def paired_epochs(module: L.LightningModule, dm: MNISTDataModule, epochs: int) -> list[tuple[float, float]]:
    timer = PairedTimer(dm)
    trainer = L.Trainer(**TRAINER, max_epochs=epochs, callbacks=[timer])
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
    parser.add_argument("--quirks", action="store_true", help="time each quirk of digit_lit/lightning_quirks.py")
    args = parser.parse_args()
    dm = MNISTDataModule(data_dir=args.data_dir, batch_size=256)
    print(f"threads: {torch.get_num_threads()}")
    skip_nvml_cuda_probe()  # as digit_lit's make_trainer does
    if args.quirks:
        quirk_figures(dm, args.epochs)
        return
    torch.manual_seed(0)
    model = DigitClassifier(net=NET, optimizer=lambda params: torch.optim.Adam(params, lr=1e-3))
    report("digit_lit", paired_epochs(model, dm, args.epochs))
    torch.manual_seed(0)
    report("empty LightningModule", paired_epochs(EmptyModule(), dm, args.epochs))


if __name__ == "__main__":
    main()
