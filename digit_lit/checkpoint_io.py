"""How training checkpoints reach the disk and come back: Lightning's CheckpointIO, written atomically, read safely.

Lightning's TorchCheckpointIO writes through an fsspec transaction whose temporary file lives in the system's temp dir;
where the run dir is on another filesystem, the final move is a copy (EXDEV), and a kill mid-copy leaves a truncated
`last.ckpt`. Here the bytes go through `files.atomic_write` (a temporary file in the same folder, fsync, rename), and a
checkpoint that cannot be read back is refused in one line (CheckpointError) instead of a traceback.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from digit_lit.errors import CheckpointError
from digit_lit.files import atomic_write

PathLike = str | os.PathLike[str]

# what Lightning reads from a checkpoint to resume or test with it
REQUIRED = ("state_dict", "pytorch-lightning_version", "loops", "optimizer_states")


def _refuse(path: PathLike, reason: str) -> CheckpointError:
    return CheckpointError(
        f"{path} cannot be resumed or tested from ({reason}); give another .ckpt written by digit_lit.train "
        "(e.g. an epoch_*.ckpt beside it) or start a new run"
    )


class AtomicCheckpointIO(TorchCheckpointIO):
    """TorchCheckpointIO with an atomic save in the checkpoint's own folder and one-line refusals on load."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: PathLike, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write(path, buffer.getbuffer())

    def load_checkpoint(
        self,
        path: PathLike,
        map_location: Callable | None = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        try:
            checkpoint = super().load_checkpoint(path, map_location=map_location, weights_only=weights_only)
        except FileNotFoundError:
            raise _refuse(path, "no such file") from None
        except Exception as exc:  # truncated, not a zip, code inside (weights_only)...: all one refusal
            if os.path.isfile(path) and os.path.getsize(path) == 0:
                raise _refuse(path, "unreadable: it is empty, 0 bytes") from exc
            reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise _refuse(path, f"unreadable: {reason}") from exc
        if not isinstance(checkpoint, Mapping):
            raise _refuse(path, "not a checkpoint")
        missing = [key for key in REQUIRED if key not in checkpoint]
        if missing:
            raise _refuse(path, f"it has no {', '.join(missing)}")
        return dict(checkpoint)
