"""Checkpoints are written atomically in the run dir's own filesystem, and a damaged one is refused in one line
(issue 10, item 4; the disk-full case of item 9)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import pytest
import torch

from digit_lit.checkpoint_io import AtomicCheckpointIO
from digit_lit.errors import CheckpointError
from digit_lit.files import OutputError
from tests.helpers.cli import cli, error_lines
from tests.helpers.mounts import same_filesystem, tmpfs
from tests.helpers.paths import ROOT

TINY = ["data.val_size=100", "data.batch_size=10", "callbacks.progress_bar=null", "logger=none"]


def test_save_writes_beside_the_target_and_refuses_a_full_disk(tmp_path: Path) -> None:
    io = AtomicCheckpointIO()
    target = tmp_path / "ckpts" / "last.ckpt"
    io.save_checkpoint({"step": torch.tensor(1)}, target)
    before = target.read_bytes()
    made: list[str] = []
    real_mkstemp = tempfile.mkstemp

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    def record(*args: object, **kwargs: object) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)  # type: ignore[arg-type]
        made.append(name)
        return fd, name

    with (
        mock.patch("digit_lit.files.tempfile.mkstemp", record),
        mock.patch("digit_lit.files.os.fsync", full_disk),
        pytest.raises(OutputError) as err,
    ):
        io.save_checkpoint({"step": torch.tensor(2)}, target)
    assert str(err.value) == (
        f"cannot write {target} (No space left on device); choose a writable folder with free space"
    )
    (tmp,) = made
    assert Path(tmp).parent == target.parent  # the same folder, so the rename never crosses filesystems
    assert not Path(tmp).exists() and target.read_bytes() == before  # nothing half-written left, nothing lost


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_get_the_mode_a_plain_open_gives(umask: int, mode: int, tmp_path: Path) -> None:
    # a temporary file is its owner's alone (0600) and the rename kept that: a checkpoint or an export that a teammate,
    # or a server running as another user, could not read
    code = "import os, sys; from digit_lit import files; print(os.stat(files.atomic_write(sys.argv[1], b'')).st_mode)"
    target = tmp_path / "model.onnx"
    res = subprocess.run(
        [sys.executable, "-c", code, str(target)], capture_output=True, text=True, umask=umask, cwd=ROOT
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert int(res.stdout) & 0o777 == mode


@pytest.mark.parametrize("fs", ["tmpfs", "simulated_exdev"])
def test_kill_during_checkpoint_write_leaves_last_whole_and_resumable(
    fs: str, tiny_mnist: Path, tmp_path: Path
) -> None:
    """The run dir on another filesystem than the temp dir (a real tmpfs as root; else EXDEV simulated), killed while
    the second last.ckpt is half written: the first stays whole, and `ckpt_path=last` finishes the run."""
    with contextlib.ExitStack() as stack:
        if fs == "tmpfs":
            base = stack.enter_context(tmpfs(tmp_path / "mnt", "256m"))
            assert not same_filesystem(base, Path(tempfile.gettempdir()))
        else:
            base = tmp_path
        run = base / "run"
        # a checkpoint at the end of every epoch (monitor=null keeps the latest), 50 steps an epoch
        args = ["model=mlp", "trainer.max_epochs=3", "callbacks.model_checkpoint.monitor=null", *TINY]
        args += [f"paths.data_dir={tiny_mnist}", f"hydra.run.dir={run}"]
        env = {**os.environ, "SIMULATE_EXDEV": "1" if fs == "simulated_exdev" else "0"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.hang_on_save", "2", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            deadline = time.monotonic() + 240
            line = ""
            while not line.startswith("HANGING") and time.monotonic() < deadline:
                line = proc.stdout.readline()
                assert line or proc.poll() is None, "the run ended before its second save"
        finally:
            proc.kill()
            proc.wait()
        half = Path(line.split()[1])
        last = run / "checkpoints" / "last.ckpt"
        assert half.parent == last.parent and half.exists()  # the half-written file is a temporary one
        assert torch.load(last, weights_only=True)["global_step"] == 50  # the previous save, whole

        res = cli("digit_lit.train", *args, "ckpt_path=last")
        assert res.returncode == 0, res.stderr[-3000:]
        assert torch.load(last, weights_only=True)["global_step"] == 150
        assert (run / "metrics.json").exists()


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_damaged_last_ckpt_is_one_line(damage: str, tiny_ckpt: Path, tmp_path: Path) -> None:
    """A last.ckpt left at 0 bytes or cut short (as an in-place copy killed midway leaves it): no EOFError traceback."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    last = run / "checkpoints" / "last.ckpt"
    whole = tiny_ckpt.read_bytes()
    last.write_bytes(b"" if damage == "empty" else whole[: len(whole) // 2])
    res = cli("digit_lit.train", "model=mlp", "data.download=false", f"hydra.run.dir={run}", "ckpt_path=last")
    assert res.returncode == 2 and "Traceback" not in res.stderr and "EOFError" not in res.stderr
    (line,) = error_lines(res)
    assert line.startswith(f"error: {last} cannot be resumed or tested from (unreadable: ")
    with pytest.raises(CheckpointError):
        AtomicCheckpointIO().load_checkpoint(last)


def test_disk_full_while_saving_is_one_line(tiny_mnist: Path, tmp_path: Path) -> None:
    """A run dir on a 1 MB tmpfs: the first checkpoint (6 MB) does not fit."""
    with tmpfs(tmp_path / "small", "1m") as small:
        run = small / "run"
        res = cli(
            "digit_lit.train",
            "model=mlp",
            "trainer.max_epochs=1",
            *TINY,
            f"paths.data_dir={tiny_mnist}",
            f"hydra.run.dir={run}",
        )
        assert res.returncode == 2 and "Traceback" not in res.stderr
        (line,) = error_lines(res)
        assert line.startswith(f"error: cannot write {run}/checkpoints/") and "(No space left on device)" in line
        assert not list((run / "checkpoints").glob(".*.tmp"))  # no half-written file left taking the space
