"""Running digit_lit's entry points as a user would: a fresh process, from the project root."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers.paths import ROOT


def cli(*args: str, timeout: int = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m *args` from the project root; `env`: variables set on top of this process's environment."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


def error_lines(res: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in res.stderr.splitlines() if line.startswith("error:")]
