"""Where digit_lit leans on Lightning behaviour that has no public API: each quirk once, with the figure behind it.

Figures: `python benchmarks/epoch_overhead.py --epochs 4 --quirks`, which times a digit_lit MLP epoch with and without
each quirk (README, Benchmarks). Everything else about the Trainer goes through documented API (trainer.py).
"""

from __future__ import annotations

import os

import lightning as L

NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


def skip_nvml_cuda_probe() -> None:
    """Undo the PYTORCH_NVML_BASED_CUDA_CHECK=1 that importing lightning.fabric sets.

    Lightning sets it so that a CUDA check cannot initialise CUDA before fork()ed DataLoader workers; digit_lit forks
    none (batches are cut from tensors in memory). With it set, `torch.cuda.is_available()` asks NVML through ctypes on
    every call instead of a cached answer (0.09 ms against 0.001 ms here), and the optimizer step asks several times.
    """
    os.environ.pop(NVML_CHECK, None)


def is_logging_step(trainer: L.Trainer) -> bool:
    """Whether Lightning hands logged step values to the loggers at the coming optimizer step.

    A copy of Lightning's private rule (`_LoggerConnector.should_update_logs` counts the batches that stepped, which
    equals `global_step` with one optimizer), so that `training_step` calls `self.log` only on those steps: each
    call costs Lightning's result bookkeeping a fraction of a millisecond on every step, logged or not.
    """
    every = trainer.log_every_n_steps
    return every > 0 and (trainer.global_step + 1) % every == 0
