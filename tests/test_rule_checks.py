"""Every number the guard's decision depends on is checked when a model is loaded (issue 10, items 1 and 11).

A checkpoint edited after training, damaged, or never valid is refused in one line with a non-zero exit, and no setting
of predict makes it accept more than the calibrated rule does.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from digit_lit.guard import Guard, GuardError
from tests.helpers.cli import cli, error_lines
from tests.helpers.tamper import edit_checkpoint, poison_weights, set_buffer


def set_hparam(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(ckpt: dict[str, Any]) -> None:
        ckpt["hyper_parameters"][name] = value

    return edit


def halve_threshold(ckpt: dict[str, Any]) -> None:
    ckpt["state_dict"]["threshold"] = ckpt["state_dict"]["threshold"] / 2


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "threshold_0": (set_buffer("threshold", 0.0), "threshold=0.0 must be in (0, 1]"),
    "threshold_-1": (set_buffer("threshold", -1.0), "threshold=-1.0 must be in (0, 1]"),
    "threshold_false": (set_buffer("threshold", False), "threshold=False is not a finite number"),
    "temperature_0": (set_buffer("temperature", 0.0), "temperature=0.0 must be > 0"),
    "temperature_-2": (set_buffer("temperature", -2.0), "temperature=-2.0 must be > 0"),
    "temperature_nan": (set_buffer("temperature", math.nan), "temperature=nan is not a finite number"),
    "max_wrong_accept_1.5": (set_hparam("max_wrong_accept", 1.5), "max_wrong_accept=1.5 must be in (0, 1)"),
    "nan_weights": (poison_weights, "holds NaN or infinite values"),
    # a valid threshold, half the calibrated one: it would accept more, and the digest says it was edited
    "threshold_edited": (halve_threshold, "(digest mismatch)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_edited_checkpoint_is_refused_in_one_line(case: str, tiny_ckpt: Path, tmp_path: Path) -> None:
    edit, message = CASES[case]
    bad = edit_checkpoint(tiny_ckpt, tmp_path / f"{case}.ckpt", edit)
    with pytest.raises(GuardError) as err:
        Guard.load(bad)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("case", ["temperature_-2", "nan_weights", "threshold_edited"])
def test_predict_refuses_an_edited_checkpoint(case: str, tiny_ckpt: Path, tmp_path: Path) -> None:
    edit, message = CASES[case]
    bad = edit_checkpoint(tiny_ckpt, tmp_path / f"{case}.ckpt", edit)
    res = cli("digit_lit.predict", f"ckpt_path={bad}", f"inputs=[{tmp_path}]")
    assert res.returncode == 2 and "Traceback" not in res.stderr and res.stdout == ""
    (line,) = error_lines(res)
    assert message in line


def test_evaluate_refuses_a_zero_threshold(tiny_ckpt: Path, tmp_path: Path) -> None:
    """With threshold 0, evaluate used to accept everything and report coverage 1.0."""
    bad = edit_checkpoint(tiny_ckpt, tmp_path / "zero.ckpt", set_buffer("threshold", 0.0))
    res = cli("digit_lit.evaluate", f"ckpt_path={bad}", f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    (line,) = error_lines(res)
    assert "threshold=0.0 must be in (0, 1]" in line
    assert not (tmp_path / "run").exists()  # refused before any work: nothing written


@pytest.mark.parametrize("value", ["1.5", "-1", "abc"])
def test_train_refuses_max_wrong_accept_before_training(value: str, tmp_path: Path) -> None:
    res = cli("digit_lit.train", f"model.max_wrong_accept={value}", f"hydra.run.dir={tmp_path}/run")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    (line,) = error_lines(res)
    shown = repr(value) if value == "abc" else value
    assert line.startswith(f"error: model.max_wrong_accept={shown} must be a number between 0 and 1")
    assert not (tmp_path / "run").exists()  # refused at model build: no data read, no checkpoint, no run dir


def test_predict_has_no_setting_that_accepts_more(tiny_ckpt: Path, tiny_onnx: Path, tmp_path: Path) -> None:
    """The threshold is the model's: predict has no key for it, refuses one added, and an edited card is refused."""
    plain = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{tmp_path}]", "threshold=0.01")
    assert plain.returncode != 0 and "threshold" in plain.stderr and "Traceback" not in plain.stderr
    added = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{tmp_path}]", "+threshold=0.01")
    assert added.returncode == 2
    assert error_lines(added) == [
        "error: predict has no setting threshold: the decision rule is the model's own; retrain to change it"
    ]
    both = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"model_path={tiny_onnx}", f"inputs=[{tmp_path}]")
    assert both.returncode == 2  # which of the two answered would be a guess
    assert error_lines(both) == [
        "error: give model_path= or ckpt_path=, not both: one model answers, and it must be the one named"
    ]
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(tiny_onnx.read_bytes())
    card = json.loads(tiny_onnx.with_suffix(".json").read_text())
    card["rule"]["threshold"] = 0.01  # the card still names this very .onnx (sha256), but says something else
    onnx.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(GuardError, match=r"m\.json beside it states another decision rule"):
        Guard.load(onnx)


def test_huge_net_spec_is_refused_without_allocating_it(tiny_ckpt: Path, tmp_path: Path) -> None:
    """Hyperparameters that ask for a [20000, 20000] MLP (1.6 GB) with the small tensors of the real one."""

    def huge(ckpt: dict[str, Any]) -> None:
        ckpt["hyper_parameters"]["net"] = {**ckpt["hyper_parameters"]["net"], "hidden": [20000, 20000]}

    bad = edit_checkpoint(tiny_ckpt, tmp_path / "huge.ckpt", huge)
    # a fresh process, so that its peak memory is this load's alone
    probe = (
        "import resource, torch\n"
        "from digit_lit.guard import Guard, GuardError\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        f"    Guard.load({str(bad)!r})\n"
        "except GuardError as err:\n"
        "    print(err)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    message, grown_mb = res.stdout.strip().splitlines()
    assert "is not a valid digit_lit checkpoint" in message and "has shape" in message
    assert int(grown_mb) < 200, f"peak memory grew by {grown_mb} MB: the net was allocated"
    assert torch.load(bad, weights_only=True)["hyper_parameters"]["net"]["hidden"] == [20000, 20000]


@pytest.mark.parametrize(
    ("net", "message"),
    [
        ({"name": "ensemble", "size": 10**9, "member": {"name": "linear"}}, "from 1 to 64"),
        ({"name": "ensemble", "size": 2, "member": {"name": "ensemble", "size": 64}}, "not an ensemble"),
        ({"name": "mlp", "hidden": [8] * 10**6}, "has 1000000 layers; an MLP has at most 64"),
    ],
    ids=["a billion members", "ensembles of ensembles", "a million layers"],
)
def test_a_net_spec_of_countless_modules_is_refused_before_building_it(
    net: dict[str, Any], message: str, tiny_ckpt: Path, tmp_path: Path
) -> None:
    """A spec is built on the meta device before its shapes are checked: that costs no memory for its weights, but a
    module for each member or layer, so a count of a billion built for ever (a million: minutes and gigabytes)."""

    def countless(ckpt: dict[str, Any]) -> None:
        ckpt["hyper_parameters"]["net"] = net

    bad = edit_checkpoint(tiny_ckpt, tmp_path / "countless.ckpt", countless)
    with pytest.raises(GuardError, match=f"its net spec .* cannot be built: .*{message}") as refused:
        Guard.load(bad)
    assert len(str(refused.value)) < 500  # one line a person can read, not the million-layer spec


@pytest.mark.parametrize(
    ("command", "settings", "message"),
    [
        (
            "digit_lit.export",
            ["+opset=7"],
            "export has no setting opset: its settings are ckpt_path= and out=; the export carries the checkpoint's "
            "whole rule",
        ),
        ("digit_lit.serve", ["+workers=4"], "serve has no setting workers: conf/serve.yaml lists its settings"),
        ("digit_lit.serve", ["model_path=m.onnx"], "give model_path= or ckpt_path=, not both"),
    ],
)
def test_export_and_serve_refuse_a_setting_they_would_ignore(
    command: str, settings: list[str], message: str, tiny_ckpt: Path
) -> None:
    """`export +opset=7` exported as ever and `serve model_path=A ckpt_path=B` served A, in silence."""
    res = cli(command, f"ckpt_path={tiny_ckpt}", *settings, timeout=60)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert error_lines(res)[0].startswith(f"error: {message}")
