"""A callback the tests add to real runs (`+callbacks.probe._target_=tests.helpers.probes.RecordTrainSamples`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import lightning as L


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
