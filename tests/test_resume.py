"""Resume edges: a finished one-cycle run given more epochs, and a CSV-logged resume keeping its earlier rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig

from digit_lit.csv_logger import KeepingWriter
from digit_lit.train import train
from tests.helpers.cli import cli, error_lines

TINY = ("model=linear", "data.val_size=100", "data.batch_size=50", "callbacks.progress_bar=null")


def rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "metrics.csv").open() as f:
        return list(csv.DictReader(f))


def test_extending_a_finished_one_cycle_run_is_refused_in_one_line(
    tiny_mnist: Path, train_cfg: Callable[..., DictConfig]
) -> None:
    finished = train_cfg(*TINY, "logger=none", "trainer.max_epochs=1", data_dir=tiny_mnist)
    train(finished)
    run = [f"paths.data_dir={tiny_mnist}", f"hydra.run.dir={finished.paths.output_dir}", "logger=none", *TINY]
    res = cli("digit_lit.train", *run, "trainer.max_epochs=2", "ckpt_path=last")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    (line,) = error_lines(res)
    assert "learning-rate schedule was laid out for 10 steps and this run plans 20" in line
    assert line.endswith("resume with the settings it started with, or start a new run")


def test_csv_logged_resume_keeps_the_earlier_rows(tiny_mnist: Path, train_cfg: Callable[..., DictConfig]) -> None:
    # no schedule (nothing laid out in advance), so the finished run can be extended
    first = train_cfg(*TINY, "logger=csv", "model.scheduler=null", "trainer.max_epochs=1", data_dir=tiny_mnist)
    train(first)
    logs = Path(first.paths.output_dir) / "csv"
    before = rows(logs)
    extended = ("trainer.max_epochs=2", "ckpt_path=last")
    train(train_cfg(*TINY, "logger=csv", "model.scheduler=null", *extended, data_dir=tiny_mnist))
    after = rows(logs)
    assert after[: len(before)] == [{k: row.get(k, "") for k in after[0]} for row in before]
    assert [row["epoch"] for row in after if row["train/acc"]] == ["0", "1"]


def test_resume_replaces_the_rows_of_steps_it_does_again(tmp_path: Path) -> None:
    """Rows a killed run wrote after its last checkpoint are done again, and so logged again, by the resumed run."""
    (tmp_path / "metrics.csv").write_text("epoch,step,train/loss\n0,9,1.0\n0,19,0.9\n1,29,0.8\n")
    writer = KeepingWriter(str(tmp_path))
    writer.log_metrics({"train/loss": 0.7, "val/acc": 0.5}, step=20)
    writer.save()
    assert [(r["step"], r["train/loss"], r["val/acc"]) for r in rows(tmp_path)] == [
        ("9", "1.0", ""),
        ("19", "0.9", ""),
        ("20", "0.7", "0.5"),
    ]


def test_resuming_with_other_settings_is_refused_in_one_line(
    tiny_mnist: Path, train_cfg: Callable[..., DictConfig]
) -> None:
    """The rest of the run on another split (its validation digits trained on: the threshold would be calibrated on
    pictures the net has learnt), or with the schedule dropped: it went on in silence. The same settings resume."""
    finished = train_cfg(*TINY, "logger=none", "model.scheduler=null", "trainer.max_epochs=1", data_dir=tiny_mnist)
    train(finished)
    run = [f"paths.data_dir={tiny_mnist}", f"hydra.run.dir={finished.paths.output_dir}", "logger=none", *TINY]
    for change, message in (
        (["model.scheduler=null", "data.split_seed=999"], "trained with data.split_seed=12345 and this run sets 999"),
        ([], "it was trained with model.scheduler=None and this run sets {'_target_'"),  # the preset's schedule back
        (["model.scheduler=null", "seed=7"], "data.shuffle_seed=42 and this run sets 7 (and 1 more)"),  # and seed
    ):
        res = cli("digit_lit.train", *run, "trainer.max_epochs=2", "ckpt_path=last", *change)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
        (line,) = error_lines(res)
        assert message in line and line.endswith("resume with the settings it started with, or start a new run"), line
    res = cli("digit_lit.train", *run, "model.scheduler=null", "trainer.max_epochs=2", "ckpt_path=last")
    assert res.returncode == 0, res.stderr[-2000:]


def test_a_moved_run_resumed_to_test_again_tests_its_own_best(tiny_mnist: Path, tmp_path: Path) -> None:
    """A run dir moved since, resumed with nothing left to train (to run its test again): the checkpoint's recorded
    best path named the old place (`cannot be resumed or tested from (no such file)`, or another run's file there),
    and metrics.json, written anew, lost the figures of the run's last validation."""
    old, new = tmp_path / "old", tmp_path / "new"
    args = [*TINY, "logger=none", "trainer.max_epochs=2", f"paths.data_dir={tiny_mnist}"]
    first = cli("digit_lit.train", *args, f"hydra.run.dir={old}")
    assert first.returncode == 0, first.stderr[-3000:]
    before = json.loads((old / "metrics.json").read_text())
    old.rename(new)
    again = cli("digit_lit.train", *args, f"hydra.run.dir={new}", "ckpt_path=last")
    assert again.returncode == 0 and error_lines(again) == [], again.stderr[-3000:]
    after = json.loads((new / "metrics.json").read_text())
    assert Path(after["best_ckpt"]).parent == new / "checkpoints" and Path(after["best_ckpt"]).is_file()
    assert after["test/acc"] == before["test/acc"]  # the same best weights tested
    assert {k: v for k, v in after.items() if k.startswith("val/")} == {
        k: v for k, v in before.items() if k.startswith("val/")
    }
