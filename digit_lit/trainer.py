"""The one place that builds the Lightning Trainer (with its callbacks and loggers) from the Hydra config, and that
turns the ways Lightning ends a run early into digit_lit errors."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import MisconfigurationException, SIGTERMException
from omegaconf import DictConfig

from digit_lit.checkpoint_io import AtomicCheckpointIO
from digit_lit.config import instantiate
from digit_lit.errors import CheckpointError, ConfigError, Stopped
from digit_lit.files import OutputError
from digit_lit.lightning_quirks import skip_nvml_cuda_probe
from digit_lit.rng_state import RandomState
from digit_lit.run_settings import RunSettings


def resume_path(cfg: DictConfig) -> str | None:
    """The checkpoint to resume from, read once now so that a damaged one is refused before any work.

    `ckpt_path=last` resumes from this run dir's checkpoints/last.ckpt (e.g. `hydra.run.dir=` of a killed run).
    """
    ckpt = cfg.get("ckpt_path")
    if ckpt == "last":
        last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
        if not last.is_file():
            raise ConfigError(f"ckpt_path=last but {last} does not exist; point hydra.run.dir at the run to resume")
        ckpt = str(last)
    if ckpt:
        AtomicCheckpointIO().load_checkpoint(ckpt, weights_only=True)
    return ckpt


def make_trainer(cfg: DictConfig) -> L.Trainer:
    skip_nvml_cuda_probe()
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]
    loggers = []
    for name, node in (cfg.get("logger") or {}).items():
        if node is None:
            continue
        logger = instantiate(node)
        loggers.append(logger)
        if getattr(logger, "log_dir", None) is None:  # a logger that keeps no folder (W&B, MLflow, one's own)
            continue
        # checked now, not at the first figure it writes (a save_dir that is a file was a traceback inside fit); not
        # made: fast_dev_run writes no logs
        folder = Path(logger.log_dir).absolute()
        there = next(p for p in (folder, *folder.parents) if p.exists())
        if not there.is_dir() or not os.access(there, os.W_OK):
            why = "Not a directory" if not there.is_dir() else "Permission denied"
            raise OutputError(
                f"cannot write the {name} logger's folder {logger.log_dir} ({why}: {there}); choose a writable "
                f"logger.{name}.save_dir"
            )
    # every run: the RNG states in each checkpoint (an exact resume), the settings it learns by (a resume with others
    # is refused), and checkpoints written atomically
    callbacks += [RandomState(), RunSettings(cfg)]
    try:
        return instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[AtomicCheckpointIO()])
    except ConfigError:
        raise
    except Exception as exc:  # Lightning's MisconfigurationException and friends
        raise ConfigError(f"bad trainer settings: {str(exc).splitlines()[0]}") from exc


@contextlib.contextmanager
def stopped_cleanly(trainer: L.Trainer) -> Iterator[None]:
    """Around `trainer.fit`/`test`: a stop by signal or a setting Lightning refuses becomes one line (errors.fail).

    SIGTERM: Lightning's handler lets the current batch finish, runs the callbacks' `on_exception` and raises
    SIGTERMException, a bare SystemExit (status 0: a scheduler would see success). Ctrl+C: Lightning shuts down the
    same way, then calls sys.exit(1) while handling the KeyboardInterrupt. Both become `Stopped` (status 143 / 130).
    """
    try:
        yield
    except SIGTERMException as exc:
        raise Stopped(stop_message(trainer, "SIGTERM"), signal.SIGTERM) from exc
    except SystemExit as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise Stopped(stop_message(trainer, "SIGINT (Ctrl+C)"), signal.SIGINT) from exc
        raise
    except MisconfigurationException as exc:
        raise ConfigError(f"bad trainer settings: {str(exc).strip().splitlines()[0]}") from exc
    except RuntimeError as exc:  # EarlyStopping's monitor names no metric the module logs
        if "conditioned on metric" not in str(exc):
            raise
        raise ConfigError(f"callbacks.early_stopping.monitor: {str(exc).strip().splitlines()[0]}") from exc


def best_checkpoint(trainer: L.Trainer) -> str:
    """The run's best checkpoint, to test ("" when the run keeps none). A resumed run carries the path its checkpoint
    recorded: in a run dir moved since (`hydra.run.dir=` its new place), that names the old place, and the test read
    another run's file, or none. The best is then its namesake in this run's checkpoints/."""
    saver = trainer.checkpoint_callback
    best = saver.best_model_path if isinstance(saver, ModelCheckpoint) else ""
    if not best or not saver.dirpath or Path(best).resolve().parent == Path(saver.dirpath).resolve():
        return best
    here = Path(saver.dirpath) / Path(best).name
    if not here.is_file():
        raise CheckpointError(
            f"the best checkpoint this run recorded, {best}, is not in its {saver.dirpath}; copy it there, or test "
            "another with digit_lit.evaluate"
        )
    return str(here)


def stop_message(trainer: L.Trainer, what: str) -> str:
    where = f"epoch {trainer.current_epoch}, step {trainer.global_step}"
    saver = trainer.checkpoint_callback
    last = Path(saver.dirpath) / "last.ckpt" if isinstance(saver, ModelCheckpoint) and saver.dirpath else None
    if last is not None and last.is_file():
        return (
            f"stopped by {what} at {where}; its checkpoints are intact: resume with "
            f"hydra.run.dir={last.parent.parent} ckpt_path=last"
        )
    return f"stopped by {what} at {where}, before any checkpoint was written"
