"""`python -m tests.helpers.hang_on_save N [train overrides...]`: `digit_lit.train` as a user runs it, except that its
N-th write of last.ckpt stops half way and waits to be killed (it prints `HANGING <temporary file>` first), as a
power cut or kill -9 in the middle of a save would leave it.

SIMULATE_EXDEV=1 makes every rename between two folders fail with EXDEV, as when the system's temp dir lies on another
filesystem than the run dir (where a tmpfs cannot be mounted to make that real).
"""

from __future__ import annotations

import errno
import os
import runpy
import sys
import time
from pathlib import Path


def main() -> None:
    hang_at = int(sys.argv[1])
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    fsync, seen = os.fsync, [0]

    def fsync_or_hang(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if Path(name).name.startswith(".last.ckpt."):
            seen[0] += 1
            if seen[0] == hang_at:
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                print(f"HANGING {name}", flush=True)
                time.sleep(600)
        fsync(fd)

    os.fsync = fsync_or_hang
    if os.environ.get("SIMULATE_EXDEV") == "1":
        for name in ("rename", "replace"):
            real = getattr(os, name)

            def across_filesystems(src: str, dst: str, *args: object, _real: object = real, **kw: object) -> None:
                if os.path.dirname(os.path.abspath(src)) != os.path.dirname(os.path.abspath(dst)):
                    raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src)
                _real(src, dst, *args, **kw)  # type: ignore[operator]

            setattr(os, name, across_filesystems)

    # as `python -m digit_lit.train` (Hydra finds the configs beside the module run as __main__)
    runpy.run_module("digit_lit.train", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
