"""What used to end in a traceback is one line and a non-zero exit (issue 10, item 9): checkpoints given to train that
are not this run's, a schedule that cannot be laid out, and folders that cannot be written. (Bad settings are in
test_reliability.py, a damaged last.ckpt and a full disk in test_checkpoint_io.py, a read-only data dir in
test_evaluate_data.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from tests.helpers.cli import cli, error_lines
from tests.helpers.mounts import read_only
from tests.helpers.tamper import RunsCode

TINY = ["data.val_size=100", "data.batch_size=50", "logger=none", "callbacks.progress_bar=null"]


def one_line(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-3000:]
    (line,) = error_lines(res)
    return line


def test_resume_from_a_checkpoint_of_another_net(tiny_ckpt: Path, tiny_mnist: Path, tmp_path: Path) -> None:
    res = cli(
        "digit_lit.train",
        "model=cnn",
        *TINY,
        f"paths.data_dir={tiny_mnist}",
        f"ckpt_path={tiny_ckpt}",
        f"hydra.run.dir={tmp_path}/run",
    )
    line = one_line(res)
    assert line.startswith("error: the checkpoint to resume holds {'name': 'mlp'") and "not the {'name': 'cnn'" in line


def test_resume_from_a_checkpoint_that_carries_code(tmp_path: Path) -> None:
    marker, evil = tmp_path / "pwned", tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "pytorch-lightning_version": RunsCode(marker)}, evil)
    line = one_line(cli("digit_lit.train", f"ckpt_path={evil}", f"hydra.run.dir={tmp_path}/run"))
    assert line.startswith(f"error: {evil} cannot be resumed or tested from (unreadable: Weights only load failed")
    assert not marker.exists()


def test_resume_from_a_weights_only_file(tiny_ckpt: Path, tmp_path: Path) -> None:
    """A file of tensors (as a guard export or another tool writes) is not a training state to resume."""
    weights = tmp_path / "weights.ckpt"
    torch.save({"state_dict": torch.load(tiny_ckpt, weights_only=True)["state_dict"]}, weights)
    line = one_line(cli("digit_lit.train", f"ckpt_path={weights}", f"hydra.run.dir={tmp_path}/run"))
    assert line.startswith(f"error: {weights} cannot be resumed or tested from (it has no pytorch-lightning_version")


def test_schedule_too_short_for_one_cycle(tiny_mnist: Path, tmp_path: Path) -> None:
    """OneCycleLR over 5 steps divides by zero (its warm-up phase is 0.2 * 5 - 1 = 0 steps long)."""
    res = cli(
        "digit_lit.train",
        "model=linear",
        "+trainer.limit_train_batches=5",
        "trainer.max_epochs=1",
        *TINY,
        f"paths.data_dir={tiny_mnist}",
        f"hydra.run.dir={tmp_path}/run",
    )
    assert one_line(res).startswith("error: model.scheduler cannot be laid out over this run's 5 optimizer steps")


def test_read_only_output_dir(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    with read_only(tmp_path / "ro"):
        line = one_line(cli("digit_lit.train", f"hydra.run.dir={tmp_path}/ro/run"))
    assert line.startswith(f"error: cannot create the run dir {tmp_path}/ro/run (")
    assert line.endswith("; choose a writable hydra.run.dir")


def test_export_into_a_read_only_folder(tiny_ckpt: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    with read_only(folder):
        line = one_line(cli("digit_lit.export", f"ckpt_path={tiny_ckpt}", f"out={folder}/m.onnx"))
    assert line.startswith(f"error: cannot write {folder}/m.onnx (") and "choose a writable folder" in line
    assert list(folder.iterdir()) == []


def test_a_setting_that_names_no_file_is_one_line(tiny_onnx: Path, tmp_path: Path) -> None:
    """Hydra reads `[a]` as a list and `{a: 1}` as a mapping: where one path is wanted, those ended in a TypeError."""
    run = f"hydra.run.dir={tmp_path}/run"  # evaluate's run dir: none is left behind
    cases = [
        (["digit_lit.predict", f"model_path={tiny_onnx}", "inputs=[[a.png]]"], "inputs[0]=['a.png'] must be the path"),
        (["digit_lit.predict", "model_path=[a]", "inputs=[a.png]"], "model_path=['a'] must be the path of one file"),
        (["digit_lit.evaluate", "ckpt_path=[a]", run], "ckpt_path=['a'] must be the path of one file or folder"),
        (["digit_lit.evaluate", f"ckpt_path={tiny_onnx}", "data.data_dir=[x]", run], "data.data_dir=['x'] must be"),
        (["digit_lit.export"], "give ckpt_path=RUN/checkpoints/X.ckpt: the checkpoint to export"),
        (["digit_lit.export", "ckpt_path=null"], "give ckpt_path=RUN/checkpoints/X.ckpt: the checkpoint to export"),
        (["digit_lit.export", "ckpt_path=[a]"], "ckpt_path=['a'] must be the path of one file or folder"),
    ]
    for args, message in cases:
        line = one_line(cli(*args))
        assert line.startswith("error: ") and message in line, (args, line)
    assert not (tmp_path / "run").exists()


def test_a_number_names_a_file(tiny_onnx: Path, tmp_path: Path) -> None:
    """`inputs=[7]` is the file 7 (Hydra reads it as a number): read, not a TypeError."""
    (tmp_path / "7").write_bytes(b"not a picture")
    res = subprocess.run(
        [sys.executable, "-m", "digit_lit.predict", f"model_path={tiny_onnx}", "inputs=[7,8]"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert [r["path"] for r in lines] == ["7", "8"] and lines[1]["error"] == "no such file"


def test_export_refuses_to_write_its_card_over_the_checkpoint(tiny_ckpt: Path, tmp_path: Path) -> None:
    """A checkpoint named X.json: the card X.json beside X.onnx would replace it, and the model would be lost."""
    ckpt = tmp_path / "model.json"
    shutil.copy(tiny_ckpt, ckpt)
    before = ckpt.read_bytes()
    for out in ([], [f"out={tmp_path}/model.onnx"]):
        line = one_line(cli("digit_lit.export", f"ckpt_path={ckpt}", *out))
        assert f"the export's card {ckpt} would replace the checkpoint it is made from" in line
    assert ckpt.read_bytes() == before and not (tmp_path / "model.onnx").exists()


def test_an_override_of_thousands_of_digits_is_one_line(tiny_onnx: Path) -> None:
    """Hydra's override parser turns the digits into an int, and past 4,300 digits Python refuses: a traceback."""
    huge = "expected_length=" + "1" * 5000
    line = one_line(cli("digit_lit.predict", f"model_path={tiny_onnx}", "inputs=[a.png]", huge))
    assert line == "error: an override holds a number of thousands of digits; no setting takes one"


def test_overwrite_that_cannot_remove_the_old_run_stops_the_run(tmp_path: Path) -> None:
    """An old run's checkpoints that cannot be removed (read-only here; another user's, a full disk): Hydra only
    warned about the callback's error and the run went on over the old one, exit 0, the two runs' files mixed."""
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("task_name: train\npaths: {}\noverwrite: false\n")  # a digit_lit run's
    (run / "checkpoints" / "epoch_000.ckpt").write_bytes(b"the old run's")
    with read_only(run / "checkpoints"):
        line = one_line(cli("digit_lit.train", f"hydra.run.dir={run}", "overwrite=true"))
    assert line.startswith(f"error: cannot claim the run dir {run} (") and line.endswith("choose another hydra.run.dir")
    assert (run / "checkpoints" / "epoch_000.ckpt").read_bytes() == b"the old run's"
    assert not (run / "metrics.json").exists()


def test_a_config_file_of_ones_own_brings_no_setting_the_command_lacks(tiny_onnx: Path, tmp_path: Path) -> None:
    """A config file given with --config-dir/--config-name that sets threshold and temperature ran with exit 0, the
    keys ignored in silence: a user would believe the threshold changed. (The verdict never did: the model's rule.)"""
    (tmp_path / "mine.yaml").write_text("defaults:\n  - predict\n  - _self_\nthreshold: 0.01\ntemperature: 100.0\n")
    res = cli(
        "digit_lit.predict",
        "--config-dir",
        str(tmp_path),
        "--config-name",
        "mine",
        f"model_path={tiny_onnx}",
        "inputs=[x.png]",
    )
    assert one_line(res) == (
        "error: predict has no setting threshold, temperature: the decision rule is the model's own; retrain to "
        "change it"
    )


def test_no_inputs_and_a_download_switch_read_as_meant(tiny_onnx: Path, tmp_path: Path) -> None:
    """`inputs=[]` was read as one empty path (`inputs[0]=[] must be ...`); evaluate read `data.download=no` as true,
    tried the network and left empty folders."""
    for given in ("inputs=[]", "inputs=null"):
        res = cli("digit_lit.predict", f"model_path={tiny_onnx}", given)
        assert one_line(res) == "error: no images to read: give inputs=[FILE_OR_DIR,...]"
    res = cli("digit_lit.evaluate", f"ckpt_path={tiny_onnx}", f"data.data_dir={tmp_path}/data", "data.download=no")
    assert one_line(res) == "error: data.download='no' must be true or false"
    assert not (tmp_path / "data").exists()


def test_settings_found_wrong_only_inside_fit_are_one_line(tiny_mnist: Path, tmp_path: Path) -> None:
    """A misspelt early-stopping metric, a scheduler setting of the wrong kind and a logger folder that is a file were
    tracebacks from inside `fit` (Lightning's RuntimeError, OneCycleLR's TypeError, the logger's NotADirectoryError)."""
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    cases = {
        "callbacks.early_stopping.monitor=val/acx": "error: callbacks.early_stopping.monitor: Early stopping "
        "conditioned on metric `val/acx` which is not available.",
        "model.scheduler.max_lr=abc": "error: model.scheduler cannot be built (unsupported operand type(s) for /: "
        "'str' and 'float'); check its settings",
        f"logger.tensorboard.save_dir={afile}": f"error: cannot write the tensorboard logger's folder {afile}/mlp/ "
        f"(Not a directory: {afile}); choose a writable logger.tensorboard.save_dir",
    }
    for k, (override, message) in enumerate(cases.items()):
        args = [
            "model=mlp",
            "trainer.max_epochs=1",
            *TINY,
            f"paths.data_dir={tiny_mnist}",
            f"hydra.run.dir={tmp_path}/{k}",
        ]
        args = [a for a in args if a != "logger=none"] + (["logger=tensorboard"] if "logger." in override else [])
        line = one_line(cli("digit_lit.train", *args, override))
        assert line.startswith(message), line

    # a logger that keeps no folder (W&B's, MLflow's, one's own) is no folder to check
    args = [
        "model=linear",
        "trainer.max_epochs=1",
        *TINY,
        f"paths.data_dir={tiny_mnist}",
        f"hydra.run.dir={tmp_path}/own",
    ]
    res = cli("digit_lit.train", *args, "+logger.mine._target_=tests.helpers.probes.FolderlessLogger")
    assert res.returncode == 0 and error_lines(res) == [], res.stderr[-3000:]
