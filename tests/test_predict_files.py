"""One bad file never stops predict's batch (issue 10, item 2): only the documented formats are decoded, only regular
files are opened, and every failure is that file's own JSON line, with exit status 1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from digit_lit.guard import Guard
from digit_lit.predict import read_file
from tests.helpers.cli import cli
from tests.helpers.pictures import fake_digit_png


def undocumented_image(path: Path, fmt: str) -> Path:
    """A small SPIDER or DDS image under `path` (written under another name: saving a SPIDER file makes PIL write
    every later file with that suffix as SPIDER, for the rest of the process)."""
    neutral = path.with_suffix(f".{fmt.lower()}")
    Image.new("F" if fmt == "SPIDER" else "RGB", (32, 32)).save(neutral, format=fmt)
    return neutral.rename(path)


@pytest.mark.parametrize("fmt", ["SPIDER", "DDS"])
def test_undocumented_format_named_png_is_that_files_error(fmt: str, tiny_ckpt: Path, tmp_path: Path) -> None:
    """PIL recognises Spider and DDS by content whatever the name; their decoders raised through read_file."""
    odd = undocumented_image(tmp_path / "a_odd.png", fmt)
    assert Image.open(odd).format == fmt  # what PIL alone would have decoded
    good = fake_digit_png(tmp_path / "b_good.png", 3)
    guard = Guard.load(tiny_ckpt)
    results = [read_file(guard, p) for p in (odd, good)]
    assert results[0]["accepted"] is False and results[0]["digit"] is None
    assert results[0]["error"].startswith("not an image in a supported format (PNG, JPEG, BMP, GIF, TIFF, WEBP)")
    assert "error" not in results[1] and results[1]["digit"] is not None  # the file after it is still read


def test_fifo_does_not_block_the_batch(tiny_ckpt: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    fifo = folder / "a_pipe.png"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would wait forever
    fake_digit_png(folder / "b_good.png", 5)
    undocumented_image(folder / "c_spider.png", "SPIDER")
    res = cli("digit_lit.predict", f"ckpt_path={tiny_ckpt}", f"inputs=[{fifo},{folder}]", timeout=120)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    by_name = {Path(r["path"]).name: r for r in lines}
    assert by_name["a_pipe.png"]["error"].startswith("not a regular file")
    assert "error" not in by_name["b_good.png"]
    assert by_name["c_spider.png"]["error"].startswith("not an image in a supported format")
    # the folder walk skips the pipe (regular files only); the pipe given by name gets its own line
    assert [Path(r["path"]).name for r in lines] == ["a_pipe.png", "b_good.png", "c_spider.png"]
