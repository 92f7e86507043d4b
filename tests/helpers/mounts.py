"""Filesystems a test sets up for itself: a tmpfs (a second filesystem, or a nearly full one) and read-only folders.

Mounting needs root. Without it, `tmpfs` skips the test variant that needs one, and `read_only` falls back to
permissions (which bind a normal user, not root: hence the mount when running as root).
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def is_root() -> bool:
    return os.geteuid() == 0


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "64m") -> Iterator[Path]:
    """A fresh tmpfs mounted at `path`, of `size`; the test is skipped when not running as root."""
    if not is_root():
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """`path` (a folder, with what it holds) read-only for the duration: a read-only bind mount as root, else chmod."""
    if is_root():
        _run("mount", "--bind", str(path), str(path))
        try:
            _run("mount", "-o", "remount,bind,ro", str(path))
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)
        return
    folders = [path, *(p for p in path.rglob("*") if p.is_dir())]
    modes = {p: p.stat().st_mode for p in folders}
    for p in folders:
        p.chmod(stat.S_IMODE(modes[p]) & ~0o222)
    try:
        yield path
    finally:
        for p in folders:
            p.chmod(stat.S_IMODE(modes[p]))


def same_filesystem(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev
