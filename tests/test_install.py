"""The wheel, installed (not editable) in a fresh venv, runs from a folder outside the project: its configs ship inside
the package and the console scripts work.

Cheap by design: the wheel is built without build isolation, and the fresh venv reuses the test venv's packages
through a .pth line (pip resolves the declared dependencies against them, offline) instead of installing torch again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import yaml

from tests.helpers.paths import ROOT
from tests.helpers.pictures import fake_digit_png
from tests.helpers.tiny_mnist import write_tiny_mnist

pytestmark = pytest.mark.install

# what setuptools needs to build the wheel (pyproject names README.md as the long description)
SOURCES = ("pyproject.toml", "README.md", "digit_lit")
SCRIPTS = ("digit-lit-train", "digit-lit-evaluate", "digit-lit-predict", "digit-lit-export", "digit-lit-serve")


def run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # nothing from this checkout leaks in: no PYTHONPATH, and pip reads no config (no index, no find-links)
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PIP_")}
    clean |= {"PIP_CONFIG_FILE": os.devnull, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=300)


def build_wheel(tmp: Path) -> Path:
    """Built from a copy of the sources, so the checkout gets no build/ or .egg-info."""
    src = tmp / "src"
    src.mkdir(parents=True)
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    offline = ["--no-deps", "--no-build-isolation", "--no-index"]  # the test venv's setuptools builds it
    res = run([sys.executable, "-m", "pip", "wheel", *offline, "-w", tmp, src], tmp)
    assert res.returncode == 0, res.stderr[-3000:]
    (wheel,) = tmp.glob("digit_lit-*.whl")
    return wheel


def fresh_venv(where: Path) -> Path:
    """A venv without pip whose site-packages also sees this venv's (a .pth line: not its .pth files, so not the
    editable digit_lit). Returns its bin folder."""
    venv.create(where, with_pip=False)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(where), "platbase": str(where)}))
    (site / "reuse_test_venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return where / "bin"


def test_wheel_installs_and_runs_outside_the_project(tmp_path: Path, tiny_ckpt: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    bin_dir = fresh_venv(tmp_path / "venv")
    pip = [sys.executable, "-m", "pip", "--python", bin_dir / "python"]  # the test venv's pip, into the fresh venv
    res = run([*pip, "install", "--no-index", "-q", wheel], tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert all((bin_dir / script).is_file() for script in SCRIPTS)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run([bin_dir / "python", "-c", "import digit_lit; print(digit_lit.__file__)"], elsewhere)
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv"), where.stdout + where.stderr

    data = write_tiny_mnist(tmp_path / "data")
    args = ["model=linear", "debug=fast_dev_run", f"paths.data_dir={data}", "data.val_size=100"]
    train = run([bin_dir / "digit-lit-train", *args, "hydra.run.dir=run"], elsewhere)
    assert train.returncode == 0, train.stderr[-3000:]
    assert "test accuracy:" in train.stdout and (elsewhere / "run" / "metrics.json").is_file()
    sources = yaml.safe_load((elsewhere / "run" / ".hydra" / "hydra.yaml").read_text())["hydra"]["runtime"]
    main = [s for s in sources["config_sources"] if s["provider"] == "main"]
    assert main == [{"path": "digit_lit.conf", "schema": "pkg", "provider": "main"}]  # the installed package

    fake_digit_png(elsewhere / "four.png", 4)
    predict = run([bin_dir / "digit-lit-predict", f"ckpt_path={tiny_ckpt}", "inputs=[four.png]"], elsewhere)
    assert predict.returncode == 0, predict.stderr[-3000:]
    (line,) = predict.stdout.splitlines()
    assert json.loads(line)["path"] == "four.png" and json.loads(line)["digit"] in range(10)

    # what bash asks once `eval "$(digit-lit-train -sc install=bash)"` is in place, on <TAB> after "debug="
    completion = run([bin_dir / "digit-lit-train", "-sc", "query=bash"], elsewhere, env={"COMP_LINE": "x debug="})
    assert completion.stdout.split() == [f"debug={d}" for d in ("fast_dev_run", "limit", "overfit", "profiler")]
