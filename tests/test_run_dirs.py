"""Finding a run, and never mixing two (issue 10 item 6, issue 14 item 4): each run dir holds one run, a live run
locks it, the run dir is named at start and end and in train.log, and a run that fails before it starts leaves none."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from tests.helpers.cli import cli, error_lines
from tests.helpers.paths import CONF, ROOT

TINY = ["model=linear", "trainer.max_epochs=1", "data.val_size=100", "data.batch_size=50", "logger=none"]
TINY += ["callbacks.progress_bar=null"]


def test_a_run_dir_holds_one_run(tiny_mnist: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = [*TINY, f"paths.data_dir={tiny_mnist}", f"hydra.run.dir={run}"]
    first = cli("digit_lit.train", *args)
    assert first.returncode == 0, first.stderr[-3000:]
    # finding it: named at the start and at the end, and the run's log is not empty
    lines = first.stdout.splitlines()
    assert lines[0] == f"run dir: {run}" and lines[-1] == f"done; this run is in {run}"
    log = (run / "train.log").read_text()
    assert f"run dir: {run}" in log and "test accuracy:" in log and f"done; this run is in {run}" in log
    record = {p: p.read_bytes() for p in (run / "metrics.json", run / "config.yaml", run / ".hydra" / "config.yaml")}

    again = cli("digit_lit.train", *args)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert error_lines(again) == [
        f"error: {run} already holds a run (metrics.json, config.yaml, checkpoints); resume it with ckpt_path=last, "
        "replace it with overwrite=true, or choose another hydra.run.dir"
    ]
    assert all(p.read_bytes() == data for p, data in record.items())  # Hydra's record of it too
    # evaluating its own checkpoint into it, even with overwrite=true, would delete what it reads
    last = run / "checkpoints" / "last.ckpt"
    into = cli("digit_lit.evaluate", f"ckpt_path={last}", f"hydra.run.dir={run}", "overwrite=true")
    assert error_lines(into) == [
        f"error: overwrite=true would delete {last}, which this run reads; choose another hydra.run.dir"
    ]
    assert all(p.read_bytes() == data for p, data in record.items()) and last.exists()
    # ... nor when the run dir is named through a link, or through a `..` (it deleted the checkpoints it read)
    (tmp_path / "link").symlink_to(run)
    for named in (tmp_path / "link", tmp_path / "elsewhere" / ".." / "run"):
        through = cli("digit_lit.evaluate", f"ckpt_path={last}", f"hydra.run.dir={named}", "overwrite=true")
        assert error_lines(through) == [
            f"error: overwrite=true would delete {last}, which this run reads; choose another hydra.run.dir"
        ]
        assert all(p.read_bytes() == data for p, data in record.items()) and last.exists()

    stale = run / "checkpoints" / "epoch_099.ckpt"
    stale.write_bytes(b"an earlier run's checkpoint")
    figures = [run / name for name in ("reliability.png", "confusion_matrix.png", "fit-profile.txt")]
    for figure in figures:  # outputs overwrite=true left beside the new run's
        figure.write_bytes(b"an earlier run's output")
    replaced = cli("digit_lit.train", *args, "overwrite=true")
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert not stale.exists() and json.loads((run / "metrics.json").read_text())["test/acc"] >= 0.0
    assert all(not f.exists() or f.read_bytes() != b"an earlier run's output" for f in figures)
    assert "run dir:" in (run / "train.log").read_text() and (run / "train.log").read_text().count("done;") == 1


def test_overwrite_deletes_only_a_digit_lit_run(tmp_path: Path) -> None:
    """Another project's folder with a config.yaml and checkpoints: refused as holding a run, and overwrite=true
    deleted its files."""
    other = tmp_path / "otherproj"
    (other / "checkpoints").mkdir(parents=True)
    (other / "config.yaml").write_text("lr: 0.1\nlayers: 3\n")
    (other / "checkpoints" / "model_weights.pt").write_bytes(b"weights")
    res = cli("digit_lit.train", f"hydra.run.dir={other}", "overwrite=true")
    assert res.returncode == 2 and error_lines(res) == [
        f"error: {other} holds config.yaml, checkpoints but no digit_lit run's config: overwrite=true deletes only a "
        "digit_lit run's outputs; choose another hydra.run.dir"
    ]
    assert (other / "config.yaml").exists() and (other / "checkpoints" / "model_weights.pt").exists()


@pytest.mark.parametrize("command", ["digit_lit.train", "digit_lit.evaluate"])
def test_paths_output_dir_is_the_run_dir(command: str, tmp_path: Path) -> None:
    """Outputs sent elsewhere than the claimed run dir went unlocked and unchecked, over another run's files."""
    res = cli(command, f"hydra.run.dir={tmp_path}/run", f"paths.output_dir={tmp_path}/elsewhere", "ckpt_path=m.ckpt")
    assert res.returncode == 2 and error_lines(res) == [
        f"error: paths.output_dir={tmp_path}/elsewhere is not the run dir {tmp_path}/run: set hydra.run.dir to "
        "choose where the run goes"
    ]
    assert not (tmp_path / "run").exists() and not (tmp_path / "elsewhere").exists()


def test_a_live_run_locks_its_dir(tiny_mnist: Path, tmp_path: Path) -> None:
    run, go = tmp_path / "run", tmp_path / "go"
    hold = ["+callbacks.hold._target_=tests.helpers.probes.WaitForFile", f"+callbacks.hold.path={go}"]
    args = [*TINY, f"paths.data_dir={tiny_mnist}", f"hydra.run.dir={run}"]
    live = subprocess.Popen(
        [sys.executable, "-m", "digit_lit.train", *args, *hold], cwd=ROOT, stdout=subprocess.DEVNULL, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while not Path(f"{go}.ready").exists():
            assert live.poll() is None and time.monotonic() < deadline, "the first run did not start"
            time.sleep(0.1)
        second = cli("digit_lit.train", *args)
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert error_lines(second) == [
            f"error: {run} is in use by another live run (pid {live.pid}); wait for it to end or choose another "
            "hydra.run.dir"
        ]
        go.touch()
        assert live.wait(timeout=240) == 0
    finally:
        live.kill()
    assert json.loads((run / "metrics.json").read_text())["test/acc"] >= 0.0  # the live run finished, unharmed


def test_a_run_that_fails_before_it_starts_leaves_no_folder(tmp_path: Path) -> None:
    for entry, args in (
        ("digit_lit.train", ["data.batch_size=-8"]),
        ("digit_lit.evaluate", [f"ckpt_path={tmp_path}/missing.ckpt"]),
    ):
        res = cli(entry, *args, f"hydra.run.dir={tmp_path}/new/{entry}/run")
        assert res.returncode == 2 and len(error_lines(res)) == 1
    assert list(tmp_path.iterdir()) == []  # neither the run dirs nor the folders made for them


def test_train_and_evaluate_runs_live_apart() -> None:
    dirs = {}
    for name in ("train", "eval"):
        overrides = ["ckpt_path=x.ckpt"] if name == "eval" else []
        with initialize_config_dir(str(CONF), version_base="1.3"):
            dirs[name] = compose(name, overrides=overrides, return_hydra_config=True).hydra.run.dir
    date_time = r"\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}"
    assert re.fullmatch(f"outputs/train/{date_time}", dirs["train"])
    assert re.fullmatch(f"outputs/eval/{date_time}", dirs["eval"])


def test_overwrite_replaces_an_evaluate_run(tiny_mnist: Path, tiny_ckpt: Path, tmp_path: Path) -> None:
    """An evaluate run's dir is a digit_lit run's too (its config has no model or trainer): overwrite=true replaces
    it, where the check for another project's folder first refused it."""
    run = tmp_path / "eval"
    args = [f"ckpt_path={tiny_ckpt}", f"paths.data_dir={tiny_mnist}", "world=0", "nondigits=0", "fashion=false"]
    first = cli("digit_lit.evaluate", *args, f"hydra.run.dir={run}")
    assert first.returncode == 0, first.stderr[-3000:]
    again = cli("digit_lit.evaluate", *args, f"hydra.run.dir={run}", "overwrite=true")
    assert again.returncode == 0 and error_lines(again) == [], again.stderr[-3000:]
    assert json.loads((run / "metrics.json").read_text())["test/acc"] >= 0.0


def test_a_sweep_dir_holds_one_sweep(tiny_mnist: Path, tmp_path: Path) -> None:
    """`-m` (a sweep): a second sweep into the same hydra.sweep.dir wrote its jobs' .hydra/ and outputs over the first
    one's (exit 0); each job's dir is claimed like a run's, and a job that fails before it produces anything leaves
    no folder."""
    sweep = tmp_path / "sweep"
    args = ["-m", *TINY, "debug=fast_dev_run", f"paths.data_dir={tiny_mnist}", f"hydra.sweep.dir={sweep}", "seed=1,2"]
    first = cli("digit_lit.train", *args)
    assert first.returncode == 0, first.stderr[-3000:]
    record = {p: p.read_bytes() for p in sweep.rglob("*") if p.is_file() and p.name != ".lock"}
    assert {p.relative_to(sweep).as_posix() for p in record} >= {"0/metrics.json", "1/.hydra/config.yaml"}

    again = cli("digit_lit.train", *args[:-1], "seed=3,4")
    assert again.returncode == 2 and error_lines(again) == [
        f"error: {sweep} already holds a sweep (0, 1, multirun.yaml); resume its jobs with ckpt_path=last, replace "
        "them with overwrite=true, or choose another hydra.sweep.dir"
    ]
    assert {p: p.read_bytes() for p in record} == record  # Hydra's records of its jobs too

    replaced = cli("digit_lit.train", *args[:-1], "seed=3", "overwrite=true")  # one job where there were two
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert "seed=3" in (sweep / "0" / ".hydra" / "overrides.yaml").read_text()
    assert (sweep / "0" / "train.log").read_text().count("done;") == 1  # the old job's outputs went first
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0"]  # and the old sweep's second job too

    failing = tmp_path / "failing"
    bad = cli("digit_lit.train", *args[:-2], f"hydra.sweep.dir={failing}", "seed=1,abc")
    assert bad.returncode == 2 and error_lines(bad)[-1].startswith("error: seed='abc' must be an integer")
    assert sorted(p.name for p in failing.iterdir()) == [".lock", "0", "multirun.yaml"]  # the failed job: no folder
