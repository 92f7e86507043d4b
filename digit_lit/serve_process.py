"""A digit_lit server in a child process, for tests, benchmarks and notebooks: `with serving(model) as server: ...`.

It starts `python -m digit_lit.serve` on a free port in its own process group, is ready once GET /health answers
200, and on exit stops the server with SIGTERM (as `docker stop` would), then kills whatever of its group is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from digit_lit.errors import DigitLitError


class ServerStartError(DigitLitError):
    """The server process ended, or did not become ready, before GET /health answered 200."""


class ServerStopError(DigitLitError):
    """Processes of the server were still running after it stopped (they are killed, then this is raised)."""


@dataclass(frozen=True)
class Server:
    url: str  # http://127.0.0.1:PORT
    log: Path  # the server's stdout and stderr
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise ServerStartError(f"the server exited with status {server.process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise ServerStartError(f"the server was not ready after {timeout:.0f} s (log: {server.log})")


def _stop(process: subprocess.Popen[bytes], grace: float = 20) -> bool:
    """SIGTERM, as `docker stop` sends; True when every process of the server's group then ended by itself."""
    group = process.pid  # start_new_session made the server the leader of its own group
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # its worker processes leave a moment after it
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    process.wait()
    return False


@contextlib.contextmanager
def serving(
    model: str | os.PathLike[str], *overrides: str, log: Path, cwd: Path | None = None, timeout: float = 180
) -> Iterator[Server]:
    """A ready server for `model` (.onnx or .ckpt) with Hydra `overrides`; its output goes to `log`."""
    port = free_port()
    key = "ckpt_path" if Path(model).suffix == ".ckpt" else "model_path"
    cmd = [sys.executable, "-m", "digit_lit.serve", f"{key}={model}", f"port={port}", *overrides]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", log, process)
    try:
        _wait_ready(server, timeout)
        yield server
    except BaseException:
        _stop(process)
        raise
    if not _stop(process):
        raise ServerStopError(f"processes of the server outlived it after SIGTERM and were killed (log: {log})")
