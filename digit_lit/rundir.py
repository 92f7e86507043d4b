"""The run dir: one live run per folder, another run's outputs never mixed or overwritten, no empty folder left behind.

`ClaimRunDir` is a Hydra callback (conf/hydra/default.yaml): Hydra creates the run dir and writes `.hydra/` and the job
log into it before the task function starts, and only `on_run_start` comes early enough to keep another run whole.
- An OS lock (fcntl.flock on RUN/.lock) keeps two live runs apart; the kernel releases it when the process ends,
  kill -9 included, so a dead run never blocks its resume.
- A folder that holds another run (metrics.json, config.yaml, checkpoints) is refused unless resuming (`ckpt_path=last`)
  or asked to overwrite (`overwrite=true`, which removes that run's outputs first).
- A run that fails before it produced anything (a bad setting, say) leaves no folder: at exit, a run dir this process
  created that holds only Hydra's record, the job logs, the lock and empty folders is removed.
- A sweep (`-m`): `on_multirun_start` locks hydra.sweep.dir and refuses one that holds an earlier sweep (unless
  resuming or overwriting), and `on_job_start` claims each job's dir as above.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from digit_lit.errors import ConfigError, DigitLitError, fail
from digit_lit.files import OutputError

LOCK = ".lock"
RUN_MARKERS = ("metrics.json", "config.yaml", "checkpoints")  # what makes a folder hold a run
# what overwrite=true removes: every output a train or evaluate run writes (figures, profiles, the job log too)
RUN_OUTPUTS = (
    *RUN_MARKERS,
    "tensorboard",
    "csv",
    "misclassified.png",
    "reliability.png",
    "confusion_matrix.png",
    "fit-profile.txt",
    "test-profile.txt",
    "train.log",
    "evaluate.log",
)
# a digit_lit run's config (config.yaml, or Hydra's record of it), train's and evaluate's alike, has these keys
RUN_KEYS = {"task_name", "paths", "overwrite"}
RANK_KEYS = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")  # lightning.fabric.utilities.rank_zero's
_held: list[int] = []  # the lock's descriptors: open, and so locked, until the process ends


def _rank() -> int:
    """This process's rank as Lightning's `rank_zero_only.rank` reads it at import, from the environment its launchers
    (and torchrun, SLURM) give their workers: read here without importing Lightning (~5 s), so that a run refused
    for a bad setting is refused in about a second (tests/test_reliability.py checks the two agree)."""
    for key in RANK_KEYS:
        if key in os.environ:
            return int(os.environ[key])
    return 0


class ClaimRunDir(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._claim(config, Path(str(config.hydra.run.dir)).absolute())

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # a sweep (-m) writes each job's .hydra/ into sweep.dir/<job> before on_job_start: an earlier sweep's jobs
        # must be refused here, before the first job's record is written over theirs
        if _rank() != 0:
            return
        ckpt, sweep = config.get("ckpt_path"), Path(str(config.hydra.sweep.dir)).absolute()
        with _failing_in_one_line(sweep):
            overwrite = _overwrite(config)
            # an Optuna sweep draws its trials anew: a trial's dir may hold another trial's run, so none is resumed
            drawn = "optuna" in str(OmegaConf.select(config, "hydra.sweeper._target_", default="")).lower()
            if drawn and ckpt == "last":
                raise ConfigError(
                    "ckpt_path=last cannot resume an Optuna sweep (its trials are drawn anew); start it again with "
                    "overwrite=true, or choose another hydra.sweep.dir"
                )
            claim(sweep, resume=True, overwrite=False)  # the lock: one live sweep per sweep dir
            earlier = sorted(e.name for e in sweep.iterdir() if not _scaffolding(e) or e.name == "multirun.yaml")
            if earlier and ckpt != "last" and not overwrite:
                resume = "" if drawn else "resume its jobs with ckpt_path=last, "
                raise ConfigError(
                    f"{sweep} already holds a sweep ({', '.join(earlier[:4])}); {resume}replace them with "
                    "overwrite=true, or choose another hydra.sweep.dir"
                )
            if earlier and overwrite:  # the earlier sweep's jobs go, those past the new sweep's count too
                for entry in sweep.iterdir():
                    if entry.is_dir() and not entry.is_symlink() and entry.name != ".hydra" and _digit_lit_run(entry):
                        _remove(entry)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode == RunMode.MULTIRUN and _rank() == 0:  # a single run's dir was claimed in on_run_start
            run = Path(str(config.hydra.runtime.output_dir))
            self._claim(config, run)
            atexit.register(tidy, [run])  # Hydra made it: a job that fails before it produces anything leaves none

    def _claim(self, config: DictConfig, run: Path) -> None:
        if _rank() != 0:  # Lightning's DDP workers re-run the command in the dir their rank 0 claimed
            return
        ckpt = config.get("ckpt_path")
        with _failing_in_one_line(run):
            overwrite = _overwrite(config)
            paths = config.get("paths")
            if paths is not None and not OmegaConf.is_interpolation(paths, "output_dir"):
                # the outputs go to paths.output_dir: set elsewhere, they went where no run was claimed (unlocked,
                # unchecked, over another run's files)
                if Path(str(paths.output_dir)).absolute() != run:
                    raise ConfigError(
                        f"paths.output_dir={paths.output_dir} is not the run dir {run}: set hydra.run.dir to choose "
                        "where the run goes"
                    )
            reads = Path(str(ckpt)).absolute() if ckpt not in (None, "last") else None
            claim(run, ckpt == "last", overwrite, reads)


def _overwrite(config: DictConfig) -> bool:
    overwrite = config.get("overwrite", False)
    if not isinstance(overwrite, bool):
        raise ConfigError(f"overwrite={overwrite!r} must be true or false")
    return overwrite


@contextlib.contextmanager
def _failing_in_one_line(run: Path) -> Iterator[None]:
    try:
        yield
    except DigitLitError as err:
        fail(err)
    except OSError as exc:
        # Hydra only warns about a callback's error and goes on: the run would start in a dir it never claimed
        # (a full disk, a file overwrite=true cannot remove), over another run's outputs
        fail(OutputError(f"cannot claim the run dir {run} ({exc.strerror or exc}); choose another hydra.run.dir"))


def claim(run: Path, resume: bool, overwrite: bool, reads: Path | None = None) -> None:
    """Create (or enter) `run` and lock it for this process; ConfigError/OutputError in one line when it is taken.

    `reads`: a model file the run reads (ckpt_path), which overwrite=true must not delete.
    """
    new = [p for p in (run, *run.parents) if not p.exists()]
    try:
        run.mkdir(parents=True, exist_ok=True)
        fd = os.open(run / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise OutputError(
            f"cannot create the run dir {run} ({exc.strerror or exc}); choose a writable hydra.run.dir"
        ) from exc
    if new:
        atexit.register(tidy, new)  # at once: a refusal below leaves nothing behind either
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise ConfigError(
            f"{run} is in use by another live run (pid {holder}); wait for it to end or choose another hydra.run.dir"
        ) from None
    except OSError as exc:  # a filesystem without locks
        raise OutputError(
            f"cannot lock the run dir {run} ({exc.strerror or exc}); choose another hydra.run.dir"
        ) from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    _held.append(fd)
    found = [name for name in RUN_MARKERS if _present(run / name)]
    if found and not resume:
        if not overwrite:
            raise ConfigError(
                f"{run} already holds a run ({', '.join(found)}); resume it with ckpt_path=last, replace it with "
                "overwrite=true, or choose another hydra.run.dir"
            )
        # resolved: the run dir or the model named through a link or a `..` is the same folder, the same file
        if reads is not None and reads.resolve().is_relative_to(run.resolve()):
            raise ConfigError(
                f"overwrite=true would delete {reads}, which this run reads; choose another hydra.run.dir"
            )
        if not _digit_lit_run(run):
            raise ConfigError(
                f"{run} holds {', '.join(found)} but no digit_lit run's config: overwrite=true deletes only a "
                "digit_lit run's outputs; choose another hydra.run.dir"
            )
        for name in RUN_OUTPUTS:
            path = run / name
            if path.suffix == ".log" and path.is_file() and not path.is_symlink():
                os.truncate(path, 0)  # a sweep's job has its log open already (Hydra opens it before on_job_start)
            else:
                _remove(path)


def _digit_lit_run(run: Path) -> bool:
    """Whether `run`'s config.yaml, or Hydra's record of its config (written at its start: a killed run has only
    that), is a digit_lit run's: another project's folder with a config.yaml and checkpoints is not deleted."""
    for config in (run / "config.yaml", run / ".hydra" / "config.yaml"):
        with contextlib.suppress(Exception):  # unreadable or not YAML: not ours
            if config.is_file() and RUN_KEYS <= set(OmegaConf.load(config).keys()):
                return True
    return False


def tidy(created: list[Path]) -> None:
    """Remove the run dir (created[0]) and the parents made for it, if the run left nothing but scaffolding."""
    run = created[0]
    with contextlib.suppress(OSError):
        entries = list(run.iterdir())
        if not all(_scaffolding(e) for e in entries):
            return
        for entry in entries:
            _remove(entry)
        for folder in created:  # innermost first; a parent that other runs share is not empty and stays
            os.rmdir(folder)


def _present(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.iterdir()))


def _scaffolding(entry: Path) -> bool:
    """Hydra's record (a sweep's too), a job log, the lock, or a folder of nothing else (a sweep's job that failed
    before it produced anything)."""
    if entry.name in (".hydra", LOCK, "multirun.yaml") or (entry.suffix == ".log" and entry.is_file()):
        return True
    return entry.is_dir() and not entry.is_symlink() and all(_scaffolding(e) for e in entry.iterdir())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
