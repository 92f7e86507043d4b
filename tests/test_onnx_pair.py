"""An exported model is used only as exported (issue 10, item 3): its rule travels inside the .onnx, bound by a
digest, and the .json card beside it must name that very file. Anything else is one line and a non-zero exit."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from digit_lit.guard import Guard
from tests.helpers.cli import cli, error_lines
from tests.helpers.pictures import fake_digit_png
from tests.helpers.tamper import edit_onnx_rule, rule_json


def copy_export(src: Path, dst: Path) -> Path:
    """The .onnx and its .json card, copied to dst (an .onnx path)."""
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def missing_threshold(src: Path, dst: Path) -> None:
    edit_onnx_rule(src, dst, rule_json(src, threshold=None))


def text_threshold(src: Path, dst: Path) -> None:
    edit_onnx_rule(src, dst, rule_json(src, threshold="high"))


def lower_threshold(src: Path, dst: Path) -> None:
    """Metadata edited after export: a valid threshold, half the calibrated one (it would accept more)."""
    edit_onnx_rule(src, dst, rule_json(src, threshold=json.loads(rule_json(src))["threshold"] / 2))


def invalid_card(src: Path, dst: Path) -> None:
    dst.with_suffix(".json").write_text('{"sha256": "')


def not_onnx(src: Path, dst: Path) -> None:
    dst.write_bytes(b"PK\x03\x04 this is not an ONNX model" * 50)


def another_exports_card(src: Path, dst: Path) -> None:
    """The .json of another export (same format, another file) beside this .onnx."""
    other = json.loads(dst.with_suffix(".json").read_text())
    other["sha256"] = "0" * 64
    dst.with_suffix(".json").write_text(json.dumps(other))


def pipe_card(src: Path, dst: Path) -> None:
    """A named pipe as the card: reading it would wait for a writer for ever."""
    dst.with_suffix(".json").unlink()
    os.mkfifo(dst.with_suffix(".json"))


def endless_card(src: Path, dst: Path) -> None:
    """The card a link to /dev/zero: reading it would fill memory."""
    dst.with_suffix(".json").unlink()
    dst.with_suffix(".json").symlink_to("/dev/zero")


def huge_card(src: Path, dst: Path) -> None:
    card = json.loads(dst.with_suffix(".json").read_text())
    dst.with_suffix(".json").write_text(json.dumps({**card, "notes": "x" * 2_000_000}))


CASES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "missing_threshold": (missing_threshold, "threshold=None is not a finite number"),
    "non_numeric_threshold": (text_threshold, "threshold='high' is not a finite number"),
    "metadata_edited": (lower_threshold, "changed after export (digest mismatch)"),
    "invalid_json_card": (invalid_card, "m.json beside it is not a digit_lit export card (JSONDecodeError)"),
    "not_onnx": (not_onnx, "not an ONNX model"),
    "another_exports_card": (another_exports_card, "m.json beside it describes another export (sha256 differs)"),
    "card_a_pipe": (pipe_card, "m.json beside it is not a regular file (a pipe, device or folder)"),
    "card_endless": (endless_card, "m.json beside it is not a regular file (a pipe, device or folder)"),
    "card_huge": (huge_card, "m.json beside it is 2000"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_pair_is_refused_by_predict_in_one_line(case: str, tiny_onnx: Path, tmp_path: Path) -> None:
    edit, message = CASES[case]
    model = copy_export(tiny_onnx, tmp_path / "m.onnx")
    edit(tiny_onnx, model)
    png = fake_digit_png(tmp_path / "d.png", 2)
    res = cli("digit_lit.predict", f"model_path={model}", f"inputs=[{png}]")
    assert res.returncode == 2 and "Traceback" not in res.stderr and res.stdout == ""
    (line,) = error_lines(res)
    assert line.startswith(f"error: {model}") and message in line, line


def test_an_export_named_in_capitals_is_read_as_an_export(tiny_onnx: Path, tmp_path: Path) -> None:
    """MODEL.ONNX (as some systems write names) was read as a checkpoint and refused as a damaged one."""
    model = tmp_path / "M.ONNX"
    shutil.copy(tiny_onnx, model)
    shutil.copy(tiny_onnx.with_suffix(".json"), model.with_suffix(".json"))
    assert Guard.load(model).threshold == Guard.load(tiny_onnx).threshold


def test_untouched_pair_is_read(tiny_onnx: Path, tmp_path: Path) -> None:
    """The same copy, unedited, works: the refusals above are about the edits."""
    model = copy_export(tiny_onnx, tmp_path / "m.onnx")
    assert Guard.load(model).threshold == json.loads(model.with_suffix(".json").read_text())["rule"]["threshold"]
    res = cli("digit_lit.predict", f"model_path={model}", f"inputs=[{fake_digit_png(tmp_path / 'd.png', 2)}]")
    assert res.returncode == 0 and error_lines(res) == []


def test_an_export_whose_card_cannot_be_written_leaves_the_old_export_whole(
    tiny_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Export wrote the new .onnx, then failed on its card (a read-only or full disk): the new model sat beside the old
    card, whose checksum no longer matched, and the export that worked was lost. Now the old model is put back."""
    from digit_lit import export as exporting
    from digit_lit.files import OutputError

    out = exporting.export(tiny_ckpt, tmp_path / "m.onnx")
    before = {p: p.read_bytes() for p in (out, out.with_suffix(".json"))}
    write, model = exporting.atomic_write, exporting.onnx_model

    def card_fails(path: Path, data: bytes | str) -> Path:
        if Path(path).suffix == ".json":
            raise OutputError(f"cannot write {path} (Read-only file system); choose a writable folder")
        return write(path, data)

    def another_model(guard: Guard, spec: dict) -> object:  # a new export's bytes differ from the old one's
        made = model(guard, spec)
        made.doc_string = "a newer export"
        return made

    monkeypatch.setattr(exporting, "atomic_write", card_fails)
    monkeypatch.setattr(exporting, "onnx_model", another_model)
    with pytest.raises(OutputError):
        exporting.export(tiny_ckpt, out)
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.onnx"]  # no temporary file left
    assert Guard.load(out).identity["sha256"]  # the pair still loads
