"""Callbacks the tests add to real runs, e.g. `+callbacks.probe._target_=tests.helpers.probes.RecordTrainSamples`."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch


class RecordTrainSamples(L.Callback):
    """Writes, per rank, a digest of every training image it saw in epoch 0."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        if trainer.current_epoch == 0:
            self.seen += [hashlib.md5(x.cpu().numpy().tobytes()).hexdigest() for x in batch[0]]

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.current_epoch == 0:
            out = Path(trainer.default_root_dir) / f"seen_rank{trainer.global_rank}.json"
            out.write_text(json.dumps(self.seen))


class SignalAt(L.Callback):
    """Sends its own process `signal` (a name: SIGKILL, SIGTERM, SIGINT) once training has done `step` steps.

    Runs before ModelCheckpoint's hook of the same step (Lightning calls checkpoint callbacks last), so a kill at a
    step where a checkpoint was due leaves the previous one as last.ckpt.
    """

    def __init__(self, step: int, signal: str = "SIGKILL") -> None:
        self.step, self.signal = step, signal

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == self.step:
            if self.signal == "SIGINT" and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
                # started in the background by a non-interactive shell (`cmd &`), a process inherits SIGINT ignored
                # and Python installs no KeyboardInterrupt for it; Ctrl+C at a terminal finds Python's own handler
                signal.signal(signal.SIGINT, signal.default_int_handler)
            os.kill(os.getpid(), getattr(signal, self.signal))


class WaitForFile(L.Callback):
    """Holds a run at the start of training: writes `<path>.ready`, then waits (up to 5 minutes) for `path`."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        Path(f"{self.path}.ready").touch()
        deadline = time.monotonic() + 300
        while not self.path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def _digest(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


class RecordSteps(L.Callback):
    """Appends to `<run dir>/steps.jsonl`, for every training step, digests of what decides it (the batch, the weights
    and RNG state going in, the loss coming out) and, at the end of training, of the final weights and optimizer."""

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: Any, batch_idx: int) -> None:
        self.before = {
            "batch": _digest(*batch),
            "weights": _digest(*module.parameters()),
            "rng": _digest(torch.get_rng_state(), torch.from_numpy(np.random.get_state()[1])),
            "python_rng": hashlib.sha256(repr(random.getstate()).encode()).hexdigest()[:16],
        }

    def on_train_batch_end(
        self, trainer: L.Trainer, module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._write(trainer, {"step": trainer.global_step, **self.before, "loss": float(outputs["loss"])})

    def on_train_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        optimizer = trainer.optimizers[0].state_dict()
        moments = [t for s in optimizer["state"].values() for t in s.values() if isinstance(t, torch.Tensor)]
        self._write(trainer, {"final": _digest(*module.state_dict().values()), "optimizer": _digest(*moments)})

    @staticmethod
    def _write(trainer: L.Trainer, record: dict[str, Any]) -> None:
        with (Path(trainer.default_root_dir) / "steps.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")


class FolderlessLogger(L.pytorch.loggers.Logger):
    """A logger that keeps no folder (as W&B's or MLflow's): its `log_dir` is Lightning's default, None."""

    @property
    def name(self) -> str:
        return "folderless"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass
