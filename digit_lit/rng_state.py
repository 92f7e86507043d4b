"""The global random state of a run, saved in every checkpoint and restored on resume, so a resumed run is the same run.

Lightning's checkpoint holds the weights, optimizer, schedulers, loop counters and (through `TensorBatches`) the batch
order, but not the global generators that dropout, augmentation and outlier exposure draw from. This callback adds
them: torch (CPU, and CUDA when in use), numpy and Python's `random`, as tensors and plain lists so that checkpoints
still load with `weights_only=True`. It holds one process's state: a resumed DDP run is not bit-identical.
"""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch


class RandomState(L.Callback):
    """Lightning stores `state_dict()` with each checkpoint and calls `load_state_dict` with it when resuming."""

    def state_dict(self) -> dict[str, Any]:
        _, keys, pos, has_gauss, gauss = np.random.get_state()
        version, py_state, py_gauss = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            # only when CUDA is already in use: asking otherwise would start it
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
            "numpy": [torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
            "python": [version, list(py_state), py_gauss],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["torch"])
        if state_dict["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
        keys, pos, has_gauss, gauss = state_dict["numpy"]
        np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
        version, py_state, py_gauss = state_dict["python"]
        random.setstate((version, tuple(py_state), py_gauss))
