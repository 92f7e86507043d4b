"""Writing files so that a crash, a kill or a full disk never leaves a half-written one in place."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from digit_lit.errors import DigitLitError


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it: set it and put it back (once, at import, before any thread runs)
    os.umask(mask)
    return mask


# mkstemp makes its file readable by its owner alone (0600), and the rename keeps that: a checkpoint, an export or a
# report written so could not be read by a teammate or a server running as another user. They get the mode a plain
# open() would give (0666 less the umask: 0644 as a rule)
FILE_MODE = 0o666 & ~_umask()


class OutputError(DigitLitError):
    """An output that cannot be written (read-only folder, full disk...)."""


def cannot_write(path: str | os.PathLike[str], exc: OSError) -> OutputError:
    return OutputError(f"cannot write {path} ({exc.strerror or exc}); choose a writable folder with free space")


def atomic_write(path: str | os.PathLike[str], data: bytes | memoryview | str) -> Path:
    """Write to a temporary file in the same folder, fsync it, then rename it over `path`.

    The same folder, because a rename across filesystems (EXDEV) is no rename: it copies, and a kill mid-copy leaves a
    truncated file under the real name. Raises OutputError, in one line, when the folder cannot take the file.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        with contextlib.suppress(OSError):  # make the rename itself durable (not possible on every filesystem)
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise cannot_write(path, exc) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path
